"""Retention: loan events older than N years are deleted, with the rejected rows of the imports they came from.

The setting `retention_years` (MICROBRANCH_RETENTION_YEARS), or `--years` of `python -m microbranch retention`;
without one nothing is deleted. A rejected row goes when its import was made before the cut-off, or when it was an
import of events none of which is left. The drift chains of the copies touched are rebuilt, a new snapshot is
published; `operations.apply_retention` records the deletion in the audit trail.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from microbranch import clock, storage
from microbranch.derived import refresh_items


def cutoff(years: int, now: datetime | None = None) -> datetime:
    now = now or clock.now()
    try:
        return now.replace(year=now.year - years)
    except ValueError:  # 29 February
        return now.replace(year=now.year - years, day=28)


def apply(db: Path, years: int, now: datetime | None = None) -> tuple[int, int]:
    """Delete what is older than `years`; returns (events deleted, rejected rows deleted)."""
    if years < 1:
        raise ValueError(f"retention must keep at least 1 year; got {years}")
    before = cutoff(years, now)
    with storage.writer(db) as con:
        touched = [r[0] for r in con.sql("select distinct item_id from events where occurred_at < $c",
                                         params={"c": before}).fetchall()]
        events = con.sql("select count(*) from event_rows where occurred_at < $c",
                         params={"c": before}).fetchall()[0][0]
        con.sql("delete from event_rows where occurred_at < $c", params={"c": before})
        gone = """select import_id from imports where imported_at < $c
                  union select i.import_id from imports as i where i.kind = 'events'
                  and not exists (select 1 from event_rows as e where e.import_id = i.import_id)"""
        rejects = con.sql(f"select count(*) from rejects where import_id in ({gone})",
                          params={"c": before}).fetchall()[0][0]
        con.sql(f"delete from rejects where import_id in ({gone})", params={"c": before})
        if touched:
            refresh_items(con, touched)
    return events, rejects
