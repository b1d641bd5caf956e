"""The long lists answer a page (the best rows kept as the list is read, never the whole list sorted) and their total
from one macro each, shared with their download (`<name>_full`): page, total and download equal the lists as they
were written before, straight from the chains, copies and events (the oracle below), for every order, page and
filter, for days cut anywhere (a month's first or last day, a leap day, one day, the whole range, beyond the data).
On a generated city of 1,000 branches."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from polars.testing import assert_frame_equal

from microbranch import queries, storage
from tests.scale import city

DAYS = [None, date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 1), date(2023, 6, 1), date(2030, 1, 1)]

# The oracle: each list as its query wrote it before, whole, counted with a window and sorted whole.
CHAINS = """
select
    item_id, chain_no, started_at, ended_at, start_branch_id, end_branch_id, transfers, holders, status, partial,
    first_transfer_at, last_event_at,
from chains
where ($date_from::date is null or coalesce(ended_at, last_event_at) >= $date_from::date)
  and ($date_to::date is null or started_at < $date_to::date + interval 1 day)
  and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
       or list_contains($branch_ids::varchar[], end_branch_id))
"""
CHAINS_ORDER = """
    case when $sort::varchar = 'holders' then holders end desc nulls last,
    case when $sort::varchar = 'transfers' then transfers end desc nulls last,
    case when $sort::varchar = 'latest' then started_at end desc nulls last,
    item_id, chain_no"""
DEAD_STOCK = """
select
    d.item_id, i.title, i.call_number, i.clc_class, d.home_branch_id, h.name as home_branch,
    d.branch_id as shelf_branch_id, s.name as shelf_branch, i.added_on, d.last_loan_at::date as last_loan_on,
from dead_stock($date_to, $months) as d
inner join items as i using (item_id)
left join branches as h on h.branch_id = d.home_branch_id
left join branches as s on s.branch_id = d.branch_id
where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], d.home_branch_id)
"""
DEAD_STOCK_ORDER = """
    case when $sort::varchar = 'branch' then home_branch_id end,
    case when $sort::varchar = 'call_number' then call_number end,
    last_loan_on nulls first, added_on nulls first, item_id"""
NEVER_BORROWED = """
with p as (
    select coalesce($date_to::date, max(occurred_at)::date) as date_to, from events
)
select
    i.item_id, i.title, i.author, i.call_number, i.clc_class, i.home_branch_id, b.name as home_branch, i.added_on,
    datediff('day', i.added_on, p.date_to) as days_in_stock,
from items as i
cross join p
left join branches as b on b.branch_id = i.home_branch_id
where i.owner = 'library'
  and (i.added_on is null or i.added_on <= p.date_to)
  and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], i.home_branch_id))
  and i.item_id not in (  -- its loans: checkouts, and hand-overs (transfers) in its chains
      select e.item_id, from events as e where e.action = 'checkout' and e.occurred_at < p.date_to + interval 1 day
      union all
      select t.item_id, from chain_transfers as t where t.occurred_at < p.date_to + interval 1 day
  )
"""
NEVER_BORROWED_ORDER = """
    case when $sort::varchar = 'branch' then home_branch_id end,
    case when $sort::varchar = 'call_number' then call_number end,
    added_on nulls first, item_id"""
MOVES = """
select
    m.item_id, i.title, i.call_number, m.from_branch_id, f.name as from_branch, f.address as from_address,
    m.to_branch_id, t.name as to_branch, t.address as to_address, m.on_shelf_since, m.days_there,
from copies_to_move($date_to, $branch_ids) as m
inner join items as i using (item_id)
inner join branches as f on f.branch_id = m.from_branch_id
inner join branches as t on t.branch_id = m.to_branch_id
"""
MOVES_ORDER = """
    case when $sort::varchar = 'longest' then days_there end desc nulls last,
    from_branch_id, to_branch_id, on_shelf_since, item_id"""
ADRIFT = """
with period as (
    select *, from period(null, $date_to)
),
open_then as (  -- few: the chains still open at the end of the day, handed on by then
    select c.*, p.date_to, p.end_ts,
    from chains as c, period as p
    where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts)
      and c.first_transfer_at < p.end_ts
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], c.start_branch_id))
),
later as (  -- those with events after the day (handed on or returned later): their state then, from the transfers
    select
        t.item_id,
        t.chain_no,
        count(*) as transfers,
        max(t.occurred_at) as last_transfer_at,
        arg_max(t.reader, (t.occurred_at, t.event_key)) as holder,
    from chain_transfers as t
    semi join open_then as o on o.item_id = t.item_id and o.chain_no = t.chain_no and o.last_event_at >= o.end_ts
    cross join period as p
    where t.occurred_at < p.end_ts
    group by t.item_id, t.chain_no
),
transfers_then as (  -- the others are as stored: open, the last event a transfer (renewals are not in chains)
    select item_id, chain_no, transfers, last_event_at as last_transfer_at, holder,
    from open_then
    where last_event_at < end_ts
    union all
    select *, from later
)
select
    c.item_id,
    i.title,
    c.chain_no,
    c.start_branch_id,
    b.name as start_branch,
    c.started_at,
    t.last_transfer_at,
    t.transfers + 1 as holders,
    datediff('day', c.started_at::date, c.date_to) as days_out,
    t.holder,
from open_then as c
inner join transfers_then as t using (item_id, chain_no)
left join items as i using (item_id)
left join branches as b on b.branch_id = c.start_branch_id
"""
ADRIFT_ORDER = """
    case when $sort::varchar = 'holders' then holders end desc nulls last, days_out desc, item_id"""

# name -> (the list, its order, its sorts, the filters to try)
LISTS = {
    "chains": (CHAINS, CHAINS_ORDER, [None, "holders", "transfers", "latest"],
               [{"date_from": f, "date_to": t} for f, t in [
                   (None, None), (date(2024, 1, 1), date(2024, 1, 31)), (date(2024, 2, 29), date(2024, 2, 29)),
                   (date(2023, 12, 31), date(2024, 3, 1)), (date(2030, 1, 1), None), (None, date(2020, 1, 1))]]),
    "dead_stock_by_item": (DEAD_STOCK, DEAD_STOCK_ORDER, [None, "branch", "call_number"],
                           [{"date_to": d, "months": m} for d in DAYS for m in (None, 1, 3)]),
    "items_never_borrowed": (NEVER_BORROWED, NEVER_BORROWED_ORDER, [None, "branch", "call_number"],
                             [{"date_to": d} for d in DAYS]),
    "chains_adrift": (ADRIFT, ADRIFT_ORDER, [None, "holders"],  # few copies adrift a day: more days
                      [{"date_to": d} for d in [*DAYS, *(date(y, m, 28) for y in (2022, 2023, 2024) for m in (4, 8))]]),
    "moves_by_item": (MOVES, MOVES_ORDER, [None, "longest"], [{"date_to": d} for d in DAYS]),
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        db = city(tmp_path_factory.mktemp("city"), mp)
        yield storage.reader(db)


def old(con, sql: str, params: dict):
    used = set(queries.PARAM.findall(sql))
    return con.sql(sql, params={k: v for k, v in params.items() if k in used}).pl()


@pytest.mark.parametrize("name", sorted(LISTS))
def test_pages_totals_and_downloads_equal_the_lists_as_they_were(con, name):
    listed, order, sorts, filters = LISTS[name]
    some = queries.run(con, "branch_list")["branch_id"].head(40).to_list()
    wanted = set(queries.params_of(name))
    seen_rows = 0
    for filtered, branch_ids in itertools.product(filters, (None, some)):
        base = {k: None for k in wanted} | filtered | {"branch_ids": branch_ids}
        full_params = {k: v for k, v in base.items() if k in queries.params_of(f"{name}_full")}
        expected_full = old(con, f"select * from ({listed}) order by {order.replace('$sort::varchar', 'null')}",
                            base | {"sort": None, "page_size": None, "skip": None})
        expected_full = expected_full.select(queries.run(con, f"{name}_full", **full_params).columns)
        assert_frame_equal(queries.run(con, f"{name}_full", **full_params), expected_full, check_exact=True)
        seen_rows += expected_full.height
        for sort, (page_size, skip) in itertools.product(sorts, [(None, None), (7, 3), (50, 120), (10, 10**6)]):
            p = base | {"sort": sort, "page_size": page_size, "skip": skip}
            expected = old(con, f"select *, count(*) over () as total, from ({listed}) order by {order} "
                                f"limit coalesce($page_size::integer, 100) offset coalesce($skip::integer, 0)", p)
            assert_frame_equal(queries.run(con, name, **p), expected, check_exact=True)
    assert seen_rows > 1000, f"{name}: too few rows to tell ({seen_rows})"
