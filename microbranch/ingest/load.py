"""`checked` -> stored rows: pseudonymise, record rejects, skip duplicates, upsert, rebuild chains."""

from __future__ import annotations

import duckdb
import polars as pl

from microbranch import derived, geo, walks
from microbranch.contract import KINDS
from microbranch.duck import first
from microbranch.ingest import limits
from microbranch.privacy import pseudonym

# What each kind stores, computed from the typed, pseudonymised columns of `good`.
STORED = {
    "branches": """
        select line, branch_id, name, kind, host_type, town_code, address, lat, lon, opened_on, closed_on,
            public_access, host_population::integer as host_population, volumes::integer as volumes,
        from good""",
    "items": """
        select line, item_id, title, author, isbn, call_number,
            nullif(regexp_extract(upper(call_number), '^([A-Z])', 1), '') as clc_class,
            nullif(regexp_extract(upper(call_number), '^([A-Z]+)', 1), '') as clc_subclass,
            home_branch_id, coalesce(owner, 'library') as owner, owner_reader, added_on,
            price::decimal(12, 2) as price,
        from good""",
    "readers": """
        select line, reader, registered_on, home_branch_id, community_code, birth_year::integer as birth_year,
            reader_type,
        from good""",
    "communities": """
        select line, community_code, name, town_code, population::integer as population, lat, lon, from good""",
}
KEYS = {"branches": "branch_id", "items": "item_id", "readers": "reader", "communities": "community_code"}
READER_COLUMNS = {"reader_id": "reader", "from_reader_id": "from_reader", "owner_reader_id": "owner_reader"}


def pseudonymise(con: duckdb.DuckDBPyConnection, kind: str, key: bytes) -> list[str]:
    """Create temp table `pseud(raw_id, pseudonym)` for every reader identifier in `checked`."""
    cols = [c.name for c in KINDS[kind].columns if c.type == "reader"]
    if cols:
        union = " union all ".join(f"select {c} as raw_id from checked where {c} is not null" for c in cols)
        ids = [r[0] for r in con.sql(f"select distinct raw_id from ({union})").fetchall()]  # one row per id
    else:
        ids = []
    frame = pl.DataFrame({"raw_id": ids, "pseudonym": [pseudonym(key, i) for i in ids]},
                         schema={"raw_id": pl.String, "pseudonym": pl.String})
    con.register("pseud_frame", frame)
    con.sql("create or replace temp table pseud as select * from pseud_frame")
    con.unregister("pseud_frame")
    return cols


def record_rejects(con: duckdb.DuckDBPyConnection, import_id: int, file_name: str,
                   broken: list[tuple[int, str, str]], broken_total: int | None = None,
                   file_columns: dict[str, str] | None = None) -> tuple[int, int]:
    """Store the first MAX_REJECTS_STORED problems (reader identifiers as pseudonyms), named by the file's own column
    (`file_columns`: field -> header); return (rejected rows, warnings), all of them counted. `broken`: (line,
    reason key, detail) of unreadable rows."""
    cap = limits.MAX_REJECTS_STORED
    names = file_columns or {}
    frame = pl.DataFrame({"field": list(names), "header": list(names.values())},
                         schema={"field": pl.String, "header": pl.String})
    con.register("file_columns", frame)
    con.sql(
        """
        insert into rejects by name
        select $id as import_id, $file as file_name, line, p.column as column_name,
            case when p.column in ('reader_id', 'from_reader_id', 'owner_reader_id')
                then (select pseudonym from pseud where raw_id = p.value) else p.value end as value,
            p.reason as reason, p.severity as severity, coalesce(f.header, p.column) as file_column,
            nullif(p.detail, '') as detail,
        from (select line, unnest(problems) as p from checked where problems is not null order by line limit $cap)
        left join file_columns as f on f.field = p.column
        """,
        params={"id": import_id, "file": file_name, "cap": cap},
    )
    con.unregister("file_columns")
    stored = first(con, "select count(*) from rejects where import_id = $id", {"id": import_id})[0]
    if broken and stored < cap:
        frame = pl.DataFrame({"line": [b[0] for b in broken], "reason": [b[1] for b in broken],
                              "detail": [b[2] for b in broken]}).head(cap - stored)
        con.register("broken_frame", frame)
        con.sql("insert into rejects by name select $id as import_id, $file as file_name, line, reason, detail, "
                "'reject' as severity from broken_frame", params={"id": import_id, "file": file_name})
        con.unregister("broken_frame")
    rejected, warnings = first(con, """
        select count(*) filter (where rejected),
            coalesce(sum(len(list_filter(problems, lambda p: p.severity = 'warning'))), 0)::bigint
        from checked
    """)
    return rejected + (len(broken) if broken_total is None else broken_total), warnings


def build_good(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """View `good`: rows without a rejecting problem, reader identifiers replaced by pseudonyms, points in
    WGS-84. A view, so a big file is not copied once more: the store step reads `checked` through it."""
    if kind in ("branches", "communities"):
        _to_wgs84(con)
    names = {c.name for c in KINDS[kind].columns}
    readers = [(raw, stored) for raw, stored in READER_COLUMNS.items() if raw in names]
    # One join per reader column (pseud has one row per raw id), rather than a scalar subquery per row.
    replace = "".join(f", p{i}.pseudonym as {stored}" for i, (_, stored) in enumerate(readers))
    joins = " ".join(f"left join pseud as p{i} on p{i}.raw_id = c.{raw}" for i, (raw, _) in enumerate(readers))
    exclude = "".join(f", {raw}" for raw, _ in readers)
    con.sql(f"""
        create or replace temp view good as
        select c.* exclude (rejected, problems{exclude}){replace}
        from checked as c {joins}
        where not c.rejected
    """)


def _to_wgs84(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.sql("select line, lat, lon, coord_system from checked where coord_system <> 'wgs84' and not rejected"
                   ).fetchall()
    if not rows:
        return
    converted = [(line, *geo.to_wgs84(lat, lon, system)) for line, lat, lon, system in rows]
    frame = pl.DataFrame(converted, schema={"line": pl.Int64, "lat": pl.Float64, "lon": pl.Float64}, orient="row")
    con.register("wgs_frame", frame)
    con.sql("update checked set lat = w.lat, lon = w.lon from wgs_frame as w where checked.line = w.line")
    con.unregister("wgs_frame")


def store_events(con: duckdb.DuckDBPyConnection, import_id: int) -> tuple[int, int, int]:
    """Insert new events; return (accepted, duplicates, orphans). Rebuild the chains of touched copies."""
    con.sql("""
        create or replace temp view keyed as
        select *, coalesce('id:' || event_id, 'row:' || md5(concat_ws('|', occurred_at, action, item_id,
            reader, from_reader, branch_id))) as event_key,
        from good
    """)
    # Does a key repeat within the file? Counted on 64-bit hashes of the raw key (equal raw keys, equal stored
    # keys): no repeated hash proves no repeated key; a repeated hash (a repeat, or a rare collision) only
    # makes the exact de-duplication below run.
    good, keys = first(con, """
        select count(*), count(distinct coalesce(hash(event_id), hash(occurred_at, action, item_id, reader_id,
            from_reader_id, branch_id)))
        from checked where not rejected
    """)
    # The first row of each key, unless it is stored already: the window (a sort) only when a key repeats.
    # Stored from `good` on the numbers of their copies and readers; the rows of this import are those with its
    # import_id.
    repeats = "qualify row_number() over (partition by event_key order by line) = 1" if keys < good else ""
    # The file's keys stored already: the stored events looked up in the file's keys (not all hashed to look the
    # file's keys up in them).
    con.sql("create or replace temp table stored_keys as "
            "select event_key from event_rows semi join keyed using (event_key)")
    derived.add_keys(con, "(select item_id from checked where not rejected)", "(select pseudonym as reader from pseud)")
    con.sql(
        f"""
        insert into event_rows
        select n.event_key, n.occurred_at, n.action, i.item_no, r.reader_no, f.reader_no, n.branch_id, n.channel,
            n.due_at, $id,
        from (select * from keyed anti join stored_keys using (event_key) {repeats}) as n
        inner join keyed_items as i on n.item_id = i.item_id
        inner join keyed_readers as r on n.reader = r.reader
        left join keyed_readers as f on n.from_reader = f.reader
        """,
        params={"id": import_id},
    )
    con.sql("drop view keyed; drop table stored_keys; drop table keyed_items; drop table keyed_readers")
    this = {"id": import_id}
    accepted = first(con, "select count(*) from event_rows where import_id = $id", this)[0]
    orphans = first(con, """
        select count(*) from event_rows
        where import_id = $id
          and (item_no not in (select item_no from item_attrs)
               or (branch_id is not null and branch_id not in (select branch_id from branches)))
    """, this)[0]
    derived.refresh_import(con, import_id)
    return accepted, good - accepted, orphans


def store_entities(con: duckdb.DuckDBPyConnection, kind: str, import_id: int | None = None) -> tuple[int, int]:
    """Upsert: a later row updates a stored one; a row identical to what is stored is a duplicate. What each stored
    row replaced is kept in `entity_changes`, so the import can be undone."""
    table, key = kind, KEYS[kind]
    con.sql(f"create or replace temp table incoming as {STORED[kind]}")
    columns = [r[0] for r in con.sql(f"select column_name from (describe {table})").fetchall()]  # stored columns
    same = " and ".join(f"i.{c} is not distinct from t.{c}" for c in columns)
    good = first(con, "select count(*) from incoming")[0]
    # Within the file, a row repeating an earlier identical row is a duplicate.
    con.sql(f"""
        create or replace temp table incoming as
        select * from incoming
        qualify row_number() over (partition by {', '.join(columns)} order by line) = 1
    """)
    con.sql(f"delete from incoming as i where exists (select 1 from {table} as t where {same})")
    accepted = first(con, "select count(*) from incoming")[0]
    con.sql(f"""
        create or replace temp table latest as
        select * exclude (line) from incoming qualify row_number() over (partition by {key} order by line desc) = 1
    """)
    if import_id is not None:
        con.sql(f"""
            insert into entity_changes
            select $id, $kind, l.{key}::varchar, case when t.{key} is not null then to_json(t) end, to_json(l)
            from latest as l left join {table} as t on t.{key} = l.{key}
        """, params={"id": import_id, "kind": kind})
    con.sql(f"delete from {table} where {key} in (select {key} from latest)")
    con.sql(f"insert into {table} by name select * from latest")
    con.sql("drop table incoming; drop table latest")
    if kind in ("items", "readers") and accepted:
        derived.refresh_attributes(con, kind)
    if kind == "branches" and accepted:
        derived.refresh_branches(con)
    if kind in walks.KINDS and accepted:
        walks.refresh(con)
    return accepted, good - accepted
