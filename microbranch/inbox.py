"""The inbox: nightly exports dropped into a folder are imported without anyone at the upload page.

    DIR/incoming/            the library system (or a copy job) puts files here
    DIR/done/YYYY-MM-DD/     imported files, each with `<file>.txt` saying what the import did (zh and en)
    DIR/failed/YYYY-MM-DD/   files not imported, each with `<file>.txt` saying why and what to do (zh and en)

A pass (`python -m microbranch inbox DIR --once`, or each change under `--watch`) takes every file that has
settled (not named `.part`/`.tmp`, unchanged for `inbox_settle_seconds`), recognises it as the upload page does
(its headers say its kind, or a saved profile made for its headers), and imports them all through
`operations.import_files` (kind order, the capped child, audited as the inbox). A file of no known kind that no
profile fits is never guessed: it goes to failed/ saying which profile to make. Failures are mailed to the
staff address in the settings.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from microbranch import audit, clock, mail, operations, profiles, settings
from microbranch.contract import ContractError
from microbranch.i18n import t
from microbranch.ingest import ImportResult

WRITING = (".part", ".tmp", ".partial", ".crdownload", ".filepart")


@dataclass
class Outcome:
    """What a pass did with one file: `done`, `failed`, or `waiting` (left for the next pass)."""

    file_name: str
    state: str
    reason: dict[str, str] = field(default_factory=dict)  # language -> sentence
    moved_to: Path | None = None
    result: ImportResult | None = None


def actor(root: Path) -> operations.Actor:
    return operations.Actor("inbox", f"inbox {root.resolve()}")


def _settled(path: Path, now: float, settle: float) -> bool:
    if path.name.startswith(".") or path.suffix.lower() in WRITING:
        return False
    return now - path.stat().st_mtime >= settle


def _unchanged(path: Path, seen: os.stat_result) -> bool:
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    return (now.st_size, now.st_mtime_ns) == (seen.st_size, seen.st_mtime_ns)


@contextmanager
def _one_pass(root: Path) -> Iterator[bool]:
    """One pass at a time per inbox (a timer and a watcher may both start one): yields False if one is running."""
    with open(root / ".inbox.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def _both(key: str, **params: object) -> dict[str, str]:
    return {lang: t(key, lang, **params) for lang in ("zh", "en")}


def run_once(db: Path, root: Path, now: datetime | None = None, settle: float | None = None) -> list[Outcome]:
    """One pass over `root/incoming/`; returns what became of each file there. `now` (the dashboard's time zone)
    names the day's folders."""
    now = now or clock.now()
    settle = settings.current().inbox_settle_seconds if settle is None else settle
    incoming = root / "incoming"
    for sub in ("incoming", "done", "failed"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    with _one_pass(root) as mine:
        if not mine:
            return []
        return _pass(db, root, sorted(p for p in incoming.iterdir() if p.is_file()), now, settle)


def _pass(db: Path, root: Path, files: list[Path], now: datetime, settle: float) -> list[Outcome]:
    outcomes: list[Outcome] = []
    uploads: list[operations.Upload] = []
    seen: dict[str, os.stat_result] = {}
    for path in files:
        if not _settled(path, time.time(), settle):
            outcomes.append(Outcome(path.name, "waiting"))
            continue
        seen[path.name] = path.stat()
        try:
            p = operations.glance(db, path.name, path)
        except ContractError as exc:
            outcomes.append(Outcome(path.name, "failed", {lang: exc.text(lang) for lang in ("zh", "en")}))
            continue
        if not _unchanged(path, seen[path.name]):
            outcomes.append(Outcome(path.name, "waiting"))  # still being written after all
            continue
        if p.importable:
            uploads.append(operations.Upload(path.name, path, None, p.kind))
            continue
        fitting = profiles.for_headers(db, p.headers)
        if fitting:
            uploads.append(operations.Upload(path.name, path, fitting[0], fitting[0].kind))
        else:
            outcomes.append(Outcome(path.name, "failed", _both("inbox_no_profile", headers=", ".join(p.headers))))
    by = actor(root)
    if uploads:
        batch = operations.import_files(db, uploads, by, lang="zh")
        for r in batch.results:
            if r.status == "refused":
                outcomes.append(Outcome(r.file_name, "failed", _both("inbox_refused", message=r.message), result=r))
            else:
                outcomes.append(Outcome(r.file_name, "done", _both(
                    "inbox_done", import_id=r.import_id, kind=r.kind, lines=f"{r.lines_read:,}",
                    accepted=f"{r.accepted:,}", rejected=f"{r.rejected:,}", duplicates=f"{r.duplicates:,}"), result=r))
    for o in outcomes:
        if o.state != "waiting":
            o.moved_to = _move(root / "incoming" / o.file_name, root / o.state / f"{now:%Y-%m-%d}", o.reason)
        if o.state == "failed":
            audit.record("inbox_failed", by.name, f"{o.file_name}: {o.reason['en']}"[:500], by.address, db=db)
    failed = [o for o in outcomes if o.state == "failed"]
    if failed:
        _alert(root, failed)
    return outcomes


def _move(path: Path, folder: Path, reason: dict[str, str]) -> Path:
    """Move the file into `folder` (a name already there gets -2, -3 ...) with its reason file beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    target, n = folder / path.name, 1
    while target.exists():
        n += 1
        target = folder / f"{path.stem}-{n}{path.suffix}"
    shutil.move(path, target)
    target.with_name(target.name + ".txt").write_text(f"{reason['zh']}\n\n{reason['en']}\n", encoding="utf-8")
    return target


def _alert(root: Path, failed: list[Outcome]) -> str | None:
    lines = [t("inbox_alert_body", "zh", n=len(failed), folder=root), ""]
    lines += [f"- {o.file_name}: {o.reason['zh']}" for o in failed]
    lines += ["", t("inbox_alert_body", "en", n=len(failed), folder=root), ""]
    lines += [f"- {o.file_name}: {o.reason['en']}" for o in failed]
    subject = f"{t('inbox_alert_subject', 'zh', n=len(failed))} / {t('inbox_alert_subject', 'en', n=len(failed))}"
    return mail.alert_staff(subject, "\n".join(lines))


def watch(db: Path, root: Path, say=print, stop=None) -> None:  # noqa: ANN001 - callbacks
    """Run a pass now, then again whenever something changes under incoming/ and, for files still settling, at
    least every `inbox_settle_seconds`. Runs until stopped (a systemd service; `stop` is a threading.Event)."""
    from watchfiles import watch as changes

    settle = settings.current().inbox_settle_seconds
    for o in run_once(db, root):
        say(o)
    (root / "incoming").mkdir(parents=True, exist_ok=True)
    for _ in changes(root / "incoming", rust_timeout=int(max(settle, 1) * 1000), yield_on_timeout=True,
                     stop_event=stop):
        for o in run_once(db, root):
            if o.state != "waiting":
                say(o)
