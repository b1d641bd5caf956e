"""Import exports: read bytes -> decode -> map headers -> validate -> load, one transaction per file."""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from microbranch import store
from microbranch.contract import ContractError, HeaderMap, detect_kind
from microbranch.ingest import limits, load, read, validate
from microbranch.ingest.decode import sniff_encoding, to_text
from microbranch.privacy import load_key
from microbranch.store import first

LOCAL = ZoneInfo("Asia/Shanghai")
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

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Preview:
    file_name: str
    kind: str
    encoding: str
    records: int
    columns: list[tuple[str, str]]


def _stage(con: duckdb.DuckDBPyConnection, data: bytes, path: Path | None,
           work: Path | None = None) -> tuple[str, read.Raw, HeaderMap]:
    """Check the file's size limits, decode and read it into temp table `raw`; recognise its kind. Decoded
    copies go to the owner-only folder `work`."""
    if not data or data.isspace():  # like `not data.strip()`, without copying a big file
        raise ContractError("The file is empty. 文件是空的。")
    encoding = sniff_encoding(data, whole=False)
    if encoding == "xlsx":
        raw = read.read_xlsx(con, data)
    else:
        limits.check_text(data)  # lines and their length, on the bytes, before decoding or parsing
        if encoding == "utf-8":
            try:
                raw = read.read_csv_text(con, path, None, data, work)
            except UnicodeDecodeError:  # valid UTF-8 at the start only: decide on the whole file
                encoding = sniff_encoding(data)
                raw = read.read_csv_text(con, None, to_text(data, encoding), data, work)
        else:
            raw = read.read_csv_text(con, None, to_text(data, encoding), data, work)
    return encoding, raw, detect_kind(raw.headers)


def preview(data: bytes, file_name: str) -> Preview:
    """What an import would do with a file: kind, encoding, rows, header mapping. Writes nothing to the database;
    a decoded copy and DuckDB's spill files stay in a folder of their own inside the work folder."""
    with tempfile.TemporaryDirectory(dir=store.work_dir(store.default_db()), prefix="preview-") as work:
        con = duckdb.connect(config={"temp_directory": str(Path(work) / "spill")})
        try:
            encoding, raw, header = _stage(con, data, None, Path(work))
            return Preview(file_name, header.kind, encoding, raw.records, header.describe())
        finally:
            con.close()


def import_file(db: Path, source: Path | tuple[str, bytes], user: str = "cli",
                progress: Progress | None = None) -> ImportResult:
    """Import one file in one transaction, then publish a snapshot. Never raises for a bad file."""
    started = time.perf_counter()
    file_name, data = (source.name, source.read_bytes()) if isinstance(source, Path) else source
    path = source if isinstance(source, Path) else None
    result = ImportResult(file_name, len(data), "", "imported")
    step = progress or (lambda _msg, _f: None)
    with ThreadPoolExecutor(1) as pool, store.writer(db) as con:
        digest = pool.submit(lambda d: hashlib.sha256(d).hexdigest(), data)  # beside the reading (no GIL held)
        key = load_key(db)
        try:
            step("reading", 0.1)
            # temp tables only: nothing stored yet
            result.encoding, raw, header = _stage(con, data, path, store.work_dir(db))
        except ContractError as exc:
            result.sha256 = digest.result()
            result.status, result.message = "refused", str(exc)
            result.import_id = first(con, "select nextval('import_seq')")[0]
            _log(con, result, user)
            return _done(result, started, step)
        result.kind = header.kind
        result.columns = header.describe()
        result.columns_dropped, result.columns_ignored = header.dropped, header.extra
        result.lines_read = raw.records
        result.sha256 = digest.result()
        del data  # staged: let the file's bytes go (an export can be a gigabyte)
        step("checking", 0.3)
        validate.check(con, header, datetime.now(LOCAL).replace(tzinfo=None))
        read.drop(con)  # every temp table is dropped as soon as it is used up, to keep the peak memory down
        load.pseudonymise(con, header.kind, key)
        con.begin()  # one file, one transaction: killed before COMMIT, the database is as it was
        try:
            result.import_id = first(con, "select nextval('import_seq')")[0]
            result.rejected, result.warnings = load.record_rejects(con, result.import_id, file_name, raw.broken,
                                                                    raw.broken_total)
            step("loading", 0.5)
            load.build_good(con, header.kind)
            if header.kind == "events":
                step("rebuilding drift chains", 0.7)
                result.accepted, result.duplicates, result.orphans = load.store_events(con, result.import_id)
            else:
                result.accepted, result.duplicates = load.store_entities(con, header.kind)
            con.sql("drop view good; drop table checked; drop table pseud")
            _set_meta(con, user)
            _log(con, result, user)
            if os.environ.get("MICROBRANCH_PAUSE_BEFORE_COMMIT"):  # lets a test kill the process mid-import
                print("PAUSED-BEFORE-COMMIT", file=sys.stderr, flush=True)
                time.sleep(float(os.environ["MICROBRANCH_PAUSE_BEFORE_COMMIT"]))
            con.commit()
        except BaseException:
            con.rollback()
            raise
        step("publishing", 0.9)
    return _done(result, started, step)


def _done(result: ImportResult, started: float, step: Progress) -> ImportResult:
    result.seconds = time.perf_counter() - started
    step("done", 1.0)
    return result


def _set_meta(con: duckdb.DuckDBPyConnection, user: str) -> None:
    data_set = "sample" if user == "sample" else "uploaded"
    con.sql(
        """
        insert or replace into meta values ('data_set', case
            when (select value from meta where key = 'data_set') = 'uploaded' then 'uploaded' else $ds end)
        """,
        params={"ds": data_set},
    )
    con.sql("insert or replace into meta select 'as_of', coalesce(max(occurred_at)::date::varchar, '') from events")


def _log(con: duckdb.DuckDBPyConnection, r: ImportResult, user: str) -> None:
    con.sql(
        """
        insert into imports values ($id, now(), $user, $file, $size, $sha, $kind, $enc, $lines, $acc, $rej, $dup,
            $orph, $dropped, $ignored, $status, $msg)
        """,
        params={
            "id": r.import_id, "user": user, "file": r.file_name, "size": r.size_bytes, "sha": r.sha256,
            "kind": r.kind, "enc": r.encoding, "lines": r.lines_read, "acc": r.accepted, "rej": r.rejected,
            "dup": r.duplicates, "orph": r.orphans, "dropped": r.columns_dropped, "ignored": r.columns_ignored,
            "status": r.status, "msg": r.message,
        },
    )
