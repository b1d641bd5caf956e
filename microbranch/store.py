"""The database on disk: one writer file, published read-only snapshots for everyone who reads.

`data/microbranch.duckdb` is written only by imports, one at a time (a lock file serialises them, across
processes). After each committed import the file is copied to `<db>.snapshots/vNNNNNN.duckdb` and the
name is written atomically to `<db>.snapshots/CURRENT`. Readers (the dashboard, `query`) open the
current snapshot read-only, so they see the data before or after an import, never half of it, and
never meet the writer's lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from microbranch.queries import MACROS

SCHEMA = Path(__file__).with_name("schema.sql")
# The tables, then the macros the queries share. Their version is stored in meta: they are run again only when it
# changes (re-creating every macro rewrites the catalogue, about a second per import at 10M events).
SCHEMA_FILES = (SCHEMA, *MACROS)
SCHEMA_VERSION = hashlib.sha256(b"".join(f.read_bytes() for f in SCHEMA_FILES)).hexdigest()[:12]
KEEP_SNAPSHOTS = 3
# DuckDB's memory for an import (default: 80% of RAM). Beyond it DuckDB spills to `<db>.work/spill/`, which keeps a
# 10M-event import near 3 GB at a cost of a few seconds. $MICROBRANCH_IMPORT_MEMORY overrides it.
IMPORT_MEMORY = "3GB"


class BusyError(RuntimeError):
    """Another import holds the database."""


def default_db() -> Path:
    return Path(os.environ.get("MICROBRANCH_DB", "data/microbranch.duckdb"))


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


@contextmanager
def writer(db: Path, wait_seconds: float = 600,
           publish_on_exit: bool | Callable[[], bool] = True) -> Iterator[duckdb.DuckDBPyConnection]:
    """The only read-write connection: waits for another import to finish, opens the file, and once it is
    closed again publishes it as the new snapshot (still holding the lock). `publish_on_exit` may be a function
    asked at the end, so a writer that changed nothing publishes no new version."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "w") as lock:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BusyError("Another import is running; try again when it has finished. "
                                    "另一个导入正在进行，请稍后再试。") from None
                time.sleep(0.2)
        _empty(db)  # what a killed import left behind
        con = duckdb.connect(str(db))
        try:
            memory = os.environ.get("MICROBRANCH_IMPORT_MEMORY") or IMPORT_MEMORY
            con.sql("set memory_limit = '" + memory.replace("'", "''") + "'")
            con.sql("set temp_directory = '" + str(work_dir(db) / "spill").replace("'", "''") + "'")
            if stored_schema(con) != SCHEMA_VERSION:
                for f in SCHEMA_FILES:
                    con.sql(f.read_text(encoding="utf-8"))
                con.sql("insert or replace into meta values ('schema', $v)", params={"v": SCHEMA_VERSION})
            yield con
            con.sql("checkpoint")  # the snapshot is a copy of the file alone: fold the WAL in first
        finally:
            con.close()
            _empty(db)
        if publish_on_exit() if callable(publish_on_exit) else publish_on_exit:
            publish(db)


def publish(db: Path) -> str:
    """Copy the (closed) writer file to a new snapshot and make it current. Call with the lock held."""
    folder = snapshot_dir(db)
    folder.mkdir(exist_ok=True)
    versions = sorted(folder.glob("v*.duckdb"))
    number = int(versions[-1].stem[1:]) + 1 if versions else 1
    name = f"v{number:06d}.duckdb"
    tmp = folder / (name + ".tmp")
    shutil.copyfile(db, tmp)
    os.replace(tmp, folder / name)
    pointer = folder / "CURRENT.tmp"
    pointer.write_text(name)
    os.replace(pointer, folder / "CURRENT")
    for old in versions[:-KEEP_SNAPSHOTS + 1]:
        old.unlink(missing_ok=True)  # a reader that still has it open keeps reading it
    return name


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
        return (snapshot_dir(db) / "CURRENT").read_text().strip() or None
    except FileNotFoundError:
        return None


def reader(db: Path, version: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current (or given) snapshot. Use `.cursor()` per thread."""
    for _ in range(5):
        name = version or current_version(db)
        if name is None:
            raise FileNotFoundError(f"No data has been imported into {db} yet. 数据库中还没有数据。")
        try:
            return duckdb.connect(str(snapshot_dir(db) / name), read_only=True)
        except duckdb.IOException:
            if version or (snapshot_dir(db) / name).exists():
                raise
            # the snapshot was replaced between reading CURRENT and opening it: read CURRENT again
    raise BusyError("The data is being replaced too often to open; try again. 数据正在更新，请重试。")


def first(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> tuple:
    """The first row of a query (DuckDB 2.0 relations have no fetchone)."""
    rows = con.sql(sql, params=params).fetchall() if params else con.sql(sql).fetchall()
    return rows[0]
