"""Local accounts: names, roles, argon2id password hashes, and the lockout after repeated failures.

Roles: `staff` (everything, including upload, undo and reader-level rows), `manager` (every page but the
upload; reader pseudonyms visible), `official` (aggregate pages only; no pseudonyms; reader counts 1-9
shown as `<10`). Accounts live in the access file beside the database (`microbranch.audit`).

After `MAX_FAILURES` failed sign-ins in a row for a name, that name is locked for `LOCK_MINUTES`,
whether or not an account of that name exists, so the answer never tells which names exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from microbranch import audit

ROLES = ("staff", "manager", "official")
MIN_LENGTH = 10  # characters of a new password
MAX_FAILURES = 5
LOCK_MINUTES = 15
_hasher = PasswordHasher()  # argon2id, the library's current defaults
_DUMMY = _hasher.hash("not a password")  # checked for unknown names, so they take as long as known ones


class AccountError(ValueError):
    """A wrong use of the account commands (unknown role, name taken, no such account)."""


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: the account's role, or why not (`wrong` or `locked`, never which names exist)."""

    role: str | None
    refused: str | None = None
    minutes: int = 0


def has_accounts(db: Path | None = None) -> bool:
    if not audit.access_file(db).exists():
        return False
    with audit.connect(db) as con:
        return con.sql("select count(*) from users").fetchall()[0][0] > 0


def _role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")


def add(name: str, role: str, password: str, db: Path | None = None) -> None:
    """Add an account (audited by `operations.add_user`, which is what callers use; so are the others below)."""
    _role(role)
    if not name.strip() or not password:
        raise AccountError("a name and a password are needed")
    with audit.connect(db) as con:
        if con.sql("select count(*) from users where name = $n", params={"n": name}).fetchall()[0][0]:
            raise AccountError(f"an account named {name!r} exists already")
        con.sql("insert into users values ($n, $r, $h, false, $t)",
                params={"n": name, "r": role, "h": _hasher.hash(password), "t": datetime.now()})


def _change(db: Path | None, name: str, sql: str, params: dict) -> None:
    with audit.connect(db) as con:
        if not con.sql("select count(*) from users where name = $n", params={"n": name}).fetchall()[0][0]:
            raise AccountError(f"no account named {name!r}")
        con.sql(sql, params={"n": name, **params})


def disable(name: str, db: Path | None = None) -> None:
    _change(db, name, "update users set disabled = true where name = $n", {})


def set_role(name: str, role: str, db: Path | None = None) -> str:
    """Give an account another role; returns the role it had."""
    _role(role)
    with audit.connect(db) as con:
        found = con.sql("select role from users where name = $n", params={"n": name}).fetchall()
    if not found:
        raise AccountError(f"no account named {name!r}")
    _change(db, name, "update users set role = $r where name = $n", {"r": role})
    return found[0][0]


def set_password(name: str, password: str, db: Path | None = None) -> None:
    if not password:
        raise AccountError("a password is needed")
    _change(db, name, "update users set hash = $h, disabled = false where name = $n", {"h": _hasher.hash(password)})
    with audit.connect(db) as con:
        con.sql("delete from failures where name = $n", params={"n": name})


def users(db: Path | None = None) -> pl.DataFrame:
    with audit.connect(db) as con:
        return con.sql("select name, role, disabled, created_at from users order by name").pl()


def sign_in(name: str, password: str, address: str | None = None, db: Path | None = None,
            now: datetime | None = None) -> SignIn:
    """Check a name and password; count failures, lock a name after `MAX_FAILURES`, and audit each attempt."""
    now = now or datetime.now()
    with audit.connect(db) as con:
        locked = con.sql("select locked_until from failures where name = $n and locked_until > $now",
                         params={"n": name, "now": now}).fetchall()
        account = con.sql("select role, hash, disabled from users where name = $n", params={"n": name}).fetchall()
    if locked:
        minutes = max(1, -(-int((locked[0][0] - now).total_seconds()) // 60))
        audit.record("sign_in_failed", name, "locked", address, db=db)
        return SignIn(None, "locked", minutes)
    role, hashed, disabled = account[0] if account else (None, _DUMMY, True)
    try:
        good = _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        good = False
    if good and not disabled:
        with audit.connect(db) as con:
            con.sql("delete from failures where name = $n", params={"n": name})
            if _hasher.check_needs_rehash(hashed):
                con.sql("update users set hash = $h where name = $n", params={"n": name, "h": _hasher.hash(password)})
        audit.record("sign_in", name, role, address, db=db)
        return SignIn(role)
    with audit.connect(db) as con:
        con.sql("""insert into failures values ($n, 1, null)
                   on conflict (name) do update set count = case when failures.locked_until is null
                   then failures.count + 1 else 1 end, locked_until = null""", params={"n": name})
        count = con.sql("select count from failures where name = $n", params={"n": name}).fetchall()[0][0]
        if count >= MAX_FAILURES:
            con.sql("update failures set locked_until = $u where name = $n",
                    params={"n": name, "u": now + timedelta(minutes=LOCK_MINUTES)})
    audit.record("sign_in_failed", name, "disabled" if good else "wrong password", address, db=db)
    if count >= MAX_FAILURES:
        audit.record("lockout", name, f"{MAX_FAILURES} failed sign-ins: locked for {LOCK_MINUTES} minutes", address,
                     db=db)
        return SignIn(None, "locked", LOCK_MINUTES)
    return SignIn(None, "wrong")
