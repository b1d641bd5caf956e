"""The access file beside the database: accounts and the audit trail, shared by every server process.

`<db>.access.duckdb` (owner-only, 0600) is not part of the data: imports, snapshots and retention never
touch it, so the audit survives them. Each use attaches it briefly to the process's DuckDB under a lock file
(DuckDB lets one process hold a file read-write at a time) and detaches it again.

One line records an audited action::

    from microbranch import audit
    audit.record("import", user="wang", detail="events.csv: 1,200 accepted", address="10.0.0.7")

Actions recorded: sign_in, sign_in_failed, lockout, sign_out, import, undo, user_add, user_disable,
user_passwd, user_role, download, retention.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from microbranch import clock, csvout
from microbranch.storage import locations

MAX_USER = 100  # characters of a name in the audit
MAX_DETAIL = 1000

SCHEMA = Path(__file__).with_name("storage") / "sql" / "access.sql"


def access_file(db: Path | None = None) -> Path:
    return locations(db).access


# One in-memory DuckDB per process attaches the access file for each use: a new DuckDB instance costs about 20 ms of
# CPU to start, an attach about 2 ms (a viewer's session is checked on every page request).
_INSTANCE: dict[int, duckdb.DuckDBPyConnection] = {}  # process id -> its instance (a forked child makes its own)
_SCHEMA_MADE: set[tuple[str, int]] = set()  # (access file, inode) whose tables this process has made sure of


def _instance() -> duckdb.DuckDBPyConnection:
    pid = os.getpid()
    if pid not in _INSTANCE:
        _INSTANCE.clear()
        _INSTANCE[pid] = duckdb.connect()
    return _INSTANCE[pid]


@contextmanager
def connect(db: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The access file, read-write, for the length of the block (one user at a time, process or thread, by its lock
    file): attached to this process's DuckDB and detached after, so other processes may open it then."""
    where = locations(db)
    path = where.access
    path.parent.mkdir(parents=True, exist_ok=True)
    alias = "access_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]  # two files may be open in two threads
    fd = os.open(where.access_lock, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        new = not path.exists()
        con = _instance().cursor()
        try:
            con.execute(f"attach '{str(path).replace(chr(39), chr(39) * 2)}' as {alias}")
            con.execute(f"use {alias}")
            if new:
                os.chmod(path, 0o600)
            made = (str(path), path.stat().st_ino)
            if made not in _SCHEMA_MADE:
                con.sql(SCHEMA.read_text(encoding="utf-8"))
                _SCHEMA_MADE.add(made)
            yield con
        finally:
            con.execute("use memory")
            con.execute(f"detach database if exists {alias}")
            con.close()
            for extra in (path, where.access_wal):
                if extra.exists():
                    os.chmod(extra, 0o600)


def record(action: str, user: str | None = None, detail: str = "", address: str | None = None,
           db: Path | None = None) -> None:
    """Add one row to the audit trail: who did what, when (in `clock.zone()`), from which address. Every field is
    bounded and cleaned (`csvout.clean`): a sign-in name typed by anyone may be a formula or megabytes long."""
    with connect(db) as con:
        con.sql("insert into audit values ($at, $action, $user, $detail, $address)",
                params={"at": clock.now(), "action": csvout.clean(action, 40), "user": csvout.clean(user, MAX_USER),
                        "detail": csvout.clean(detail, MAX_DETAIL), "address": csvout.clean(address, 100)})


def import_detail(r: dict) -> str:
    """What an import's audit row says: the file and its counts (never a refusal's message or a row)."""
    if r["status"] == "refused":
        return f"{r['file_name']}: refused"
    return (f"{r['file_name']}: import {r['import_id']}, {r['kind']}, {r['accepted']:,} accepted, "
            f"{r['rejected']:,} rejected, {r['duplicates']:,} duplicates")


def undo_detail(import_id: int, file_name: str, removed: int) -> str:
    return f"import {import_id} ({file_name}): {removed:,} rows removed"


def trail(db: Path | None = None, action: str | None = None, limit: int | None = None) -> pl.DataFrame:
    """The audit trail, newest first (optionally one action, the last `limit` rows)."""
    with connect(db) as con:
        return con.sql(
            "select occurred_at as at, action, user_name, detail, address from audit"
            " where $action is null or action = $action order by occurred_at desc, rowid desc limit $limit",
            params={"action": action or None, "limit": limit or None}).pl()
