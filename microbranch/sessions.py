"""Signed-in sessions, kept server-side in the access file beside the database (`microbranch.audit`).

The browser's cookie holds only a random id; the table holds its SHA-256, the account, its role at sign-in,
when the session began and was last used, and the address and browser it began from. `check` asks the store:
a session ends when its account is gone, disabled or given another role, after `idle_minutes` without use, and
`LIFETIME_HOURS` after sign-in whatever its use. Changing an account (`auth.disable`, `auth.set_password`,
`auth.set_role`) ends its sessions at once (`end_user`).

The web server asks on a page's request and on every script run; `check_recent` answers them from this process's
last look at a live session for a few seconds (opening the access file was a sixth of a new viewer's server time, and
a new viewer asked twice). A sign-out or an account change made in this process is seen at once; one made elsewhere
(the command line, another server process) within those seconds.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from microbranch import audit

IDLE_MINUTES = 30
LIFETIME_HOURS = 12
TOUCH_SECONDS = 10  # last use is written at most this often per session (every script run asks)


@dataclass(frozen=True)
class Session:
    name: str
    role: str
    created_at: datetime
    last_used: datetime


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(name: str, role: str, address: str | None = None, user_agent: str | None = None,
          db: Path | None = None, now: datetime | None = None) -> str:
    """A new session for a signed-in account; returns the random id for the cookie (never stored as such)."""
    token = secrets.token_urlsafe(32)
    now = now or datetime.now()
    with audit.connect(db) as con:
        con.sql("insert into sessions values ($id, $n, $r, $t, $t, $a, $ua)",
                params={"id": _hash(token), "n": name, "r": role, "t": now, "a": address,
                        "ua": (user_agent or "")[:300]})
    _remember(db, token, Session(name, role, now, now))  # the page the sign-in goes back to asks at once
    return token


# (access file, session id's hash) -> (time.monotonic() of the store's answer, the live session), in this process
_RECENT: dict[tuple[str, str], tuple[float, Session]] = {}
RECENT_MAX = 10_000  # past this many, answers older than any `within` asked for are dropped


def _key(db: Path | None, token: str) -> tuple[str, str]:
    return str(audit.access_file(db)), _hash(token)


def _remember(db: Path | None, token: str, session: Session) -> None:
    now = time.monotonic()
    if len(_RECENT) >= RECENT_MAX:
        for key in [k for k, (at, _) in list(_RECENT.items()) if now - at > 60]:
            _RECENT.pop(key, None)
    _RECENT[_key(db, token)] = (now, session)


def _forget(db: Path | None, *, token: str | None = None, name: str | None = None) -> None:
    """Drop this process's answers for a session id or for every session of an account."""
    where, hashed = _key(db, token or "")
    for key, (_, session) in list(_RECENT.items()):
        if key[0] == where and ((token and key[1] == hashed) or session.name == name):
            _RECENT.pop(key, None)


def forget_all() -> None:
    """Ask the store again at the next check of every session (what waiting `within` seconds does)."""
    _RECENT.clear()


def _why_ended(row: tuple, now: datetime, idle_minutes: float) -> str | None:
    _, role, created_at, last_used, account_role, disabled = row
    if account_role is None:
        return "account removed"
    if disabled:
        return "account disabled"
    if account_role != role:
        return "role changed"
    if now - created_at > timedelta(hours=LIFETIME_HOURS):
        return f"lifetime ({LIFETIME_HOURS} h)"
    if now - last_used > timedelta(minutes=idle_minutes):
        return "idle"
    return None


def check(token: str | None, db: Path | None = None, *, idle_minutes: float = IDLE_MINUTES,
          now: datetime | None = None) -> Session | None:
    """The live session the cookie's id names, its last use brought up to now; None when there is none (an
    ended session is removed, and its end recorded in the audit)."""
    if not token:
        return None
    now = now or datetime.now()
    with audit.connect(db) as con:
        found = con.sql("""select s.user_name, s.role, s.created_at, s.last_used, u.role, u.disabled
                           from sessions s left join users u on u.name = s.user_name where s.id = $id""",
                        params={"id": _hash(token)}).fetchall()
        if not found:
            return None
        why = _why_ended(found[0], now, idle_minutes)
        if why is not None:
            con.sql("delete from sessions where id = $id", params={"id": _hash(token)})
        elif now - found[0][3] > timedelta(seconds=TOUCH_SECONDS):
            con.sql("update sessions set last_used = $t where id = $id", params={"id": _hash(token), "t": now})
    name, role, created_at, _, _, _ = found[0]
    if why is not None:
        audit.record("sign_out", name, why, db=db)
        return None
    return Session(name, role, created_at, now)


def check_recent(token: str | None, db: Path | None = None, *, within: float, idle_minutes: float = IDLE_MINUTES
                 ) -> Session | None:
    """`check`, trusting this process's answer for a live session for `within` seconds."""
    if not token:
        return None
    known = _RECENT.get(_key(db, token))
    if known is not None and time.monotonic() - known[0] < within:
        return known[1]
    found = check(token, db, idle_minutes=idle_minutes)
    if found is None:
        _forget(db, token=token)
    else:
        _remember(db, token, found)
    return found


def end(token: str | None, db: Path | None = None, address: str | None = None) -> str | None:
    """Sign out: the session ends in every tab and window that holds it. Returns the account's name."""
    if not token:
        return None
    with audit.connect(db) as con:
        found = con.sql("delete from sessions where id = $id returning user_name",
                        params={"id": _hash(token)}).fetchall()
    _forget(db, token=token)
    if found:
        audit.record("sign_out", found[0][0], "", address, db=db)
    return found[0][0] if found else None


def end_user(name: str, db: Path | None = None, why: str = "") -> int:
    """End every session of an account (a change to it, or `user signout`). Returns how many ended."""
    with audit.connect(db) as con:
        ended = len(con.sql("delete from sessions where user_name = $n returning id", params={"n": name}).fetchall())
    _forget(db, name=name)
    if ended:
        audit.record("sign_out", name, f"{ended} session(s): {why}" if why else f"{ended} session(s)", db=db)
    return ended


def listing(db: Path | None = None) -> pl.DataFrame:
    """The open sessions, newest use first (never their ids)."""
    with audit.connect(db) as con:
        return con.sql("""select user_name as name, role, created_at, last_used, address, user_agent
                          from sessions order by last_used desc""").pl()
