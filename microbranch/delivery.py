"""The monthly report by mail: subscriptions and the deliveries already made, kept in the access file beside the
database (`audit.connect`), and the report made once per language and form for all who take it.

A subscription is an e-mail address tied to a dashboard account whose role may read the report (the rulebook's
`access.PAGES["report"]`); an account disabled or moved to another role later is skipped at delivery. The
writes (`subscribe`, `unsubscribe`, `deliver`) go through `operations`, which audits them.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl

from microbranch import access, audit, auth, report, storage
from microbranch.periods import Period

SCHEMA = """
create table if not exists subscriptions (
    email varchar primary key,
    user_name varchar not null,  -- the account whose role lets it read the report
    lang varchar not null,
    format varchar not null,
    added_at timestamp not null
);
create table if not exists deliveries (  -- one row per month and address: a month is not sent twice
    month varchar not null,
    email varchar not null,
    sent_at timestamp not null,
    message_id varchar,
    primary key (month, email)
);
"""
FORMATS = {"pdf": "application/pdf", "html": "text/html"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DeliveryError(ValueError):
    """A wrong subscription (address, language, form, account or its role); the message says which."""


@dataclass(frozen=True)
class Subscription:
    email: str
    user_name: str
    lang: str
    format: str


def previous_month(today: date | None = None) -> str:
    """The last whole month before today, as YYYY-MM."""
    first = (today or date.today()).replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


def may_read(db: Path, user_name: str) -> str | None:
    """Why the account may not have the report (None: it may)."""
    found = auth.users(db).filter(pl.col("name") == user_name)
    if found.is_empty():
        return f"no account named {user_name!r}"
    if found["disabled"][0]:
        return f"the account {user_name!r} is disabled"
    if found["role"][0] not in access.PAGES["report"]:
        return f"the role {found['role'][0]!r} of {user_name!r} may not read the report"
    return None


def add(db: Path, s: Subscription) -> None:
    if not EMAIL.match(s.email):
        raise DeliveryError(f"not an e-mail address: {s.email!r}")
    if s.lang not in ("zh", "en") or s.format not in FORMATS:
        raise DeliveryError(f"the report is mailed in zh or en, as pdf or html; got {s.lang!r}, {s.format!r}")
    why = may_read(db, s.user_name)
    if why:
        raise DeliveryError(f"{s.email} is not subscribed: {why}")
    with audit.connect(db) as con:
        con.sql(SCHEMA)
        con.sql("insert or replace into subscriptions values ($e, $u, $l, $f, $t)",
                params={"e": s.email, "u": s.user_name, "l": s.lang, "f": s.format, "t": datetime.now()})


def remove(db: Path, email: str) -> bool:
    with audit.connect(db) as con:
        con.sql(SCHEMA)
        return bool(con.sql("delete from subscriptions where email = $e returning email",
                            params={"e": email}).fetchall())


def listing(db: Path) -> list[Subscription]:
    with audit.connect(db) as con:
        con.sql(SCHEMA)
        rows = con.sql("select email, user_name, lang, format from subscriptions order by email").fetchall()
    return [Subscription(*r) for r in rows]


def sent(db: Path, month: str, email: str) -> bool:
    with audit.connect(db) as con:
        con.sql(SCHEMA)
        return bool(con.sql("select 1 from deliveries where month = $m and email = $e",
                            params={"m": month, "e": email}).fetchall())


def mark_sent(db: Path, month: str, email: str, message_id: str) -> None:
    with audit.connect(db) as con:
        con.sql(SCHEMA)
        con.sql("insert or replace into deliveries values ($m, $e, $t, $id)",
                params={"m": month, "e": email, "t": datetime.now(), "id": message_id})


@dataclass(frozen=True)
class Made:
    """The report of a month in one language and form: its summary paragraph and its file."""

    summary: str
    file_name: str
    content: bytes
    mime: str


def make(db: Path, month: str, lang: str, fmt: str) -> Made:
    """Collect and render the month's report from the published data (read only)."""
    period = Period.month(month)
    con = storage.reader(db)
    try:
        rep = report.collect(con, period, lang)
    finally:
        con.close()
    html = report.render_html(rep)
    name = f"microbranch-report-{month}-{lang}.{fmt}"
    if fmt == "html":
        return Made(report.summary(rep), name, html.encode("utf-8"), FORMATS[fmt])
    with tempfile.TemporaryDirectory(prefix="microbranch_mail_") as tmp:
        out = Path(tmp) / name
        report.render_pdf(html, out)
        return Made(report.summary(rep), name, out.read_bytes(), FORMATS[fmt])
