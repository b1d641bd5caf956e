"""Local accounts: names, roles, argon2id password hashes, and the growing wait after failed sign-ins.

Roles and what each may see are the rulebook's (`microbranch.access`). Accounts live in the access file beside
the database (`microbranch.audit`).

Failed sign-ins are throttled per name (whether or not an account of that name exists, so the answer never
tells which names exist) and per address, with a wait that grows instead of a lock (`sign_in`). Disabling an
account, changing its password or its role ends its sessions (`microbranch.sessions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import polars as pl
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from microbranch import audit, sessions
from microbranch.access import ROLES

MIN_LENGTH = 10  # characters of a new password
FREE_TRIES = 3  # failed sign-ins in a row before the first wait
NAME_WAIT_CAP = 60  # seconds: a stranger guessing a name keeps its owner out a minute at most
ADDRESS_WAIT_CAP = 900  # seconds: one address guessing many names slows to a try every 15 minutes
FORGET = timedelta(hours=1)  # failures this long ago no longer count
_hasher = PasswordHasher()  # argon2id, the library's current defaults


@cache
def _dummy() -> str:
    """A hash checked for unknown names, so they take as long as known ones (made once, when first needed)."""
    return _hasher.hash("not a password")


class AccountError(ValueError):
    """A wrong use of the account commands (unknown role, name taken, no such account)."""


@dataclass(frozen=True)
class SignIn:
    """The answer to a sign-in: the account's role, or why not (`wrong`, or `wait`: too soon after failures; never
    which names exist), and the seconds to wait before the next try."""

    role: str | None
    refused: str | None = None
    seconds: int = 0


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
    sessions.end_user(name, db, "account disabled")


def set_role(name: str, role: str, db: Path | None = None) -> str:
    """Give an account another role; returns the role it had."""
    _role(role)
    with audit.connect(db) as con:
        found = con.sql("select role from users where name = $n", params={"n": name}).fetchall()
    if not found:
        raise AccountError(f"no account named {name!r}")
    _change(db, name, "update users set role = $r where name = $n", {"r": role})
    sessions.end_user(name, db, "role changed")
    return found[0][0]


def set_password(name: str, password: str, db: Path | None = None) -> None:
    if not password:
        raise AccountError("a password is needed")
    _change(db, name, "update users set hash = $h, disabled = false where name = $n", {"h": _hasher.hash(password)})
    with audit.connect(db) as con:
        con.sql("delete from throttle where kind = 'name' and key = $n", params={"n": name})
    sessions.end_user(name, db, "password changed")


def users(db: Path | None = None) -> pl.DataFrame:
    with audit.connect(db) as con:
        return con.sql("select name, role, disabled, created_at from users order by name").pl()


def _wait(count: int, cap: int) -> int:
    """Seconds to wait before the next try after `count` failures in a row: none for the first `FREE_TRIES`, then
    1, 2, 4 ... up to `cap`."""
    return 0 if count < FREE_TRIES else min(2 ** (count - FREE_TRIES), cap)


def sign_in(name: str, password: str, address: str | None = None, db: Path | None = None,
            now: datetime | None = None) -> SignIn:
    """Check a name and password, and audit each attempt. Failures in a row are counted per name (known or not)
    and per address; past `FREE_TRIES`, each needs a wait before the next try, growing up to `NAME_WAIT_CAP` for
    a name and `ADDRESS_WAIT_CAP` for an address. A try during the wait is refused unchecked and not counted."""
    now = now or datetime.now()
    keys = {"name": name, "address": address or ""}
    with audit.connect(db) as con:
        rows = con.sql("select kind, count, last_at from throttle where (kind = 'name' and key = $name) "
                       "or (kind = 'address' and key = $address)", params=keys).fetchall()
        account = con.sql("select role, hash, disabled from users where name = $n", params={"n": name}).fetchall()
    caps = {"name": NAME_WAIT_CAP, "address": ADDRESS_WAIT_CAP}
    ready = max((last + timedelta(seconds=_wait(count, caps[kind])) for kind, count, last in rows), default=now)
    if ready > now:
        seconds = max(1, -(-int((ready - now).total_seconds() * 1000) // 1000))
        audit.record("sign_in_failed", name, f"too soon: wait {seconds} s", address, db=db)
        return SignIn(None, "wait", seconds)
    role, hashed, disabled = account[0] if account else (None, _dummy(), True)
    try:
        good = _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        good = False
    if good and not disabled:
        with audit.connect(db) as con:
            con.sql("delete from throttle where kind = 'name' and key = $n", params={"n": name})
            if _hasher.check_needs_rehash(hashed):
                con.sql("update users set hash = $h where name = $n", params={"n": name, "h": _hasher.hash(password)})
        audit.record("sign_in", name, role, address, db=db)
        return SignIn(role)
    waits = []
    with audit.connect(db) as con:
        for kind, key in keys.items():
            count = con.sql("""insert into throttle values ($kind, $key, 1, $now) on conflict (kind, key)
                               do update set last_at = $now,
                               count = case when throttle.last_at < $forgotten then 1 else throttle.count + 1 end
                               returning count""",
                            params={"kind": kind, "key": key, "now": now, "forgotten": now - FORGET}).fetchall()[0][0]
            waits.append((_wait(count, caps[kind]), kind, count))
    audit.record("sign_in_failed", name, "disabled" if good else "wrong password", address, db=db)
    wait, kind, count = max(waits)
    if wait:
        audit.record("lockout", name, f"{count} failed sign-ins in a row from this {kind}: next try after {wait} s",
                     address, db=db)
    return SignIn(None, "wrong", wait)
