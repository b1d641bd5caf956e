"""What is derived from the events, kept current for the copies an import (or an undo) touches.

For the copies touched (`refresh_import`, `refresh_items`; inside this module they are its temp table
`touched(item_id)`): the drift chains of those copies (chains.sql) and, by delta from the chains deleted and added,
the chains ended per month (chains_month) and the long chains (chains_long); where each copy stands
(copy_state), the weeding list (weeding_list) and the move list (moves_list); their loans (one row per loan,
integer keys, in time order; only the loans that changed are deleted and added), and the rollups of every month
in which a loan was deleted or added: counts per day and branch, counts and distinct readers per month (and
branch), loans per month of a home branch, class and owner, and the activity bitmaps of readers and of readers at
a branch; the copies' own bitmaps from all their loans. A month's rollups are recomputed
whole from the loans of that month, so they equal a rebuild from scratch whatever was added or deleted.
The copies' renewals and returns (table actions) are compared like their loans, and the counts per day and branch
(actions_day) changed by the difference of the rows deleted and added.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

CHAINS_SQL = Path(__file__).with_name("chains.sql")

# New text identifiers get the next free integer key.
_NEW_KEYS = """
insert into {table}
select coalesce((select max({no}) from {table}), 0) + row_number() over (order by {id}), {id},
from (select distinct s.{id} from {source} as s anti join {table} as k using ({id}) where s.{id} is not null)
"""  # an anti join hashes the few new names, where `except` hashed every stored one (half the time at 1M copies)

DERIVED = ("chains", "chains_month", "chains_long", "chain_transfers", "loans", "loans_day", "loans_month",
           "loans_home_month", "reader_months", "reader_branch_months", "item_months", "copy_state", "weeding_list",
           "moves_list", "reader_firsts", "loans_reader_month", "actions", "actions_day", "loans_lending_month",
           "loans_lending_total", "lending_owning_list", "loans_hour_month", "loans_home_total", "item_attrs",
           "reader_attrs", "import_branches", "copies_unknown", "title_copies", "item_titles", "loans_title_month",
           "loans_title_month_top", "title_loans", "event_span")
LOAN = "day, occurred_at, is_transfer, branch_no, item_no, reader_no"  # the columns of table loans
ACTION = "day, occurred_at, is_return, branch_no, item_no"  # the columns of table actions
TOP_TITLES = 1000  # how many of the most borrowed titles have their month rows apart (loans_title_month_top)

# The loans of the recomputed months: the bounds let the scan skip what the months' days are not in.
_MONTHS = "l.day >= $lo and l.day < $hi and month_no(l.day) in (select month_no from months)"


# The numbers of the identifiers of {source} in temp table {temp}({id}, {no}, new), new ones numbered as _NEW_KEYS
# numbers them: the stored keys are read once, for the lookup and for what is new.
_KEYS_OF = """
create or replace temp table {temp} as
with found as (
    select s.{id}, k.{no},
    from (select distinct {id}, from {source} where {id} is not null) as s
    left join {table} as k using ({id})
)
select {id}, coalesce({no}, (select coalesce(max({no}), 0) from {table})
    + row_number() over (partition by {no} is null order by {id}))::integer as {no}, {no} is null as new,
from found
"""


def add_keys(con: duckdb.DuckDBPyConnection, items: str, readers: str) -> None:
    """Number the copies of `items` (a query of column item_id) and the readers of `readers` (column reader) that
    have no number yet. The numbers of all of them stay in temp tables keyed_items(item_id, item_no) and
    keyed_readers(reader, reader_no), for the caller to key its rows without reading the stored keys again (and to
    drop)."""
    for temp, table, no, key, source in (("keyed_items", "item_keys", "item_no", "item_id", items),
                                         ("keyed_readers", "reader_keys", "reader_no", "reader", readers)):
        con.sql(_KEYS_OF.format(temp=temp, table=table, no=no, id=key, source=source))
        con.sql(f"insert into {table} select {no}, {key}, from {temp} where new order by {no}")


def refresh_import(con: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Rebuild everything derived for the copies of the events of this import (in its transaction)."""
    _touched(con, f"import_id = {int(import_id)}")
    _refresh(con, import_id)
    _import_branches(con, import_id)


def _touched(con: duckdb.DuckDBPyConnection, where: str) -> None:
    """Temp table touched(item_id, item_no): the copies of the stored events `where` holds for, each once."""
    con.sql("create or replace temp table touched as select k.item_id, t.item_no, from (select distinct item_no, "
            f"from event_rows where {where}) as t inner join item_keys as k using (item_no)")


def _refresh(con: duckdb.DuckDBPyConnection, import_id: int | None = None) -> None:
    """Rebuild everything derived for the copies in temp table `touched(item_id)`, then drop it. After an import
    (import_id), `touched(item_id, item_no)`: its copies were numbered as its events were stored."""
    _event_span(con, import_id)
    if import_id is None:
        con.sql(_NEW_KEYS.format(table="item_keys", no="item_no", id="item_id", source="touched"))
    _touched_nos(con, import_id)
    # The copies' loans as stored from their first chain worked out anew on, each with its number among identical
    # rows (to compare with the new ones).
    con.sql(f"""
        create or replace temp table old_loans as
        select rowid as row_id, {LOAN}, row_number() over (partition by {LOAN}) as n,
        from loans
        semi join touched_nos as t on loans.item_no = t.item_no and loans.occurred_at >= t.from_ts
    """)
    con.sql(CHAINS_SQL.read_text(encoding="utf-8"))
    gone, added = _store_changed(con, "chains", "new_chains", import_id)
    _chains_month(con, gone, added)
    _chains_long(con, gone, added)
    _store_changed(con, "chain_transfers", "new_transfers", import_id)
    con.sql("drop table if exists since; drop table if exists changed_gone; drop table if exists changed_added")
    con.sql("""
        create or replace temp table new_loans as
        select s.occurred_at, false as is_transfer, s.branch_id, s.item_no, s.reader_no,
        from chain_steps as s
        where s.action_rank = 0  -- the checkouts
        union all
        select s.occurred_at, true, c.start_branch_id, s.item_no, s.reader_no,
        from chain_steps as s
        inner join chain_list as c using (item_no, c, r)
        where s.action_rank = 1  -- the transfers
    """)
    _new_actions(con, import_id)
    con.sql("drop table chain_steps; drop table new_chains; drop table new_transfers")
    con.sql(_NEW_KEYS.format(table="branch_keys", no="branch_no", id="branch_id", source="new_loans"))
    con.sql(_NEW_KEYS.format(table="branch_keys", no="branch_no", id="branch_id", source="new_actions"))
    _actions(con)
    keyed = """
        select n.occurred_at::date as day, n.occurred_at, n.is_transfer, b.branch_no, n.item_no, n.reader_no,
        from new_loans as n
        left join branch_keys as b using (branch_id)
    """
    if con.sql("select count(*) from old_loans").fetchall()[0][0] == 0:  # new copies (a first import): add all
        con.sql(f"create or replace temp table added as {keyed}")
        con.sql("create or replace temp table gone as "
                "select null::bigint as row_id, null::date as day, null::integer as reader_no, "
                "null::integer as item_no, limit 0")
    else:
        # Only the loans that changed are deleted and added (an import of new events mostly adds to a copy's
        # loans), so only the months they fall in are recomputed.
        con.sql(f"create or replace temp table fresh_loans as select *, row_number() over (partition by {LOAN}) as n,"
                f" from ({keyed})")
        same = " and ".join(f"o.{c} is not distinct from f.{c}" for c in [*LOAN.split(", "), "n"])
        con.sql(f"create or replace temp table gone as select o.row_id, o.day, o.reader_no, o.item_no, "
                f"from old_loans as o "
                f"anti join fresh_loans as f on {same}")
        con.sql(f"create or replace temp table added as select f.* exclude (n), from fresh_loans as f "
                f"anti join old_loans as o on {same}")
        con.sql("drop table fresh_loans")
    con.sql("drop table new_loans; drop table old_loans")
    con.sql("delete from loans where rowid in (select row_id from gone)")
    con.sql(f"insert into loans select {LOAN}, from added order by occurred_at")
    con.sql("""
        create or replace temp table months as
        select month_no(day) as month_no, from gone
        union
        select month_no(day), from added
    """)
    con.sql("create or replace temp table touched_readers as "
            "select reader_no, from gone union select reader_no, from added")
    if import_id is not None:
        _copies_unknown(con, "touched_nos")
    _title_loans(con)
    _items(con)
    _copy_state(con, import_id)
    con.sql("drop table gone; drop table added")
    _reader_firsts(con)
    lo_no, hi_no = con.sql("select min(month_no), max(month_no) from months").fetchall()[0]
    if lo_no is not None:
        bounds = {"lo": _month_start(lo_no), "hi": _month_start(hi_no + 1)}
        _months(con, bounds)
    con.sql("drop table months; drop table touched_nos; drop table touched; drop table touched_readers; "
            "drop table chain_list")


def _touched_nos(con: duckdb.DuckDBPyConnection, import_id: int | None) -> None:
    """Temp table touched_nos: the touched copies' numbers and, for chains.sql, the moment from which their chains are
    worked out anew (from_ts) and how many chains lie before it (chains_before).

    After an import that only added events (import_id; temp table `since`: each copy's earliest new event), a copy's
    chains are worked out from the start of its last stored chain that started before that event: the new events
    come after it, so the chains before it and where it starts stay as they are. A chain whose start shares its
    moment with an event of the chain before it is passed over (the moment alone would not tell them apart). Without
    such a chain, and after an undo or for a rebuild, from the copy's first event."""
    if import_id is None:
        con.sql("create or replace temp table touched_nos as select item_no, item_id, '-infinity'::timestamp as "
                "from_ts, 0 as chains_before, from item_keys semi join touched using (item_id)")
        return
    con.sql("create or replace temp table since as select item_no, min(occurred_at) as since, from event_rows "
            "where import_id = $id group by item_no", params={"id": import_id})
    con.sql("""
        create or replace temp table touched_nos as
        with kept as (
            select item_no, max(chain_no) as chain_no, arg_max(started_at, chain_no) as started_at,
            from (
                select c.item_no, c.chain_no, c.started_at, s.since,
                    lag(c.last_event_at) over (partition by c.item_no order by c.chain_no) as before_last,
                from chains as c
                inner join since as s using (item_no)
            )
            where started_at < since and (before_last is null or before_last < started_at)
            group by item_no
        )
        select k.item_no, k.item_id, coalesce(c.started_at, '-infinity'::timestamp) as from_ts,
            coalesce(c.chain_no - 1, 0) as chains_before,
        from touched as k
        left join kept as c using (item_no)
    """)


def _event_span(con: duckdb.DuckDBPyConnection, import_id: int | None) -> None:
    """The events' first and last moment: after an import that only added events (import_id), widened by its own;
    otherwise from every event."""
    events = "select occurred_at as first_at, occurred_at as last_at, from event_rows"
    if import_id is not None:
        events = f"select * from event_span union all {events} where import_id = {int(import_id)}"
    con.sql(f"create or replace temp table span as select min(first_at) as first_at, max(last_at) as last_at, "
            f"from ({events}) having count(*) > 0")
    con.sql("delete from event_span; insert into event_span select * from span; drop table span")


def _new_actions(con: duckdb.DuckDBPyConnection, import_id: int | None) -> None:
    """The touched copies' renewals and returns as they are now (temp table new_actions): a return at its own branch,
    a renewal at the branch where the copy's chain then started (empty: no chain, or one that started before the
    data). Ties follow docs/metrics.md (checkout, transfer, renew, return): a renewal at the moment of a return
    belongs to the returned chain, one at the moment of a checkout to the chain that checkout starts.

    After an import that only added events (import_id), only each copy's rows from its earliest new event on
    (temp table action_since) can change: a renewal before it falls in a chain that the events before it decide, a
    return keeps its branch. Those rows alone are worked out and compared: the renewals from the stored ones and the
    import's own (no pass over every event), and the stored rows are read from that moment on (the scan of table
    actions, stored in time order, skips what lies before). Otherwise every row of the copies, the renewals from the
    events."""
    if import_id is None:
        con.sql("create or replace temp table action_since as "
                "select item_no, '-infinity'::timestamp as since, from touched_nos")
        renewals = ("select e.item_no, e.occurred_at, from event_rows as e semi join touched_nos using (item_no) "
                    "where e.action = 'renew'")
    else:
        con.sql("create or replace temp table action_since as select item_no, min(occurred_at) as since, "
                "from event_rows where import_id = $id group by item_no", params={"id": import_id})
        renewals = f"""
            select e.item_no, e.occurred_at,
            from event_rows as e
            where e.import_id = {int(import_id)} and e.action = 'renew'
            union all
            {_STORED_ACTIONS.format(columns="a.item_no, a.occurred_at")} and not a.is_return
        """
    con.sql(f"create or replace temp table renewed as select *, row_number() over () as n, from ({renewals})",
            params=_since_bound(con, renewals))
    con.sql("""
        create or replace temp table new_actions as
        select s.occurred_at, true as is_return, s.branch_id, s.item_no,
        from chain_steps as s
        inner join action_since as t on s.item_no = t.item_no and s.occurred_at >= t.since
        where s.action_rank = 3
        union all
        select r.occurred_at, false, c.start_branch_id, r.item_no,
        from renewed as r
        left join chain_list as c
            on
                r.item_no = c.item_no and r.occurred_at >= c.started_at
                and (
                    coalesce(c.returned_at, c.next_started_at) is null
                    or r.occurred_at < coalesce(c.returned_at, c.next_started_at)
                    or r.occurred_at = c.returned_at
                )
        qualify row_number() over (partition by r.n order by c.started_at desc, c.chain_no desc) = 1
    """)
    con.sql("drop table renewed")


# The stored renewals and returns of the touched copies from each one's moment on (action_since); $since: the
# earliest of those moments, a constant the scan can skip row groups by.
_STORED_ACTIONS = """
select {columns},
from actions as a
inner join action_since as t on a.item_no = t.item_no and a.occurred_at >= t.since
where a.occurred_at >= $since"""


def _since_bound(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, object] | None:
    """The parameter $since of _STORED_ACTIONS, when the query reads them."""
    if "$since" not in sql:
        return None
    return {"since": con.sql("select coalesce(min(since), '-infinity'::timestamp) from action_since").fetchall()[0][0]}


def _actions(con: duckdb.DuckDBPyConnection) -> None:
    """Store the touched copies' renewals and returns that changed (table actions, compared like the loans, from each
    copy's moment in action_since on) and add the difference to the counts per day and branch (actions_day): no day
    is counted again from all its rows."""
    keyed = """
        select n.occurred_at::date as day, n.occurred_at, n.is_return, b.branch_no, n.item_no,
        from new_actions as n
        left join branch_keys as b using (branch_id)
    """
    stored = _STORED_ACTIONS.format(columns=f"a.rowid as row_id, {', '.join('a.' + c for c in ACTION.split(', '))}")
    con.sql(f"create or replace temp table old_actions as select *, row_number() over (partition by {ACTION}) as n, "
            f"from ({stored})", params=_since_bound(con, stored))
    if con.sql("select count(*) from old_actions").fetchall()[0][0] == 0:
        con.sql(f"create or replace temp table added_actions as {keyed}")
        con.sql("create or replace temp table gone_actions as select row_id, "
                f"{ACTION}, from old_actions")
    else:
        con.sql(f"create or replace temp table fresh_actions as select *, "
                f"row_number() over (partition by {ACTION}) as n, from ({keyed})")
        same = " and ".join(f"o.{c} is not distinct from f.{c}" for c in [*ACTION.split(", "), "n"])
        con.sql(f"create or replace temp table gone_actions as select o.* exclude (n), from old_actions as o "
                f"anti join fresh_actions as f on {same}")
        con.sql(f"create or replace temp table added_actions as select f.* exclude (n), from fresh_actions as f "
                f"anti join old_actions as o on {same}")
        con.sql("drop table fresh_actions")
    con.sql("delete from actions where rowid in (select row_id from gone_actions)")
    con.sql(f"insert into actions select {ACTION}, from added_actions order by occurred_at")
    con.sql("""
        create or replace temp table action_delta as
        select day, branch_no, sum(sign * (not is_return)::integer) as renewals,
            sum(sign * is_return::integer) as returns,
        from (
            select day, branch_no, is_return, -1 as sign, from gone_actions
            union all
            select day, branch_no, is_return, 1, from added_actions
        )
        group by all
    """)
    lo, hi = con.sql("select min(day), max(day) from action_delta").fetchall()[0]  # none: nothing changed
    # the days' bounds let the scans of actions_day (stored in day order) skip what the changed days are not in
    on = "d.day = x.day and d.branch_no is not distinct from x.branch_no and d.day >= $lo and d.day <= $hi"
    con.sql(f"""
        create or replace temp table action_sums as
        select day, branch_no, sum(renewals)::bigint as renewals, sum(returns)::bigint as returns,
        from (
            select d.*, from actions_day as d semi join action_delta as x on {on}
            union all
            select *, from action_delta
        )
        group by all
    """, params={"lo": lo, "hi": hi})
    con.sql(f"delete from actions_day as d using action_delta as x where {on}", params={"lo": lo, "hi": hi})
    con.sql("insert into actions_day select *, from action_sums where renewals <> 0 or returns <> 0 order by day")
    con.sql("drop table new_actions; drop table old_actions; drop table gone_actions; drop table added_actions; "
            "drop table action_delta; drop table action_sums; drop table action_since")


# The rows of a copy that its events from a moment on can change: the chains not ended before it, the hand-overs
# from it on. Whatever lies before a copy's earliest new event stays as it was: its chains, their numbers and their
# hand-overs depend only on the events before them.
_CHANGEABLE = {"chains": "r.ended_at is null or r.ended_at >= s.since", "chain_transfers": "r.occurred_at >= s.since"}


def _store_changed(con: duckdb.DuckDBPyConnection, table: str, new: str, import_id: int | None) -> tuple[str, str]:
    """Make the touched copies' rows of `table` those of temp table `new`, deleting and adding only the rows that
    changed (compared whole; no two rows of a copy are alike). New events mostly touch a copy's last chain, so a
    small import writes a few rows, not every chain of a busy copy (more than a row group of new rows is written by
    DuckDB straight into the file, which then is published by copying it whole). After an import that only added
    events (import_id), only the rows from each copy's earliest new event on are compared.

    Returns the rows deleted and the rows added, as two relations for the caller to read before `new` and temp table
    `since` are dropped: temp tables `changed_gone` and `changed_added` (the caller drops them), or, when there was
    nothing to compare with (new copies), nothing and the rows of `new` that were added."""
    columns = [r[0] for r in con.sql(f"describe {table}").fetchall()]
    same = " and ".join(f"o.{c} is not distinct from n.{c}" for c in columns)
    rows = "semi join touched_nos using (item_no)"
    if import_id is not None:
        rows = f"inner join since as s using (item_no) where {_CHANGEABLE[table]}"
    con.sql(f"create or replace temp table old_rows as select r.rowid as row_id, r.*, from {table} as r {rows}")
    if con.sql("select count(*) from old_rows").fetchall()[0][0] == 0:  # nothing to compare with (new copies)
        con.sql(f"insert into {table} select r.*, from {new} as r {rows}")
        con.sql("drop table old_rows")
        return f"(select * from {table} limit 0)", f"(select r.*, from {new} as r {rows})"
    con.sql(f"create or replace temp table new_rows as select r.*, from {new} as r {rows}")
    con.sql("create or replace temp table changed_gone as "
            f"select o.*, from old_rows as o anti join new_rows as n on {same}")
    con.sql("create or replace temp table changed_added as "
            f"select n.*, from new_rows as n anti join old_rows as o on {same}")
    con.sql(f"delete from {table} where rowid in (select row_id from changed_gone)")
    con.sql(f"insert into {table} select * from changed_added")
    con.sql("drop table new_rows; drop table old_rows")
    return "changed_gone", "changed_added"


def clear(con: duckdb.DuckDBPyConnection) -> None:
    """Empty every derived table (the integer keys stay), before a rebuild of everything."""
    for table in DERIVED:
        con.sql(f"delete from {table}")


def refresh_attributes(con: duckdb.DuckDBPyConnection, kind: str = "items") -> None:
    """The loans per attribute of the copies (home branch, class, owner) or of the readers (type, birth year)
    after those attributes changed (an import of items or readers)."""
    _attrs(con, kind)
    for table, sql in _ATTRIBUTE_MONTH[kind]:
        con.sql(f"delete from {table}")
        con.sql(f"insert into {table} {sql.format(where='true')}")
    if kind == "items":
        for months, (total, keys) in _TOTALS.items():
            con.sql(f"delete from {total}")
            con.sql(f"insert into {total} {_TOTAL.format(keys=keys, table=months, sign='', where='true')}")
        _lending_list(con)
        _copy_attributes(con)
        _titles(con)
        _copies_unknown(con)


def refresh_branches(con: duckdb.DuckDBPyConnection) -> None:
    """What names the branches, after an import of branches (its undo rebuilds everything)."""
    _lending_list(con)


def _lending_list(con: duckdb.DuckDBPyConnection, delta: str | None = None) -> None:
    """lending_owning_list: the pairs whose sums `delta` (branch_no, home_branch_id, checkouts, transfers) changed,
    as loans_lending_total holds them now (gone when it holds them no more), or (None) every pair anew."""
    if delta is None:
        con.sql("delete from lending_owning_list")
        con.sql(_LENDING_LIST.format(where="true"))
        return
    con.sql(f"create or replace temp table list_keys as select d.branch_no, k.branch_id, d.home_branch_id, "
            f"from {delta} as d left join branch_keys as k using (branch_no) "
            f"group by all having sum(d.checkouts) <> 0 or sum(d.transfers) <> 0")  # the pairs whose sums changed
    con.sql("delete from lending_owning_list as l using list_keys as d "
            "where l.lending_branch_id is not distinct from d.branch_id "
            "and l.owning_branch_id is not distinct from d.home_branch_id")
    con.sql(_LENDING_LIST.format(where="exists (select 1 from list_keys as d where d.branch_no is not distinct from "
                                       "t.branch_no and d.home_branch_id is not distinct from t.home_branch_id)"))
    con.sql("drop table list_keys")


def _import_branches(con: duckdb.DuckDBPyConnection, import_id: int | None = None) -> None:
    """The branches named by the events of this import and how many events name each; None: of every import anew."""
    where = "true"
    if import_id is None:
        con.sql("delete from import_branches")
    else:
        where = f"import_id = {int(import_id)}"
    con.sql(f"insert into import_branches select import_id, branch_id, count(*), from event_rows where {where} "
            "group by all")


def _copies_unknown(con: duckdb.DuckDBPyConnection, touched: str | None = None) -> None:
    """The copies with events that are not in the items file (item_titles holds every copy in it, by number): those
    of temp table `touched` (item_no, item_id, all with events) added, or (None) all anew."""
    source = "(select * from item_keys semi join (select distinct item_no, from event_rows) using (item_no))"
    if touched is None:
        con.sql("delete from copies_unknown")
    else:
        source = f"(select item_no, item_id, from {touched} anti join copies_unknown using (item_no))"
    con.sql(f"insert into copies_unknown select k.item_no, k.item_id, from {source} as k "
            "anti join item_titles using (item_no)")


def _titles(con: duckdb.DuckDBPyConnection) -> None:
    """The titles of the items file numbered anew, every copy in it (numbered by _attrs) given its title (item_titles),
    and the loans per month of a title and home branch from all the loans."""
    for table in ("title_copies", "item_titles", "loans_title_month", "loans_title_month_top", "title_loans"):
        con.sql(f"delete from {table}")
    con.sql("""
        create or replace temp table copy_titles as
        select item_id, title, coalesce(author, '') as author, home_branch_id, clc_class,
            dense_rank() over (order by title, coalesce(author, ''))::integer as title_no,
        from items
    """)
    con.sql("""
        insert into title_copies
        select title_no, title, author, home_branch_id, count(*), min(clc_class),
        from copy_titles
        group by all
        order by title_no
    """)
    con.sql("""
        insert into item_titles
        select k.item_no, c.title_no, c.home_branch_id,
        from copy_titles as c
        inner join item_keys as k using (item_id)
        order by k.item_no
    """)
    con.sql("drop table copy_titles")
    con.sql("""
        insert into loans_title_month
        select date_trunc('month', l.day)::date as month, t.home_branch_id, t.title_no, count(*),
        from loans as l
        inner join item_titles as t using (item_no)
        group by all
        order by t.home_branch_id, month, t.title_no
    """)
    con.sql("insert into title_loans select title_no, sum(loans), from loans_title_month group by all "
            "order by title_no")
    _top_now(con)
    con.sql("insert into loans_title_month_top select m.*, from loans_title_month as m "
            "semi join top_now using (title_no) order by m.month")
    con.sql("drop table top_now")


def _top_now(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table top_now: the titles most borrowed over all the data, whose month rows loans_title_month_top holds."""
    con.sql(f"create or replace temp table top_now as "
            f"select title_no, from title_loans order by loans desc, title_no limit {int(TOP_TITLES)}")


def _title_loans(con: duckdb.DuckDBPyConnection) -> None:
    """Add the loans just added (temp table `added`) to the loans per title, take away those deleted (`gone`), and
    keep loans_title_month_top the month rows of the titles now most borrowed."""
    con.sql("""
        create or replace temp table title_delta as
        select date_trunc('month', d.day)::date as month, t.home_branch_id, t.title_no, sum(d.n)::bigint as loans,
        from (select day, item_no, 1 as n, from added union all select day, item_no, -1, from gone) as d
        inner join item_titles as t using (item_no)
        group by all
        having sum(d.n) <> 0
    """)
    keys = ["month", "home_branch_id", "title_no"]
    _add(con, "loans_title_month", keys, "title_delta")
    _add(con, "title_loans", ["title_no"], "(select title_no, sum(loans) as loans, from title_delta group by all)")
    con.sql("create or replace temp table top_was as select distinct title_no, from loans_title_month_top")
    _top_now(con)
    _add(con, "loans_title_month_top", keys,  # the titles that stay among the most borrowed
         "(select d.*, from title_delta as d semi join top_now using (title_no) semi join top_was using (title_no))")
    con.sql("delete from loans_title_month_top where title_no not in (select title_no from top_now)")
    con.sql("create or replace temp table top_new as select title_no, from top_now anti join top_was using (title_no)")
    if con.sql("select count(*) from top_new").fetchall()[0][0]:
        con.sql("insert into loans_title_month_top "
                "select m.*, from loans_title_month as m semi join top_new using (title_no) order by m.month")
    con.sql("drop table title_delta; drop table top_was; drop table top_now; drop table top_new")


def _add(con: duckdb.DuckDBPyConnection, table: str, keys: list[str], delta: str,
         measures: Iterable[str] = ("loans",)) -> None:
    """Add the `measures` of `delta` (columns: keys, measures; a key may repeat) to the rows of `table` with the same
    keys; no row of all zeros."""
    cols, sums = ", ".join(keys), ", ".join(measures)
    same = " and ".join(f"t.{k} is not distinct from d.{k}" for k in keys)
    con.sql(f"create or replace temp table add_delta as select {cols}, {sums}, from {delta}")
    con.sql(f"""
        create or replace temp table add_merged as
        select {cols}, {", ".join(f"sum({m})::bigint as {m}" for m in measures)},
        from (
            select t.{cols.replace(", ", ", t.")}, t.{sums.replace(", ", ", t.")},
            from {table} as t semi join add_delta as d on {same}
            union all
            select {cols}, {sums}, from add_delta
        )
        group by all
    """)
    con.sql(f"delete from {table} as t using add_delta as d where {same}")
    con.sql(f"insert into {table} select {cols}, {sums}, from add_merged "
            f"where {' or '.join(f'{m} <> 0' for m in measures)}")
    con.sql("drop table add_delta; drop table add_merged")


_ATTRS = {  # kind: (table, its key, key table, number, the attributes kept)
    "items": ("item_attrs", "item_id", "item_keys", "item_no",
              "home_branch_id, owner, added_on, clc_class, title, call_number"),
    "readers": ("reader_attrs", "reader", "reader_keys", "reader_no", "registered_on, home_branch_id, birth_year, "
                "reader_type"),
}


def _attrs(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    """The items or readers file keyed by number: every row numbered (item_keys, reader_keys), then
    item_attrs or reader_attrs anew."""
    table, key, keys, no, columns = _ATTRS[kind]
    con.sql(_NEW_KEYS.format(table=keys, no=no, id=key, source=kind))
    con.sql(f"delete from {table}")
    con.sql(f"insert into {table} select k.{no}, {columns}, from {kind} inner join {keys} as k using ({key}) "
            f"order by k.{no}")


_HOME_MONTH = """
select
    date_trunc('month', l.day)::date as month,
    i.home_branch_id,
    i.clc_class,
    i.owner,
    count(*) filter (where not l.is_transfer) as checkouts,
    count(*) filter (where l.is_transfer) as transfers,
from loans as l
inner join item_attrs as i using (item_no)
where {where}
group by all
"""

_READER_MONTH = """
select
    date_trunc('month', l.day)::date as month,
    grouping(l.branch_no) = 1,
    l.branch_no,
    r.reader_type,
    r.birth_year,
    count(*) as loans,
from loans as l
left join reader_attrs as r using (reader_no)
where {where}
group by grouping sets ((month, l.branch_no, r.reader_type, r.birth_year), (month, r.reader_type, r.birth_year))
"""

_LENDING_MONTH = """
select
    date_trunc('month', l.day)::date as month,
    l.branch_no,
    i.home_branch_id,
    count(*) filter (where not l.is_transfer) as checkouts,
    count(*) filter (where l.is_transfer) as transfers,
from loans as l
inner join item_attrs as i using (item_no)
where {where}
group by all
"""
# Month rollups kept summed over all months too (a period that holds every loan reads those): month table: (the
# total's table, its keys). And the sums per keys of the rows of a month table that `where` keeps, times `sign`.
_TOTALS = {"loans_lending_month": ("loans_lending_total", "branch_no, home_branch_id"),
           "loans_home_month": ("loans_home_total", "home_branch_id, clc_class, owner")}
_TOTAL = """
select {keys}, {sign}sum(checkouts)::bigint as checkouts, {sign}sum(transfers)::bigint as transfers,
from {table}
where {where}
group by all
"""
# The pairs of loans_lending_total as the download lists them, named (the pairs `where` keeps).
_LENDING_LIST = """
insert into lending_owning_list
select k.branch_id, lb.name, t.home_branch_id, ob.name, t.checkouts, t.transfers, t.checkouts + t.transfers,
from loans_lending_total as t
left join branch_keys as k using (branch_no)
left join branches as lb on lb.branch_id = k.branch_id
left join branches as ob on ob.branch_id = t.home_branch_id
where {where}
order by t.checkouts + t.transfers desc, k.branch_id nulls last, t.home_branch_id nulls last
"""
_ATTRIBUTE_MONTH = {"items": [("loans_home_month", _HOME_MONTH), ("loans_lending_month", _LENDING_MONTH)],
                    "readers": [("loans_reader_month", _READER_MONTH)]}


# A copy's bits per 120-month block from its loans in {loans}.
_ITEM_BITS = """
select l.item_no, month_no(l.day) // 120 as block, bit_or(1::hugeint << (month_no(l.day) % 120)) as months,
from {loans} as l
group by all
"""


def _items(con: duckdb.DuckDBPyConnection) -> None:
    """The copies' activity bitmaps. When no loan went (temp table `gone` empty: new loans only add months), the
    stored rows of the blocks with loans added are or-ed with theirs; otherwise from all the copies' loans."""
    if con.sql("select count(*) from gone").fetchall()[0][0] == 0:
        con.sql(f"""
            create or replace temp table item_bits as
            with added_bits as ({_ITEM_BITS.format(loans="added")})
            select item_no, block, bit_or(months) as months,
            from (select m.*, from item_months as m semi join added_bits using (item_no, block)
                  union all select *, from added_bits)
            group by all
        """)
        con.sql("delete from item_months as m using item_bits as b where m.item_no = b.item_no and m.block = b.block")
        con.sql("insert into item_months select *, from item_bits; drop table item_bits")
        return
    con.sql("delete from item_months where item_no in (select item_no from touched_nos)")
    loans = "(select *, from loans semi join touched_nos using (item_no))"
    con.sql(f"insert into item_months {_ITEM_BITS.format(loans=loans)}")


# The rollup's keys and measures of one chain (ended chains only: the month is that of its end).
_CHAIN_MONTH = """
select
    date_trunc('month', ended_at)::date as month, start_branch_id, status, partial, holders,
    {sign} * count(*) as chains,
    {sign} * count(*) filter (where start_branch_id <> end_branch_id) as crossed,
    {sign} * sum(datediff('microsecond', started_at, ended_at)::hugeint) as duration_us,
from {table}
where ended_at is not null
group by all
"""
_CHAIN_KEYS = ("month", "start_branch_id", "status", "partial", "holders")


def _chains_month(con: duckdb.DuckDBPyConnection, gone: str, added: str) -> None:
    """Add the chains just added to chains_month and take away those just deleted (relations `added` and `gone`, from
    _store_changed): only the rows of their months and kinds are rewritten."""
    con.sql(f"""
        create or replace temp table chain_delta as
        select {", ".join(_CHAIN_KEYS)}, sum(chains) as chains, sum(crossed) as crossed,
            sum(duration_us) as duration_us,
        from ({_CHAIN_MONTH.format(sign=1, table=added)}
              union all {_CHAIN_MONTH.format(sign=-1, table=gone)})
        group by all
    """)
    same = " and ".join(f"m.{k} is not distinct from d.{k}" for k in _CHAIN_KEYS)
    con.sql(f"""
        create or replace temp table chain_merged as
        select {", ".join(_CHAIN_KEYS)}, sum(chains) as chains, sum(crossed) as crossed,
            sum(duration_us) as duration_us,
        from (
            select m.*, from chains_month as m semi join chain_delta as d on {same}
            union all
            select *, from chain_delta
        )
        group by all
    """)
    con.sql(f"delete from chains_month as m using chain_delta as d where {same}")
    con.sql("insert into chains_month select *, from chain_merged where chains <> 0 order by month")
    con.sql("drop table chain_delta; drop table chain_merged")


def _chains_long(con: duckdb.DuckDBPyConnection, gone: str, added: str) -> None:
    """Take the long chains just deleted out of chains_long and add those just added (relations from _store_changed;
    a chain whose row changed is in both)."""
    con.sql(f"""
        delete from chains_long as l
        using (select item_id, chain_no, from {gone} where holders >= long_chain_holders()) as g
        where l.item_id = g.item_id and l.chain_no = g.chain_no
    """)
    columns = ", ".join(r[0] for r in con.sql("describe chains_long").fetchall())
    con.sql(f"insert into chains_long select {columns}, from {added} where holders >= long_chain_holders()")


def _copy_state(con: duckdb.DuckDBPyConnection, import_id: int | None) -> None:
    """The touched copies' state: last chain, latest due date set, latest loan (and their attributes). After an
    import that only added events (import_id), the latest due date is the later of the stored one and the import's."""
    due_events = ("select e.item_no, e.due_at, e.occurred_at, from event_rows as e "
                  "semi join touched_nos using (item_no) "
                  "where e.action in ('checkout', 'transfer', 'renew') and e.due_at is not null")
    if import_id is not None:
        due_events = f"""
            select e.item_no, e.due_at, e.occurred_at,
            from event_rows as e
            where e.import_id = {int(import_id)} and e.action in ('checkout', 'transfer', 'renew')
              and e.due_at is not null
            union all
            select s.item_no, s.due_at, s.due_set_at, from copy_state as s semi join touched_nos using (item_no)
            where s.due_set_at is not null
        """
    con.sql(f"create or replace temp table touched_due as select t.item_id, arg_max(d.due_at, d.occurred_at) "
            f"as due_at, max(d.occurred_at) as due_set_at, from ({due_events}) as d "
            f"inner join touched_nos as t using (item_no) group by t.item_id")
    # The latest loan: an import that only added events only adds loans (temp table `added`; a loan's moment never
    # changes), so the later of the stored one and those.
    lent = "select l.item_no, l.occurred_at, from loans as l semi join touched_nos using (item_no)"
    if import_id is not None:
        lent = """
            select t.item_no, s.last_loan_at as occurred_at,
            from copy_state as s inner join touched_nos as t using (item_id)
            union all
            select item_no, occurred_at, from added
        """
    con.sql(f"create or replace temp table touched_lent as select item_no, max(occurred_at) as last_loan_at, "
            f"from ({lent}) group by item_no")
    con.sql("delete from copy_state where item_id in (select item_id from touched)")
    con.sql("""
        insert into copy_state
        with last_chain as (  -- from the touched copies' chains just rebuilt (chains.sql)
            select c.item_id, arg_max({
                'chain_no': c.chain_no, 'started_at': c.started_at,
                'ended_at': coalesce(c.returned_at, c.next_started_at), 'start_branch_id': c.start_branch_id,
                'end_branch_id': c.end_branch_id, 'first_transfer_at': c.first_transfer_at, 'partial': c.partial,
                'transfers': c.transfers, 'last_event_at': c.last_event_at,
                'holder_no': case when c.returned_at is null then c.holder_no end}, c.chain_no) as c,
            from chain_list as c
            group by c.item_id
        )
        select
            t.item_id, c.c.chain_no, c.c.started_at, c.c.ended_at, c.c.start_branch_id, c.c.end_branch_id,
            c.c.first_transfer_at, d.due_at, d.due_set_at, l.last_loan_at,
            i.item_no is not null, i.home_branch_id, i.owner, i.added_on, n.item_no, c.c.partial, c.c.transfers,
            c.c.last_event_at, c.c.holder_no,
        from touched as t
        left join touched_nos as n using (item_id)
        left join last_chain as c using (item_id)
        left join touched_due as d using (item_id)
        left join touched_lent as l on l.item_no = n.item_no and l.last_loan_at is not null
        left join item_attrs as i on i.item_no = n.item_no  -- the items file by number
        where i.item_no is not null or c.item_id is not null or d.item_id is not null or l.item_no is not null
    """)
    _weeding_delta(con, "select n.item_id, from touched_nos as n anti join touched_lent as l "
                        "on l.item_no = n.item_no and l.last_loan_at is not null")
    _moves_delta(con)
    con.sql("drop table touched_due; drop table touched_lent")


# The weeding list's rows (table weeding_list) as copy_state and the items file hold them now; {only}: of some copies.
_WEEDING = """
insert into weeding_list
select s.item_id, i.title, i.author, i.call_number, i.clc_class, s.home_branch_id, s.added_on,
from copy_state as s
inner join items as i using (item_id)
where s.in_items and s.owner = 'library' and s.last_loan_at is null {only}
order by s.added_on nulls first, s.item_id
"""


def _weeding_list(con: duckdb.DuckDBPyConnection) -> None:
    """The weeding list anew."""
    con.sql("delete from weeding_list")
    con.sql(_WEEDING.format(only=""))


def _weeding_delta(con: duckdb.DuckDBPyConnection, unlent: str) -> None:
    """The weeding list's rows of the touched copies as they stand now; those of them never lent are among the query
    `unlent` (item_id). An import of new events only lends copies: the items file is read only when some touched copy
    is unlent."""
    con.sql("delete from weeding_list where item_id in (select item_id from touched)")
    con.sql(f"create or replace temp table unlent as {unlent}")
    if con.sql("select count(*) from unlent").fetchall()[0][0]:
        con.sql(_WEEDING.format(only="and s.item_id in (select item_id from unlent)"))
    con.sql("drop table unlent")


# The move list's rows (table moves_list) as copy_state and the items file hold them now; {only}: of some copies.
_MOVES = """
insert into moves_list
select s.item_id, i.title, i.call_number, s.end_branch_id, s.home_branch_id, s.ended_at::date, s.added_on,
from copy_state as s
inner join item_attrs as i using (item_no)  -- the items file by number
where s.in_items and s.ended_at is not null and s.end_branch_id <> s.home_branch_id {only}
order by s.end_branch_id, s.home_branch_id, s.ended_at::date, s.item_id  -- a list mostly in order sorts faster
"""


def _moves_list(con: duckdb.DuckDBPyConnection) -> None:
    """The move list anew."""
    con.sql("delete from moves_list")
    con.sql(_MOVES.format(only=""))


def _moves_delta(con: duckdb.DuckDBPyConnection) -> None:
    """The move list's rows of the touched copies as they stand now (a copy in it has a number: touched_nos)."""
    con.sql("delete from moves_list where item_id in (select item_id from touched)")
    con.sql(_MOVES.format(only="and s.item_no in (select item_no from touched_nos)"))


def _copy_attributes(con: duckdb.DuckDBPyConnection) -> None:
    """Every copy's row in copy_state with its attributes as they are now in the items file."""
    con.sql("""
        create or replace temp table kept as
        select * exclude (in_items, home_branch_id, owner, added_on),
        from copy_state
        where chain_no is not null or due_set_at is not null or last_loan_at is not null
    """)
    con.sql("delete from copy_state")
    con.sql("""
        insert into copy_state by name
        select k.* exclude (item_id, item_no), coalesce(k.item_id, i.item_id) as item_id,
            coalesce(k.item_no, n.item_no) as item_no, i.item_id is not null as in_items, i.home_branch_id, i.owner,
            i.added_on,
        from kept as k
        full join items as i using (item_id)
        left join item_keys as n on n.item_id = i.item_id
        order by item_id
    """)
    con.sql("drop table kept")
    _weeding_list(con)
    _moves_list(con)


def _reader_firsts(con: duckdb.DuckDBPyConnection) -> None:
    """The first loan and the next day with a loan of the readers whose loans were deleted or added."""
    con.sql("delete from reader_firsts where reader_no in (select reader_no from touched_readers)")
    con.sql("""
        insert into reader_firsts
        with lent as (
            select l.reader_no, l.day, l.occurred_at, l.is_transfer, l.branch_no,
            from loans as l semi join touched_readers using (reader_no)
        ),
        firsts as (
            select reader_no, min(occurred_at) as first_at,
                arg_min({ 'branch_no': branch_no }, (occurred_at, is_transfer)).branch_no as branch_no,
            from lent
            group by reader_no
        )
        select f.reader_no, f.first_at, f.branch_no, min(l.day) filter (where l.day > f.first_at::date),
        from firsts as f
        inner join lent as l using (reader_no)
        group by all
    """)


def _months(con: duckdb.DuckDBPyConnection, bounds: dict[str, date]) -> None:
    """Recompute the rollups of the months in temp table `months(month_no)` from their loans."""
    in_months = "month_no({col}) in (select month_no from months)"
    con.sql(f"delete from loans_day where {in_months.format(col='day')}")
    con.sql(f"""
        insert into loans_day
        select l.day, l.branch_no, count(*) filter (where not l.is_transfer), count(*) filter (where l.is_transfer),
        from loans as l
        where {_MONTHS}
        group by all
        order by l.day
    """, params=bounds)
    con.sql(f"delete from loans_month where {in_months.format(col='month')}")
    con.sql(f"""
        insert into loans_month
        select
            date_trunc('month', l.day)::date as month,
            grouping(l.branch_no) = 1,
            l.branch_no,
            count(*) filter (where not l.is_transfer),
            count(*) filter (where l.is_transfer),
            count(distinct l.reader_no),
        from loans as l
        where {_MONTHS}
        group by grouping sets ((month, l.branch_no), (month))
    """, params=bounds)
    con.sql(f"delete from loans_hour_month where {in_months.format(col='month')}")
    con.sql(f"""
        insert into loans_hour_month
        select date_trunc('month', l.day)::date as month, isodow(l.occurred_at), hour(l.occurred_at),
            count(*) filter (where not l.is_transfer), count(*) filter (where l.is_transfer),
        from loans as l
        where {_MONTHS}
        group by all
    """, params=bounds)
    months = in_months.format(col="month")
    for table, (total, keys) in _TOTALS.items():  # the months as they were, taken off the totals below
        con.sql(f"create or replace temp table {total}_delta as "
                f"{_TOTAL.format(keys=keys, table=table, sign='-', where=months)}")
    for table, sql in [*_ATTRIBUTE_MONTH["items"], *_ATTRIBUTE_MONTH["readers"]]:
        con.sql(f"delete from {table} where {months}")
        con.sql(f"insert into {table} {sql.format(where=_MONTHS)}", params=bounds)
    for table, (total, keys) in _TOTALS.items():  # and the months as they are now, added
        con.sql(f"insert into {total}_delta {_TOTAL.format(keys=keys, table=table, sign='', where=months)}")
        _add(con, total, keys.split(", "), f"{total}_delta", ["checkouts", "transfers"])
        if total == "loans_lending_total":
            _lending_list(con, f"{total}_delta")
        con.sql(f"drop table {total}_delta")
    con.sql("""
        create or replace temp table month_masks as
        select month_no // 120 as block, bit_or(1::hugeint << (month_no % 120)) as mask, from months group by all
    """)
    _bitmap(con, "reader_months", ["reader_no"], "l.reader_no", bounds)
    _bitmap(con, "reader_branch_months", ["branch_no", "reader_no"],
            "coalesce(l.branch_no, 0) as branch_no, l.reader_no", bounds)
    con.sql("drop table month_masks")


def _bitmap(con: duckdb.DuckDBPyConnection, table: str, keys: list[str], key_exprs: str,
            bounds: dict[str, date]) -> None:
    """Rewrite the rows of an activity bitmap whose bits in the recomputed months change: their bits outside
    those months as stored, inside them from the loans."""
    on = " and ".join(f"t.{k} = h.{k}" for k in keys + ["block"])
    cols = ", ".join(keys)
    con.sql(f"""
        create or replace temp table bits as
        select {key_exprs}, month_no(l.day) // 120 as block, bit_or(1::hugeint << (month_no(l.day) % 120)) as months,
        from loans as l
        where {_MONTHS}
        group by all
    """, params=bounds)
    con.sql(f"""
        create or replace temp table hit as
        select {cols}, block, from bits
        union
        select t.{', t.'.join(keys)}, t.block, from {table} as t inner join month_masks as m using (block)
        where t.months & m.mask <> 0
    """)
    con.sql(f"""
        create or replace temp table merged as
        select {cols}, block, bit_or(months) as months,
        from (
            select t.{', t.'.join(keys)}, t.block, t.months & ~coalesce(m.mask, 0::hugeint) as months,
            from {table} as t
            semi join hit as h using ({cols}, block)
            left join month_masks as m using (block)
            union all
            select * from bits
        )
        group by {cols}, block
    """)
    con.sql(f"delete from {table} as t using hit as h where {on}")
    con.sql(f"insert into {table} select * from merged where months <> 0 order by {cols}")
    con.sql("drop table bits; drop table hit; drop table merged")


def _month_start(month_no: int) -> date:
    return date(month_no // 12, month_no % 12 + 1, 1)


def refresh_items(con: duckdb.DuckDBPyConnection, item_ids: Iterable[str] | None = None) -> None:
    """Rebuild what is derived from the events (drift chains, loans, rollups) for these copies, None for every copy.

    Call it in the writer's transaction after events were added or deleted (an undone import: the copies of its
    events); the derived rows of the copies are then those of a database that only ever had the events left."""
    if item_ids is None:  # everything anew (the copies' and readers' attributes too)
        clear(con)
        _attrs(con, "items")
        _attrs(con, "readers")
        _touched(con, "true")
    else:
        frame = pl.DataFrame({"item_id": list(item_ids)}, schema={"item_id": pl.String})
        con.register("touched_frame", frame)
        con.sql("create or replace temp table touched as select distinct item_id from touched_frame")
        con.unregister("touched_frame")
    _refresh(con)
    if item_ids is None:  # the copies without events too
        _copy_attributes(con)
        _titles(con)
    _copies_unknown(con)
    _import_branches(con)
