"""The database on disk: one writer file, published read-only snapshots for everyone who reads.

`data/microbranch.duckdb` (the writer file) is written only by imports, one at a time (`<db>.lock`
serialises them across processes). Readers (the dashboard, `query`, several server processes) open the
current snapshot read-only, so they see the data before or after an import, never half of it, and never
meet the writer's lock. The snapshots live in `<db>.snapshots/`:

    vNNNNNN/microbranch.duckdb       the base: a byte copy of the writer file as last folded (hard-linked
                                     from one version to the next while the writer file is unchanged)
    vNNNNNN/microbranch.duckdb.wal   a copy of the writer's write-ahead log: every commit since that fold
    vNNNNNN/SOURCE                   JSON: which writer file and log it was made from, and the log's sha256
    CURRENT                          the name of the version readers open

The writer never folds its log into the file by itself (no automatic checkpoint, none at shutdown), so the
file stays byte for byte the base and publishing an import costs a copy of the log, not of the database;
DuckDB replays the log in memory when a reader opens the snapshot. When the log passes `FOLD_AT` of the
base (or the file changed: a large insert writes row groups straight into it), the writer is folded
(checkpointed) and copied whole as a new base. Every step is made in a `.tmp` folder and renamed, then
CURRENT is replaced atomically; `recover` puts any interrupted or damaged state right (see its docstring).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from microbranch import derived, i18n, settings
from microbranch.queries import MACROS

SCHEMA = Path(__file__).with_name("schema.sql")
# The tables, then the macros the queries share. Their version is stored in meta: they are run again only when it
# changes (re-creating every macro rewrites the catalogue, about a second per import at 10M events).
SCHEMA_FILES = (SCHEMA, *MACROS)
SCHEMA_VERSION = hashlib.sha256(b"".join(f.read_bytes() for f in SCHEMA_FILES)).hexdigest()[:12]
KEEP_SNAPSHOTS = 3
FOLD_AT = 0.10  # fold the log into a new base once it is this share of the base (and at least FOLD_MIN bytes)
FOLD_MIN = 64 * 2**20  # the setting fold_at_bytes, when set, is the threshold instead of both
FILE = "microbranch.duckdb"  # the database file's name inside a snapshot folder
# DuckDB's memory for an import (default: 80% of RAM). Beyond it DuckDB spills to `<db>.work/spill/`, which keeps a
# 10M-event import near 3 GB at a cost of a few seconds (the setting import_memory, 3 GB by default).
WRITER_CONFIG = {"checkpoint_threshold": "1TB"}  # the log is folded only by `fold`, never on the way
log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """A state of the files on disk a user must act on; the text comes from the catalogue."""

    def __init__(self, key: str, **fmt: object) -> None:
        super().__init__(key)
        self.key, self.fmt = key, fmt

    def text(self, lang: str = "zh") -> str:
        return i18n.t(self.key, lang, **self.fmt)

    def __str__(self) -> str:
        return self.text(settings.current().lang)


class BusyError(StoreError):
    """Another import holds the database."""


class PublishError(StoreError):
    """The import is stored but could not be published (e.g. the disk is full); the last snapshot serves."""


def default_db() -> Path:
    return settings.current().db


def snapshot_dir(db: Path) -> Path:
    return db.with_name(db.name + ".snapshots")


def work_dir(db: Path) -> Path:
    """The owner-only folder beside the database for what an import writes outside it: uploads and decoded
    copies on their way in, and DuckDB's spill files (`spill/`). Emptied before and after every import."""
    folder = db.with_name(db.name + ".work")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    return folder


def _empty(db: Path) -> None:
    """Remove everything an import left outside the database (killed or not), and the spill folder DuckDB used
    by default before there was a work folder. Only with the writer's lock held."""
    for folder in (work_dir(db), db.with_name(db.name + ".tmp")):
        for child in list(folder.iterdir()) if folder.is_dir() else []:
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() and not child.is_symlink() else \
                child.unlink(missing_ok=True)
    shutil.rmtree(db.with_name(db.name + ".tmp"), ignore_errors=True)


def clear_work(db: Path) -> bool:
    """Empty the work folder unless an import is running (it empties it itself); at a start. True if emptied."""
    if not db.parent.is_dir():
        return False
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        _empty(db)
        return True


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


@contextmanager
def _locked(db: Path, wait_seconds: float) -> Iterator[None]:
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BusyError("store_busy") from None
                time.sleep(0.2)
        yield


Step = Callable[[str], None]  # told each step of writing and publishing by name (a test stops at one to kill it)


def _no_step(_name: str) -> None:
    pass


@contextmanager
def writer(db: Path, wait_seconds: float = 600,
           publish_on_exit: bool | Callable[[], bool] = True, on_step: Step = _no_step,
           fold_inline: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """The only read-write connection: waits for another import to finish, puts an interrupted publish
    right, opens the file, and once it is closed again publishes it as the new snapshot (still locked).
    `publish_on_exit` may be a function asked at the end, so a writer that changed nothing publishes no new
    version."""
    with _locked(db, wait_seconds):
        _empty(db)  # what a killed import left behind
        try:
            _reconcile(db, check_base=False)
        except PublishError:
            pass  # still no room to publish: this import is stored all the same, and its publish says so
        con = duckdb.connect(str(db), config=WRITER_CONFIG)
        try:
            con.sql("pragma disable_checkpoint_on_shutdown")
            memory = settings.current().import_memory
            con.sql("set memory_limit = '" + memory.replace("'", "''") + "'")
            con.sql("set enable_progress_bar = false")  # an import's progress is reported by its caller
            con.sql("set temp_directory = '" + str(work_dir(db) / "spill").replace("'", "''") + "'")
            stored = stored_schema(con)
            if stored != SCHEMA_VERSION:
                for f in SCHEMA_FILES:
                    con.sql(f.read_text(encoding="utf-8"))
                if stored is not None:  # the derived tables were made anew: rebuild them from the events
                    derived.refresh_items(con)
                con.sql("insert or replace into meta values ('schema', $v)", params={"v": SCHEMA_VERSION})
            yield con
        finally:
            con.close()
            _empty(db)
        on_step("committed")
        if publish_on_exit() if callable(publish_on_exit) else publish_on_exit:
            publish(db, on_step, fold_inline)


def _source(db: Path) -> dict:
    """What identifies the writer's state: its file (unchanged while only the log grows) and its log."""
    st, wal = db.stat(), _wal(db)
    ws = wal.stat() if wal.exists() else None
    return {"file": [st.st_ino, st.st_size, st.st_mtime_ns],
            "wal": [ws.st_size, ws.st_mtime_ns] if ws and ws.st_size else None}


def _read_source(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "SOURCE").read_text())
    except (OSError, ValueError):
        return None


def _sha256(path: Path) -> str | None:
    if not path.exists():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            h.update(chunk)
    return h.hexdigest()


def _copy_hashed(source: Path, target: Path) -> str:
    """Copy a file, flushed to disk, and return the sha256 of what was copied (one pass)."""
    h = hashlib.sha256()
    with open(source, "rb") as f, open(target, "wb") as out:
        while chunk := f.read(2**20):
            h.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def versions(db: Path) -> list[str]:
    """Published versions, oldest first (folders; and files left by older code)."""
    folder = snapshot_dir(db)
    names = [p.name for p in folder.glob("v[0-9]*") if not p.name.endswith(".tmp")] if folder.exists() else []
    return sorted(names, key=lambda n: int(n[1:].split(".")[0]))


def path_of(db: Path, version: str) -> Path:
    """The database file of a published version."""
    p = snapshot_dir(db) / version
    return p / FILE if p.is_dir() else p


def publish(db: Path, on_step: Step = _no_step, fold_inline: bool = False) -> str:
    """Publish the (closed) writer file: its log beside the current base, or a new base when the file changed
    or the log has grown past FOLD_AT. Call with the lock held. Returns the version readers now open. The fold
    runs in a process of its own (the import returns at once), or here with `fold_inline`."""
    current = current_version(db)
    base = snapshot_dir(db) / current if current else None
    made = _read_source(base) if base and base.is_dir() else None
    state = _source(db)
    if made and made["source"] == state:
        return current  # nothing new since it was published
    if made and made["source"]["file"] == state["file"]:
        name = _make(db, link_from=base / FILE, on_step=on_step)
        if _fold_due(db):
            if fold_inline:
                name = _fold_if_due(db, on_step)
            else:  # a process of its own, which waits for this lock: the import returns at once
                _folders.append(subprocess.Popen(
                    [sys.executable, "-m", "microbranch", "--db", str(db), "recover", "--fold"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True))
        return name
    return fold(db, on_step)


_folders: list[subprocess.Popen] = []  # kept, so that their ends are not reported as leaked


def _fold_due(db: Path) -> bool:
    """Whether the writer's log has grown past the threshold for folding it into a new base."""
    wal = _wal(db)
    limit = settings.current().fold_at_bytes
    if limit is None:
        limit = max(FOLD_MIN, int(FOLD_AT * db.stat().st_size))
    return wal.exists() and wal.stat().st_size > limit


def _fold_if_due(db: Path, on_step: Step = _no_step) -> str | None:
    """Fold when due; a failure leaves the log snapshot serving (the next publish tries again)."""
    if not _fold_due(db):
        return current_version(db)
    try:
        return fold(db, on_step)
    except (PublishError, duckdb.Error) as exc:
        log.warning("folding %s failed: %s", db, exc)
        return current_version(db)


def fold(db: Path, on_step: Step = _no_step) -> str:
    """Fold the writer's log into its file (checkpoint) and publish a full copy as a new base."""
    on_step("folding")
    try:
        con = duckdb.connect(str(db))
        try:
            con.sql("checkpoint")
        finally:
            con.close()
    except duckdb.IOException as exc:
        if "No space left" not in str(exc):
            raise
        raise PublishError("store_disk_full", folder=db.parent, mb=_mb(db.stat().st_size)) from None
    return _make(db, link_from=None, on_step=on_step)


def _make(db: Path, link_from: Path | None, on_step: Step = _no_step) -> str:
    """Write a snapshot folder under a temporary name, rename it into place, point CURRENT at it."""
    folder = snapshot_dir(db)
    folder.mkdir(exist_ok=True)
    published = versions(db)
    number = int(published[-1][1:].split(".")[0]) + 1 if published else 1
    name = f"v{number:06d}"
    tmp = folder / (name + ".tmp")
    wal = _wal(db)
    state = _source(db)
    needed = (wal.stat().st_size if wal.exists() else 0) + (0 if link_from else db.stat().st_size)
    free = shutil.disk_usage(folder).free
    if needed + 2**20 > free:
        raise PublishError("store_disk_full", folder=folder, mb=_mb(needed + 2**20 - free))
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        kind = "log" if link_from else "full"
        on_step(f"{kind}-started")
        if link_from:
            os.link(link_from, tmp / FILE)
        else:
            shutil.copyfile(db, tmp / FILE)
            _fsync(tmp / FILE)
        made = {"source": state, "wal_sha256": _copy_hashed(wal, tmp / (FILE + ".wal")) if state["wal"] else None}
        (tmp / "SOURCE").write_text(json.dumps(made))
        _fsync(tmp / "SOURCE")
        _fsync(tmp)
        on_step(f"{kind}-written")
        os.rename(tmp, folder / name)
        _fsync(folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise PublishError("store_disk_full", folder=folder, mb=_mb(needed + 2**20 - free)) from None
        raise
    on_step(f"{kind}-renamed")
    _point(db, name)
    on_step(f"{kind}-pointed")
    for old in versions(db)[:-KEEP_SNAPSHOTS]:  # a reader that still has one open keeps reading it
        _remove(folder / old)
    return name


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _mb(n: float) -> int:
    return max(1, -(-int(n) // 2**20))


def _point(db: Path, name: str | None) -> None:
    folder = snapshot_dir(db)
    if name is None:
        (folder / "CURRENT").unlink(missing_ok=True)
        return
    pointer = folder / "CURRENT.tmp"
    pointer.write_text(name)
    _fsync(pointer)
    os.replace(pointer, folder / "CURRENT")
    _fsync(folder)


def _valid(db: Path, name: str, open_it: bool = True) -> bool:
    """A version is valid when its log is the one it recorded and DuckDB opens it and reads `meta`."""
    folder = snapshot_dir(db) / name
    if folder.is_dir():
        made = _read_source(folder)
        if made is None or _sha256(folder / (FILE + ".wal")) != made.get("wal_sha256"):
            return False
    elif not folder.is_file():
        return False
    if not open_it:
        return True
    try:
        con = duckdb.connect(str(path_of(db, name)), read_only=True)
        try:
            con.sql("select count(*) from meta").fetchall()
        finally:
            con.close()
        return True
    except duckdb.Error:
        return False


def recover(db: Path, wait_seconds: float = 600, fold_due: bool = False) -> None:
    """Put the writer file and the published snapshot back in step; run at start (before each import,
    `writer` does the same). Removes half-written snapshot folders; publishes a commit that was not
    published; a missing or garbage CURRENT, or one naming a missing or damaged snapshot, points again at
    the newest valid snapshot made from the writer's present state, or a new one is published from the
    writer; without a usable writer file, at the newest valid snapshot. With `fold_due`, then folds the
    writer's log into a new base if it has passed the threshold (what a publish starts in the background).
    Raises PublishError (after pointing at what can be served) when the disk has no room to publish."""
    if not db.exists() and not snapshot_dir(db).exists():
        return
    with _locked(db, wait_seconds):
        _reconcile(db, check_base=True)
        if fold_due and db.exists():
            _fold_if_due(db)


def _reconcile(db: Path, check_base: bool) -> None:
    folder = snapshot_dir(db)
    if folder.exists():
        for left in folder.glob("*.tmp"):
            _remove(left)
    current = current_version(db)
    state = _source(db) if db.exists() else None
    known = current in versions(db)
    if known and not check_base and state and (_read_source(folder / current) or {}).get("source") == state:
        return  # before an import: published as the writer stands (checked in full at start)
    good = known and _valid(db, current, open_it=check_base)
    if good and (state is None or (_read_source(folder / current) or {}).get("source") == state):
        return
    # Another version made from this very writer state (e.g. published, then killed before CURRENT moved)?
    for name in reversed(versions(db)):
        made = _read_source(folder / name)
        if state and made and made["source"] == state and _valid(db, name):
            _point(db, name)
            return
    if state:
        try:
            if good or not versions(db):
                publish(db)
            else:  # a log snapshot needs a valid current base: a full copy of the writer instead
                fold(db)
            return
        except duckdb.Error as exc:  # the writer file is unreadable: serve what was published
            log.warning("could not publish %s: %s", db, exc)
        except PublishError:  # a full disk: serve what was published, and say what is needed
            if not good:
                _point(db, next((n for n in reversed(versions(db)) if _valid(db, n)), None))
            raise
    if not good:
        _point(db, next((n for n in reversed(versions(db)) if _valid(db, n)), None))


def upgrade(db: Path) -> None:
    """Publish a snapshot with the current schema (tables, macros) when the current one was made by older code."""
    if current_version(db) is None:
        return
    con = reader(db)
    try:
        stored = stored_schema(con)
    finally:
        con.close()
    if stored != SCHEMA_VERSION:
        with writer(db):
            pass


def stored_schema(con: duckdb.DuckDBPyConnection) -> str | None:
    """The schema version a database was last brought up to (None: a new file)."""
    try:
        return con.sql("select max(value) from meta where key = 'schema'").fetchall()[0][0]
    except duckdb.CatalogException:
        return None


def current_version(db: Path) -> str | None:
    try:
        name = (snapshot_dir(db) / "CURRENT").read_text().strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return name if name.startswith("v") and name[1:].split(".")[0].isdigit() else None


SEALED = {"enable_external_access": False, "lock_configuration": True}  # readers touch no file but their own


def reader(db: Path, version: str | None = None, *, files: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current (or given) snapshot. Use `.cursor()` per thread. When the current
    one cannot be opened (damaged, or removed while CURRENT was being read), an earlier one serves.

    The connection reaches no file but its own: no query or parameter can read or write another one, and its
    configuration is locked (`SEALED`). `files=True` (the Parquet export alone) lets it write files."""
    config = {} if files else SEALED
    if version:
        return duckdb.connect(str(path_of(db, version)), read_only=True, config=config)
    current = current_version(db)
    if current is None:
        raise FileNotFoundError(i18n.t("store_no_data", settings.current().lang, db=db))
    tried = [current, *(n for n in reversed(versions(db)) if n != current)]
    for name in tried:
        try:
            if name != current and not _valid(db, name, open_it=False):
                continue
            return duckdb.connect(str(path_of(db, name)), read_only=True, config=config)
        except duckdb.Error:
            if name == current and current_version(db) != current:  # replaced meanwhile: read CURRENT again
                return reader(db, files=files)
    raise StoreError("store_no_valid_snapshot", db=db)


def first(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> tuple:
    """The first row of a query (DuckDB 2.0 relations have no fetchone)."""
    rows = con.sql(sql, params=params).fetchall() if params else con.sql(sql).fetchall()
    return rows[0]
