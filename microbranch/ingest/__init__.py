"""Import exports: read bytes -> decode -> map headers -> validate -> load, one transaction per file."""

from __future__ import annotations

import codecs
import contextlib
import errno
import hashlib
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from microbranch import clock, storage
from microbranch.contract import ContractError, Detection, HeaderMap, detect
from microbranch.duck import first, ident, quote
from microbranch.i18n import entries, t
from microbranch.ingest import limits, load, read, validate
from microbranch.ingest.decode import XLSX_MAGIC, lone_cr, sniff_encoding, to_text
from microbranch.ingest.mapping import Mapping, signature
from microbranch.ingest.undo import set_meta
from microbranch.privacy import check_fingerprint, key_path, load_key
from microbranch.storage.publishing import no_step

Progress = Callable[[str, float], None]


@dataclass
class ImportResult:
    file_name: str
    size_bytes: int
    sha256: str
    status: str  # imported | refused
    kind: str | None = None
    encoding: str | None = None
    lines_read: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    orphans: int = 0
    warnings: int = 0
    columns: list[tuple[str, str]] = field(default_factory=list)
    columns_dropped: list[str] = field(default_factory=list)
    columns_ignored: list[str] = field(default_factory=list)
    message: str = ""
    import_id: int | None = None
    seconds: float = 0.0
    published: bool = False  # a new data version was published (False: nothing changed)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Preview:
    """What an import would do with a file, before anything is written."""

    file_name: str
    kind: str | None
    encoding: str
    records: int  # data records (a file read only in part: its data lines, by its line breaks)
    columns: list[tuple[str, str]]  # (the file's header, the field it becomes or what becomes of it)
    headers: list[str] = field(default_factory=list)
    signature: str = ""
    detection: Detection | None = None  # what the headers alone say (None when a mapping was given)
    reason: str = ""  # why it is not importable as it is, in the user's language ("" = importable)
    rows: pl.DataFrame | None = None  # the first rows as they will be stored
    problems: pl.DataFrame | None = None  # the rejects and warnings those rows would produce
    values: dict[str, list[str]] = field(default_factory=dict)  # a column's values (first rows), for value mapping

    @property
    def importable(self) -> bool:
        return not self.reason


def _stage(con: duckdb.DuckDBPyConnection, data: bytes, path: Path | None,
           work: Path | None = None) -> tuple[str, read.Raw]:
    """Check the file's size limits, decode and read it into temp table `raw`. Decoded copies go to the owner-only
    folder `work`."""
    if not data or data.isspace():  # like `not data.strip()`, without copying a big file
        raise ContractError("imp_empty")
    encoding = sniff_encoding(data, whole=False)
    if encoding == "xlsx":
        return encoding, read.read_xlsx(con, data)
    if (encoding.startswith("utf-8") or encoding == "gb18030") and lone_cr(data[:65536]):
        data, path = data.replace(b"\r", b"\n"), None  # old Mac line ends: 0x0D is in no multi-byte character here
    limits.check_text(data)  # lines and their length, on the bytes, before decoding or parsing
    if encoding == "utf-8":
        try:
            return encoding, read.read_csv_text(con, path, None, data, work)
        except UnicodeDecodeError:  # valid UTF-8 at the start only: decide on the whole file
            encoding = sniff_encoding(data)
    text = to_text(data, encoding)
    if lone_cr(text[:65536]):
        text = text.replace("\r", "\n")
    return encoding, read.read_csv_text(con, None, text, data, work)


def _header(con: duckdb.DuckDBPyConnection, raw: read.Raw,
            mapping: Mapping | None) -> tuple[HeaderMap, Detection | None]:
    """The header map the import uses: the user's mapping, or recognition that is sure; else a refusal."""
    if mapping is not None:
        header, detection = mapping.header_map(raw.headers), None
    else:
        detection = detect(raw.headers)
        if not detection.importable or detection.header is None:
            raise detection.error()
        header = detection.header
    ambiguous = validate.ambiguous_dates(con, header)
    if ambiguous:
        raise ContractError("imp_reason_date_order", column=ambiguous[0], example=ambiguous[1])
    return header, detection


PREVIEW_HEAD = 8 << 20  # bytes of a text file a preview reads (whole lines): ample for its first rows and values


def preview(data: bytes, file_name: str, mapping: Mapping | None = None, lang: str = "en", db: Path | None = None,
            rows: int = 10, head: int = PREVIEW_HEAD) -> Preview:
    """What an import would do with a file: kind, how sure, the mapping, and its first rows as they will be stored
    with the rejects they would produce. A text file is measured whole but read only to its first `head` bytes
    (whole lines); a workbook is checked from its structure, then read. Writes nothing to the database; a decoded
    copy and DuckDB's spill files stay in a folder of their own inside the work folder. Raises ContractError only
    for a file that cannot be read. The upload page calls it in a capped child: `isolated.preview_isolated`."""
    with tempfile.TemporaryDirectory(dir=storage.locations(db).make_work(), prefix="preview-") as work:
        con = duckdb.connect(config={"temp_directory": str(Path(work) / "spill"), "memory_limit": "512MB"})
        try:
            return _preview(con, data, file_name, mapping, lang, db, rows, Path(work), head)
        finally:
            con.close()


def _head(data: bytes, size: int) -> tuple[bytes, int | None]:
    """The first whole lines of a text file within `size` bytes, and the number of data lines of the whole file
    (by its line breaks; None when the head is the whole file)."""
    if len(data) <= size or data.startswith(XLSX_MAGIC):
        return data, None
    sample = data[:4096]
    utf16 = sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or sample.count(0) > len(sample) // 4
    if utf16:
        big = sample.startswith(codecs.BOM_UTF16_BE) or (not sample.startswith(codecs.BOM_UTF16_LE)
                                                         and sample[0::2].count(0) > sample[1::2].count(0))
        newline = b"\x00\n" if big else b"\n\x00"
        end = data.rfind(newline, 0, size)
        while end > 0 and end % 2:  # a code unit starts at an even offset
            end = data.rfind(newline, 0, end)
        cut = end + 2 if end > 0 else size - size % 2
        return data[:cut], max(data.count(newline) - 1, 0)
    newline = b"\n" if b"\n" in data[:size] else b"\r"
    end = data.rfind(newline, 0, size)
    return data[:end + 1 if end > 0 else size], max(data.count(newline) - 1, 0)


def _preview(con: duckdb.DuckDBPyConnection, data: bytes, file_name: str, mapping: Mapping | None, lang: str,
             db: Path | None, rows: int, work: Path, head: int) -> Preview:
    if not data.startswith(XLSX_MAGIC) and not lone_cr(data[:65536]):
        limits.check_text(data)  # what the import would refuse for its size, on the whole file's bytes
    data, lines = _head(data, head)
    encoding, raw = _stage(con, data, None, work)
    if lines is not None:
        raw.records = max(raw.records, lines)  # the whole file's records, as far as its line breaks say
    sig = signature(raw.headers)
    values = _values(con, raw.headers)
    try:
        header, detection = _header(con, raw, mapping)
    except ContractError as exc:
        d = detect(raw.headers) if mapping is None else None
        h = d.header if d else None
        return Preview(file_name, mapping.kind if mapping else d.kind if d else None, encoding, raw.records,
                       h.describe() if h else [(x, "") for x in raw.headers], raw.headers, sig, d, exc.text(lang),
                       values=values)
    out = Preview(file_name, header.kind, encoding, raw.records, header.describe(), raw.headers, sig, detection,
                  values=values)
    out.rows, out.problems = _first_rows(con, header, raw, db, rows, lang)
    return out


def _values(con: duckdb.DuckDBPyConnection, headers: list[str], rows: int = 5000,
            most: int = 12) -> dict[str, list[str]]:
    """The commonest values of each column in the first `rows` rows (what a value mapping is made from)."""
    out = {}
    for i, h in enumerate(headers):
        found = con.sql(f"""
            select v from (select trim({ident(f"c{i}")}) as v from raw order by line limit $rows)
            where v <> '' group by v order by count(*) desc, v limit $most
        """, params={"rows": rows, "most": most + 1}).fetchall()
        out[h] = [r[0] for r in found]
    return out


def _first_rows(con: duckdb.DuckDBPyConnection, header: HeaderMap, raw: read.Raw, db: Path | None, n: int,
                lang: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The first `n` rows checked and shaped as the store step would store them, and their problems."""
    con.sql(storage.SCHEMA.read_text())  # empty tables, so the rules that look at stored data run
    current = storage.current_version(db) if db else None
    if db and current:
        try:
            con.sql(f"attach {quote(str(storage.path_of(db, current)))} as snap (read_only)")
            con.sql("insert into branches by name select * from snap.branches")
            con.sql("detach snap")
        except duckdb.Error:
            pass  # the rows are still shown; only the check against known branches is left out
    con.sql("create temp table raw_head as select * from raw order by line limit $n", params={"n": n})
    read.drop(con)
    con.sql("alter table raw_head rename to raw")
    validate.check(con, header, clock.now())
    load.pseudonymise(con, header.kind, load_key(db) if db else b"preview")
    load.build_good(con, header.kind)
    shape = EVENT_COLUMNS if header.kind == "events" else load.STORED[header.kind]
    stored = con.sql(f"select * from ({shape}) order by line").pl()
    last = stored["line"].max() if stored.height == n else None  # broken rows among (or before) these rows
    problems = con.sql("""
        select line, p.column as field, p.value, p.reason, p.detail, p.severity,
        from (select line, unnest(problems) as p from checked) order by line
    """).pl()
    pseud = dict(con.sql("select raw_id, pseudonym from pseud").fetchall())
    shown = [
        {"line": r["line"], "column": header.file_column(r["field"]),
         "value": pseud.get(r["value"], r["value"]) if r["field"].endswith("reader_id") else r["value"],
         "reason": reason_text(r["reason"], r["detail"], r["severity"], lang), "severity": r["severity"]}
        for r in problems.to_dicts()
    ] + [{"line": line, "column": None, "value": None, "reason": reason_text(key, detail, "reject", lang),
          "severity": "reject"} for line, key, detail in raw.broken if last is None or line < last]
    schema = {"line": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String, "severity": pl.String}
    return stored, pl.DataFrame(shown, schema=schema, orient="row") if shown else pl.DataFrame(schema=schema)


EVENT_COLUMNS = "select line, occurred_at, action, item_id, reader, from_reader, branch_id, channel, due_at from good"


def reason_text(key: str, detail: str | None, severity: str, lang: str) -> str:
    """A reject's reason, whole, in `lang`; a warning on an optional cell says the row went in with it empty.
    Reasons stored by older versions (whole sentences) are shown as they are."""
    entry = f"reject_{key}"
    if entry not in entries():
        return key
    text = t(entry, lang, detail=detail or "")
    if severity == "warning" and key != "isbn_check":
        text = t("reject_emptied", lang, reason=text)
    return text


def import_file(db: Path, source: Path | tuple[str, bytes], user: str = "cli",
                progress: Progress | None = None, mapping: Mapping | None = None, lang: str = "en",
                on_step: storage.Step = no_step, fold_inline: bool = False) -> ImportResult:
    """Import one file in one transaction, then publish a snapshot if it changed anything. Never raises for a bad
    file: a refusal is a result whose message (in `lang`) says why and what to do. `mapping` is the user's column
    mapping (or a saved profile); without it the file must fit the contract as it is. `on_step` is told the steps
    of storing by name ("before-commit", then those of `storage.writer`)."""
    started = time.perf_counter()
    file_name, data = (source.name, source.read_bytes()) if isinstance(source, Path) else source
    path = source if isinstance(source, Path) else None
    result = ImportResult(file_name, len(data), "", "imported")
    step = progress or (lambda _msg, _f: None)
    changed = [False]
    with ThreadPoolExecutor(1) as pool, storage.writer(db, publish_on_exit=lambda: changed[0], on_step=on_step,
                                                       fold_inline=fold_inline) as con:
        digest = pool.submit(lambda d: hashlib.sha256(d).hexdigest(), data)  # beside the reading (no GIL held)
        key = load_key(db)
        check_fingerprint(con, key, key_path(db))
        try:
            step("reading", 0.1)
            # temp tables only: nothing stored yet
            result.encoding, raw = _stage(con, data, path, storage.locations(db).make_work())
            header, _ = _header(con, raw, mapping)
        except ContractError as exc:
            result.sha256 = digest.result()
            result.status, result.message = "refused", exc.text(lang)
            result.import_id = first(con, "select nextval('import_seq')")[0]
            _log(con, result, user, mapping)
            changed[0] = result.published = True  # the refusal is in the import history staff look at
            return _done(result, started, step)
        result.kind = header.kind
        result.columns = header.describe()
        result.columns_dropped, result.columns_ignored = header.dropped, header.extra
        result.lines_read = raw.records
        result.sha256 = digest.result()
        del data  # staged: let the file's bytes go (an export can be a gigabyte)
        step("checking", 0.3)
        validate.check(con, header, clock.now())
        read.drop(con)  # every temp table is dropped as soon as it is used up, to keep the peak memory down
        load.pseudonymise(con, header.kind, key)
        con.begin()  # one file, one transaction: killed before COMMIT, the database is as it was
        try:
            result.import_id = first(con, "select nextval('import_seq')")[0]
            file_columns = {n: header.file_column(n) for n in header.mapping.values()}
            result.rejected, result.warnings = load.record_rejects(con, result.import_id, file_name, raw.broken,
                                                                   raw.broken_total, file_columns)
            step("loading", 0.5)
            load.build_good(con, header.kind)
            if header.kind == "events":
                step("rebuilding drift chains", 0.7)
                result.accepted, result.duplicates, result.orphans = load.store_events(con, result.import_id)
            else:
                result.accepted, result.duplicates = load.store_entities(con, header.kind, result.import_id)
            con.sql("drop view good; drop table checked; drop table pseud")
            _log(con, result, user, mapping)
            set_meta(con)
            on_step("before-commit")
            con.commit()
        except BaseException as exc:
            with contextlib.suppress(duckdb.TransactionException):  # a failed COMMIT has ended the transaction
                con.rollback()
            if _disk_full(exc):
                raise _no_room(db, result.size_bytes) from None
            raise
        # An import that changes nothing (a re-import: every row a duplicate) publishes no new version, so the
        # dashboard's caches stay warm; it is in the import log of the next version.
        changed[0] = bool(result.accepted or result.rejected or result.warnings)
        result.published = changed[0]
        step("publishing", 0.9)
    return _done(result, started, step)


def _disk_full(exc: BaseException) -> bool:
    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(exc)


def _no_room(db: Path, size: int) -> ContractError:
    """The disk filled up while the import was being stored. What it needs is estimated as twice the file (its rows
    and their share of the log) and 16 MB of DuckDB's own, less what is free now that the import was rolled back."""
    folder = storage.locations(db).db.parent
    needed = 2 * size + (16 << 20) - shutil.disk_usage(folder).free
    return ContractError("store_disk_full_import", folder=str(folder), mb=max(1, -(-needed // (1 << 20))))


def _done(result: ImportResult, started: float, step: Progress) -> ImportResult:
    result.seconds = time.perf_counter() - started
    step("done", 1.0)
    return result


def _log(con: duckdb.DuckDBPyConnection, r: ImportResult, user: str, mapping: Mapping | None = None) -> None:
    con.sql(
        """
        insert into imports by name
        select $id as import_id, now() as imported_at, $user as user_name, $file as file_name, $size as size_bytes,
            $sha as sha256, $kind as kind, $enc as encoding, $lines as lines_read, $acc as accepted,
            $rej as rejected, $dup as duplicates, $orph as orphans, $dropped as columns_dropped,
            $ignored as columns_ignored, $status as status, $msg as message, $mapping as mapping
        """,
        params={
            "id": r.import_id, "user": user, "file": r.file_name, "size": r.size_bytes, "sha": r.sha256,
            "kind": r.kind, "enc": r.encoding, "lines": r.lines_read, "acc": r.accepted, "rej": r.rejected,
            "dup": r.duplicates, "orph": r.orphans, "dropped": r.columns_dropped, "ignored": r.columns_ignored,
            "status": r.status, "msg": r.message, "mapping": mapping.to_json() if mapping else None,
        },
    )
