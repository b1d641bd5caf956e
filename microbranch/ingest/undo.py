"""Undo an import: its rows go, the rows it replaced come back, and the derived tables are rebuilt as if it had never
been imported. The import stays in the log with who undid it and when. One writer, one transaction, one published
version: readers see the data before or after, never half.

What an undo cannot bring back: rows that a later import skipped as duplicates of this one's rows go with it
(import that later file again and they are added).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from microbranch import derived, storage, walks
from microbranch.contract import ContractError
from microbranch.duck import first

KEYS = {"branches": "branch_id", "items": "item_id", "readers": "reader", "communities": "community_code"}


@dataclass
class UndoResult:
    import_id: int
    status: str  # undone | needs_confirmation
    kind: str | None = None
    file_name: str = ""
    removed: int = 0  # rows of the import taken out (events, or entity rows it added or changed)
    orphans: dict[str, int] = field(default_factory=dict)  # what would lose its branch or copy: {"events": n, ...}


def _import(con: duckdb.DuckDBPyConnection, import_id: int) -> tuple[str | None, str, str, object]:
    rows = con.sql("select kind, file_name, status, undone_at is not null from imports where import_id = $id",
                   params={"id": import_id}).fetchall()
    if not rows:
        raise ContractError("imp_undo_unknown", import_id=import_id)
    return rows[0]


def dependents(con: duckdb.DuckDBPyConnection, import_id: int, kind: str) -> dict[str, int]:
    """What later data stands on the rows this import added: events and copies that would name a branch or copy
    no longer known (orphans)."""
    added = "select row_key from entity_changes where import_id = $id and before is null"
    p = {"id": import_id}
    out: dict[str, int] = {}
    if kind == "branches":
        out["events"] = first(con, f"select count(*) from event_rows where branch_id in ({added})", p)[0]
        out["items"] = first(con, f"select count(*) from items where home_branch_id in ({added})", p)[0]
    elif kind == "items":
        out["events"] = first(con, f"select count(*) from events where item_id in ({added})", p)[0]
    return {k: v for k, v in out.items() if v}


def undo_import(db: Path, import_id: int, user: str = "cli", confirm: bool = False) -> UndoResult:
    """Undo one import. When later data depends on it and `confirm` is False, change nothing and return what would
    become orphaned (status `needs_confirmation`); the caller asks, then calls again with `confirm=True`."""
    changed = [False]
    with storage.writer(db, publish_on_exit=lambda: changed[0]) as con:
        result = undo_in(con, import_id, user, confirm)
        changed[0] = result.status == "undone"
    return result


def undo_in(con: duckdb.DuckDBPyConnection, import_id: int, user: str, confirm: bool) -> UndoResult:
    """The undo inside an open writer (also used to remove the sample data, import by import)."""
    kind, file_name, status, undone_at = _import(con, import_id)
    if status != "imported" or kind is None:
        raise ContractError("imp_undo_refused_import", import_id=import_id)
    if undone_at:
        raise ContractError("imp_undo_already", import_id=import_id)
    result = UndoResult(import_id, "undone", kind, file_name)
    result.orphans = dependents(con, import_id, kind)
    if result.orphans and not confirm:
        result.status = "needs_confirmation"
        return result
    con.begin()
    try:
        if kind == "events":
            items = [r[0] for r in con.sql("select distinct item_id from events where import_id = $id",
                                           params={"id": import_id}).fetchall()]
            result.removed = first(con, "select count(*) from event_rows where import_id = $id",
                                   {"id": import_id})[0]
            con.sql("delete from event_rows where import_id = $id", params={"id": import_id})
            _refresh(con, items)
        else:
            result.removed = _undo_entities(con, import_id, kind)
            _refresh(con, None)
            if kind in walks.KINDS:
                walks.refresh(con)
        con.sql("update imports set undone_at = now(), undone_by = $user where import_id = $id",
                params={"id": import_id, "user": user})
        set_meta(con)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return result


def _undo_entities(con: duckdb.DuckDBPyConnection, import_id: int, kind: str) -> int:
    """Put back what the import replaced. A row changed again by a later import keeps that later version, which
    from now on replaced what this import had replaced."""
    table, key = kind, KEYS[kind]
    live = "select import_id from imports where undone_at is null"
    p = {"id": import_id, "kind": kind}
    later = f"""
        select c.row_key, min(c.import_id) as later_id from entity_changes as c
        where c.kind = $kind and c.import_id > $id and c.import_id in ({live})
          and c.row_key in (select row_key from entity_changes where import_id = $id)
        group by c.row_key
    """
    con.sql(f"""
        update entity_changes as c set before = mine.before
        from ({later}) as l, (select row_key, before from entity_changes where import_id = $id) as mine
        where c.row_key = l.row_key and c.import_id = l.later_id and mine.row_key = l.row_key and c.kind = $kind
    """, params=p)
    own = f"""select row_key, before from entity_changes where import_id = $id
              and row_key not in (select row_key from ({later}))"""
    removed = first(con, f"select count(*) from ({own})", p)[0]
    con.sql(f"delete from {table} where {key}::varchar in (select row_key from ({own}))", params=p)
    types = con.sql(f"select column_name, column_type from (describe {table})").fetchall()
    structure = "{" + ", ".join(f'"{c}": "{t}"' for c, t in types) + "}"
    con.sql(f"""
        insert into {table} by name
        select unnest(json_transform(before, '{structure}')) from ({own}) where before is not null
    """, params=p)
    return removed


def _refresh(con: duckdb.DuckDBPyConnection, item_ids: list[str] | None) -> None:
    """Rebuild the derived tables (drift chains, loans, rollups) for the copies touched; None: for every copy."""
    derived.refresh_items(con, item_ids)


def set_meta(con: duckdb.DuckDBPyConnection) -> None:
    """Which data sets the database holds (sample, uploaded, or both: `mixed`) and its "as of" day."""
    con.sql("""
        insert or replace into meta
        select 'data_set', case
            when bool_or(user_name = 'sample') and bool_or(user_name <> 'sample') then 'mixed'
            when bool_or(user_name <> 'sample') then 'uploaded'
            else 'sample' end
        from imports where status = 'imported' and undone_at is null and accepted > 0
    """)
    con.sql("insert or replace into meta select 'as_of', coalesce(max(last_at)::date::varchar, '') from event_span")
