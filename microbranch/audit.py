"""The access file beside the database: accounts and the audit trail, shared by every server process.

`<db>.access.duckdb` (owner-only, 0600) is not part of the data: imports, snapshots and retention never
touch it, so the audit survives them. Each use opens it briefly under a lock file (DuckDB lets one process
hold a file read-write at a time) and closes it again.

One line records an audited action::

    from microbranch import audit
    audit.record("import", user="wang", detail="events.csv: 1,200 accepted", address="10.0.0.7")

Actions recorded: sign_in, sign_in_failed, lockout, sign_out, import, undo, user_add, user_disable,
user_passwd, user_role, download, retention.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

from microbranch import clock, csvout, store

MAX_USER = 100  # characters of a name in the audit
MAX_DETAIL = 1000

SCHEMA = """
create table if not exists users (
    name varchar primary key,
    role varchar not null,
    hash varchar not null,
    disabled boolean not null default false,
    created_at timestamp not null
);
create table if not exists throttle (  -- failed sign-ins in a row, per name (known or not) and per address
    kind varchar not null,  -- 'name' or 'address'
    key varchar not null,
    count integer not null,
    last_at timestamp not null,
    primary key (kind, key)
);
create table if not exists sessions (  -- signed-in browsers: the cookie holds a random id, this table its hash
    id varchar primary key,
    user_name varchar not null,
    role varchar not null,
    created_at timestamp not null,
    last_used timestamp not null,
    address varchar,
    user_agent varchar
);
create table if not exists audit (
    occurred_at timestamp not null,
    action varchar not null,
    user_name varchar,
    detail varchar,
    address varchar
);
"""


def access_file(db: Path | None = None) -> Path:
    db = db or store.default_db()
    return db.with_name(db.name + ".access.duckdb")


@contextmanager
def connect(db: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """The access file, read-write, for the length of the block (one process at a time, by its lock file)."""
    path = access_file(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        new = not path.exists()
        con = duckdb.connect(str(path), config={"enable_external_access": False})
        try:
            if new:
                os.chmod(path, 0o600)
            con.sql(SCHEMA)
            yield con
        finally:
            con.close()
            for extra in (path, path.with_name(path.name + ".wal")):
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
        sql = ("select occurred_at as at, action, user_name, detail, address from audit"
               + (" where action = $action" if action else "") + " order by occurred_at desc, rowid desc"
               + (" limit $limit" if limit else ""))
        params = {k: v for k, v in (("action", action), ("limit", limit)) if v}
        return con.sql(sql, params=params or None).pl()
