"""The one front door for writes: import, undo, the sample, retention and account changes.

Every write of the upload page, the command line and the inbox goes through a function here. Each one records
its own row in the audit trail (who, from where, what) and returns a typed result that the caller only shows::

    from microbranch import operations
    by = operations.Actor("wang", "10.0.0.7")
    batch = operations.import_files(db, [operations.Upload("events.csv", data)], by)

Reading never writes: the dashboard's shell calls `start` once (recovery, schema upgrade, the sample on a first
start); pages and queries only read.
"""

from __future__ import annotations

import getpass
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from microbranch import audit, auth, delivery, mail, report, retention, sample, settings, storage
from microbranch.contract import IMPORT_ORDER, ContractError
from microbranch.i18n import t
from microbranch.ingest import ImportResult, Preview
from microbranch.ingest.decode import XLSX_MAGIC
from microbranch.ingest.isolated import import_isolated, preview_isolated
from microbranch.ingest.mapping import Mapping
from microbranch.ingest.undo import UndoResult, undo_import

HEAD_BYTES = 1 << 20
# (file name, step of its import, share of the whole batch done 0..1)
BatchProgress = Callable[[str, str, float], None]


@dataclass(frozen=True)
class Actor:
    """Who asks for a write, and from where: a viewer's address, or the command line, or the inbox."""

    name: str | None
    address: str | None = None

    @classmethod
    def command_line(cls, name: str | None = None) -> Actor:
        return cls(name or f"cli:{getpass.getuser()}", "command line")


@dataclass(frozen=True)
class Upload:
    """A file to import: its name, its bytes (an upload) or its path (a file on disk), the mapping to read it with
    (a saved profile or the user's own), and its kind when a preview already said it."""

    name: str
    source: bytes | Path
    mapping: Mapping | None = None
    kind: str | None = None


@dataclass
class ImportBatch:
    """What `import_files` did: each file's result, in the order imported, and the sample imports removed first."""

    results: list[ImportResult] = field(default_factory=list)
    sample_removed: int | None = None

    @property
    def refused(self) -> bool:
        return any(r.status == "refused" for r in self.results)


@dataclass(frozen=True)
class SampleRemoved:
    imports: int


@dataclass(frozen=True)
class SampleLoaded:
    results: list[ImportResult]


@dataclass(frozen=True)
class Started:
    """What the shell's start did: whether it loaded the sample (first start, or one stopped halfway)."""

    sample: SampleLoaded | None


@dataclass(frozen=True)
class RetentionResult:
    years: int
    before: datetime
    events: int
    rejects: int


@dataclass(frozen=True)
class UserChange:
    action: str  # user_add | user_disable | user_passwd | user_role
    name: str
    role: str | None = None


def _record(action: str, by: Actor, detail: str, db: Path) -> None:
    audit.record(action, by.name, detail, by.address, db=db)


# --- import ---

def preview(db: Path, name: str, data: bytes, mapping: Mapping | None = None, lang: str = "en",
            rows: int = 10) -> Preview:
    """What importing `data` would do (kind, mapping, first rows as stored, their problems), worked out in the
    capped child; writes nothing. Raises ContractError (one sentence) for a file that cannot be previewed."""
    return preview_isolated(data, name, mapping, lang=lang, db=db, rows=rows)


def glance(db: Path, name: str, source: bytes | Path, lang: str = "en") -> Preview:
    """The preview of a file's head (its first MiB of text, or a whole workbook): enough to say its headers and
    kind without reading a big export twice. Raises ContractError when even that cannot be read."""
    if isinstance(source, Path):
        with source.open("rb") as f:
            data = f.read(HEAD_BYTES + 1)
        if data.startswith(XLSX_MAGIC):
            data = source.read_bytes()
    else:
        data = source
    if not data.startswith(XLSX_MAGIC) and len(data) > HEAD_BYTES:
        data = data[:data.rfind(b"\n", 0, HEAD_BYTES) + 1] or data[:HEAD_BYTES]
    return preview(db, name, data, lang=lang, rows=0)


def kind_of(db: Path, upload: Upload) -> str | None:
    """The kind a file would be imported as: its mapping's, else what its headers say (a guess only orders it;
    its import refuses a file that is not surely of a kind)."""
    if upload.kind or upload.mapping:
        return upload.kind or upload.mapping.kind  # type: ignore[union-attr]
    try:
        return glance(db, upload.name, upload.source).kind
    except ContractError:
        return None  # its import says why


def import_order(db: Path, uploads: Sequence[Upload]) -> list[Upload]:
    """Files in the order they can be imported: branches, communities, readers, copies, then events; a file of
    no known kind last (its import says why it is refused). A single file is not looked at: there is nothing to
    order (recognising it costs a child process and a read of its head)."""
    if len(uploads) < 2:
        return list(uploads)
    kinds = [kind_of(db, u) for u in uploads]

    def rank(pair: tuple[Upload, str | None]) -> tuple[int, str]:
        u, kind = pair
        return (IMPORT_ORDER.index(kind) if kind in IMPORT_ORDER else len(IMPORT_ORDER), u.name)

    return [u for u, _ in sorted(zip(uploads, kinds, strict=True), key=rank)]


def import_files(db: Path, uploads: Sequence[Upload], by: Actor, *, remove_sample: bool = False,
                 progress: BatchProgress | None = None, lang: str = "en") -> ImportBatch:
    """Import files, each in its own capped child process and transaction, in kind order; audit each. With
    `remove_sample` the sample data is removed first (audited too). Raises `storage.BusyError` when another write
    holds the database too long."""
    batch = ImportBatch()
    if remove_sample:
        batch.sample_removed = remove_sample_data(db, by).imports
    ordered = import_order(db, uploads)
    for i, u in enumerate(ordered):
        def step(what: str, done: float, i: int = i, name: str = u.name) -> None:
            if progress:
                progress(name, what, min((i + done) / len(ordered), 1.0))
        source = u.source if isinstance(u.source, Path) else (u.name, u.source)
        r = import_isolated(db, source, user=by.name or "", progress=step, mapping=u.mapping, lang=lang)
        _record("import", by, audit.import_detail(r.as_dict()), db)
        batch.results.append(r)
    if any(r.status != "refused" and r.accepted for r in batch.results):
        report_in_background(db)
    return batch


BACKGROUND: list[subprocess.Popen] = []  # the report processes started here that may still run


def report_in_background(db: Path) -> subprocess.Popen | None:
    """The latest whole month's district report made for the new data version in a process of its own
    (`python -m microbranch report-pieces`), so the caller's answer does not wait for it and the first report asked
    for is served from its kept pieces. Not when the setting `report_after_import` is off."""
    if not settings.current().report_after_import:
        return None
    BACKGROUND[:] = [p for p in BACKGROUND if p.poll() is None]  # those done are reaped
    log = storage.locations(db).cache / "report-pieces.log"  # what went wrong, if anything, for the operator
    log.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(log, "ab") as err:
        child = subprocess.Popen([sys.executable, "-m", "microbranch", "--db", str(db), "report-pieces"],
                                 cwd=settings.PROJECT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err, start_new_session=True)
    BACKGROUND.append(child)
    return child


# --- undo ---

def undo(db: Path, import_id: int, by: Actor, *, confirm: bool = False) -> UndoResult:
    """Undo one import. When later data stands on it and `confirm` is False nothing changes: the result's status
    is `needs_confirmation` and `orphans` says what would lose its branch or copy, so the caller asks first."""
    u = undo_import(db, import_id, user=by.name or "", confirm=confirm)
    if u.status == "undone":
        _record("undo", by, audit.undo_detail(u.import_id, u.file_name, u.removed), db)
        report_in_background(db)
    return u


# --- the sample ---

def remove_sample_data(db: Path, by: Actor) -> SampleRemoved:
    """Remove the sample data (its imports undone, newest first), keeping uploaded data."""
    n = sample.remove(db)
    _record("sample_remove", by, f"{n} sample imports undone", db)
    return SampleRemoved(n)


def load_sample(db: Path, exports: sample.Exports, by: Actor, progress: sample.Progress | None = None) -> SampleLoaded:
    """Write the Nansha sample exports (`exports`: the sample generator's) and import them, each in the capped
    child."""
    results = sample.load(db, exports, progress)
    _record("sample_load", by, _sample_detail(results), db)
    return SampleLoaded(results)


def _sample_detail(results: list[ImportResult]) -> str:
    return "; ".join(audit.import_detail(r.as_dict()) for r in results)


def start(db: Path, exports: sample.Exports, progress: sample.Progress | None = None) -> Started:
    """Once per server start, by the shell: put the writer and the published snapshot back in step, clear what a
    killed import left, bring older snapshots to the current schema, and load the sample on the very first start
    (or again when a first start was stopped halfway through it). Audited when it loads the sample."""
    try:
        storage.recover(db, wait_seconds=0)
    except storage.BusyError:
        pass  # an import is running: it publishes when it ends
    storage.clear_work(db)
    if storage.current_version(db) is not None:
        storage.upgrade(db)
    loaded = sample.ensure(db, exports, progress)
    if loaded is None:
        return Started(None)
    found = SampleLoaded(loaded)
    _record("sample_load", Actor("sample", "first start"), _sample_detail(loaded), db)
    return Started(found)


# --- retention ---

def apply_retention(db: Path, years: int, by: Actor, now: datetime | None = None) -> RetentionResult:
    """Delete loan events older than `years` years with the rejected rows of their imports (see `retention`)."""
    events, rejects = retention.apply(db, years, now=now)
    before = retention.cutoff(years, now)
    _record("retention", by, f"kept {years} years: deleted {events} events before {before:%Y-%m-%d} and "
            f"{rejects} rejected rows", db)
    return RetentionResult(years, before, events, rejects)


# --- accounts ---

def add_user(db: Path, name: str, role: str, password: str, by: Actor) -> UserChange:
    auth.add(name, role, password, db=db)
    _record("user_add", by, f"{name} ({role})", db)
    return UserChange("user_add", name, role)


def disable_user(db: Path, name: str, by: Actor) -> UserChange:
    auth.disable(name, db=db)
    _record("user_disable", by, name, db)
    return UserChange("user_disable", name)


def set_password(db: Path, name: str, password: str, by: Actor) -> UserChange:
    auth.set_password(name, password, db=db)
    _record("user_passwd", by, name, db)
    return UserChange("user_passwd", name)


def set_role(db: Path, name: str, role: str, by: Actor) -> UserChange:
    before = auth.set_role(name, role, db=db)
    _record("user_role", by, f"{name}: {before} -> {role}", db)
    return UserChange("user_role", name, role)


# --- the monthly report by mail ---

def subscribe(db: Path, email: str, user_name: str, lang: str, fmt: str, by: Actor) -> delivery.Subscription:
    """Subscribe an address, for an account whose role may read the report, to the monthly report."""
    s = delivery.Subscription(email, user_name, lang, fmt)
    delivery.add(db, s)
    _record("subscribe", by, f"{email} for {user_name} ({lang}, {fmt})", db)
    return s


def unsubscribe(db: Path, email: str, by: Actor) -> bool:
    gone = delivery.remove(db, email)
    if gone:
        _record("unsubscribe", by, email, db)
    return gone


@dataclass
class Delivery:
    """What `deliver` did for a month: addresses sent to, skipped (with why) and failed (with why)."""

    month: str
    sent: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    alerted: str | None = None


def deliver(db: Path, by: Actor, month: str | None = None, *, force: bool = False) -> Delivery:
    """Mail the month's report (default: the previous whole month) to every subscriber, with its summary paragraph
    in the body and the report attached; once per month and address unless `force`. Each mail sent and each failure
    is audited; failures are mailed to the staff address."""
    month = month or delivery.previous_month()
    delivery.Period.month(month)  # a wrong month fails here, before anything is made
    done = Delivery(month)
    made: dict[tuple[str, str], delivery.Made] = {}
    for s in delivery.listing(db):
        why = delivery.may_read(db, s.user_name)
        if why:
            done.skipped.append((s.email, why))
            continue
        if not force and delivery.sent(db, month, s.email):
            done.skipped.append((s.email, f"the report of {month} was sent already (--force sends it again)"))
            continue
        try:
            if (s.lang, s.format) not in made:
                made[s.lang, s.format] = delivery.make(db, month, s.lang, s.format)
            m = made[s.lang, s.format]
            subject = t("delivery_subject", s.lang, month=month)
            body = f"{m.summary}\n\n{t('delivery_footer', s.lang)}\n"
            message_id = mail.send(s.email, subject, body, [(m.file_name, m.content, m.mime)])
        except (mail.MailError, report.ReportError, FileNotFoundError) as exc:
            done.failed.append((s.email, str(exc)))
            _record("deliver_failed", by, f"{month} to {s.email}: {exc}"[:500], db)
            continue
        delivery.mark_sent(db, month, s.email, message_id)
        done.sent.append(s.email)
        _record("deliver", by, f"{month} to {s.email} ({s.lang}, {s.format})", db)
    if done.failed:
        lines = [f"- {email}: {why}" for email, why in done.failed]
        done.alerted = mail.alert_staff(t("delivery_failed_subject", "zh", month=month, n=len(done.failed)) + " / "
                                        + t("delivery_failed_subject", "en", month=month, n=len(done.failed)),
                                        "\n".join(lines))
    return done
