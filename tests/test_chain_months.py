"""The drift chains ended per month (chains_month) and the long chains (chains_long), kept by delta from the chains an
import or an undo deletes and adds, equal the chains counted directly; and the chains' cards, chart and longest chains
read from them (chain_kpis, chains_by_holders, chains_longest) give what they gave when they read every chain (the
oracle below, as these queries were written before): for periods cut anywhere (a month's first or last day, a leap
day, one day, the whole range, beyond the data), after imports in any order, after an undo, and equal to a rebuild
from scratch."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from microbranch import queries, storage
from microbranch.derived import refresh_items as refresh_derived
from tests.conftest import delete_import_events, snapshot
from tests.test_rollups import PERIODS
from tests.test_states import prepare

CHAIN_PERIODS = [*PERIODS, (date(2024, 2, 1), date(2024, 2, 29)), (date(2023, 11, 30), date(2023, 12, 1)),
                 (date(2023, 1, 1), date(2030, 12, 31)), (date(2025, 1, 1), date(2025, 3, 31)),
                 (date(2024, 3, 1), None), (None, date(2024, 1, 15))]

DIRECT_MONTHS = """
select
    date_trunc('month', ended_at)::date as month, start_branch_id, status, partial, holders,
    count(*) as chains,
    count(*) filter (where start_branch_id <> end_branch_id) as crossed,
    sum(datediff('microsecond', started_at, ended_at)::hugeint) as duration_us,
from chains
where ended_at is not null
group by all
"""

# The oracle: the queries as they were, from every chain as it stood at the end of the period.
DIRECT_CHAINS_THEN = """
create or replace temp macro direct_chains_then(date_from, date_to) as table
with later as (  -- transfers after the end of date_to, which a chain still open then did not have yet
    select t.item_id, t.chain_no, count(*) as transfers,
    from chain_transfers as t, period(date_from, date_to) as p
    where t.occurred_at >= p.end_ts
    group by t.item_id, t.chain_no
)
-- ended by then: as stored
select c.*, c.status as status_then, c.ended_at as ended_then, c.holders as holders_then, p.date_to,
from chains as c, period(date_from, date_to) as p
where c.ended_at < p.end_ts and c.ended_at >= p.date_from
union all
-- still open then, with the holders it had then
select c.*, 'open', null, c.holders - coalesce(l.transfers, 0), p.date_to,
from chains as c
cross join period(date_from, date_to) as p
left join later as l using (item_id, chain_no)
where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts);
"""

OLD_KPIS = """
with period as (
    select *, from period($date_from, $date_to)
),
scoped as (
    select *,
    from direct_chains_then($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
),
handed_on as (
    select count(*) as transfers,
    from chain_transfers as t, period as p
    where t.occurred_at >= p.date_from and t.occurred_at < p.end_ts
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], t.start_branch_id))
),
kinds as (  -- one pass: the chains counted by their kind, then the numbers from these few rows
    select
        status_then,
        partial,
        holders_then > 1 as handed_on,
        start_branch_id <> end_branch_id as crossed,
        count(*) as chains,
        sum(holders_then) as holders,
        sum(epoch(ended_at - started_at) / 86400.0 / holders_then) as days_per_holder,
    from scoped
    group by all
)
select
    coalesce(sum(chains) filter (where status_then = 'returned'), 0)::bigint as chains_returned,
    coalesce(sum(chains) filter (where status_then = 'open'), 0)::bigint as copies_out,
    coalesce(sum(chains) filter (where status_then = 'open' and handed_on), 0)::bigint as copies_adrift,
    coalesce(sum(chains) filter (where status_then = 'unterminated'), 0)::bigint as chains_unterminated,
    coalesce(sum(chains) filter (where partial), 0)::bigint as chains_partial,
    coalesce(sum(chains) filter (where status_then = 'returned' and crossed), 0)::bigint as cross_branch_returns,
    sum(holders) filter (where status_then = 'returned') / sum(chains) filter (where status_then = 'returned')
        as mean_holders,
    sum(days_per_holder) filter (where status_then = 'returned' and not partial)
        / sum(chains) filter (where status_then = 'returned' and not partial) as days_per_holder,
    (select transfers, from handed_on) as returns_avoided,
from kinds
"""

OLD_BY_HOLDERS = """
with scoped as (
    select *,
    from direct_chains_then($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
)
select
    holders_then as holders,
    count(*) filter (where status_then = 'returned') as returned,
    count(*) filter (where status_then = 'open') as open,
    count(*) filter (where status_then = 'unterminated') as unterminated,
    count(*) as chains,
from scoped
group by holders_then
order by holders
"""


OLD_LONGEST = """
with scoped as (
    select *,
    from direct_chains_then($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], start_branch_id)
),
top as (
    select
        *,
        datediff('day', started_at::date, coalesce(ended_then::date, date_to)) as days,
    from scoped
    order by holders_then desc, days desc, item_id, chain_no
    limit coalesce($top::integer, 20)
)
select
    c.item_id,
    c.chain_no,
    i.title,
    c.status_then as status,
    c.partial,
    c.holders_then as holders,
    c.started_at,
    c.ended_then as ended_at,
    c.days,
    s.name as start_branch,
    e.name as end_branch,
from top as c
left join items as i using (item_id)
left join branches as s on s.branch_id = c.start_branch_id
left join branches as e on e.branch_id = case when c.status_then = 'returned' then c.end_branch_id end
order by holders desc, days desc, c.item_id, c.chain_no
"""


# The long chains kept apart (chains_long), as the chains hold them.
DIRECT_LONG = """
select item_id, chain_no, started_at, ended_at, start_branch_id, end_branch_id, holders, status, partial,
from chains
where holders >= 4
"""


def month_rows(con) -> list[tuple]:
    return sorted(con.sql("select * from chains_month").fetchall(), key=repr)


def long_rows(con) -> list[tuple]:
    return sorted(con.sql("select * from chains_long").fetchall(), key=repr)


def assert_chain_numbers_equal_the_direct_computation(con) -> None:
    con.sql(DIRECT_CHAINS_THEN)
    direct = sorted(con.sql(DIRECT_MONTHS).fetchall(), key=repr)
    assert month_rows(con) == direct and len(direct) > 10
    direct = sorted(con.sql(DIRECT_LONG).fetchall(), key=repr)
    assert long_rows(con) == direct and len(direct) > 5
    seen = 0
    for (date_from, date_to), branch_ids in itertools.product(CHAIN_PERIODS, (None, ["C1", "M1"], ["B1"])):
        p = {"date_from": date_from, "date_to": date_to, "branch_ids": branch_ids}
        got = queries.run(con, "chain_kpis", **p)
        expected = con.sql(OLD_KPIS, params=p).pl()
        assert got.columns == expected.columns and got.dtypes == expected.dtypes, p
        for column in got.columns:
            g, e = got[column][0], expected[column][0]
            if isinstance(e, float):
                assert g == pytest.approx(e, rel=1e-12), (column, p)
            else:
                assert g == e, (column, p)
        seen += expected["chains_returned"][0] + expected["copies_out"][0]
        got = queries.run(con, "chains_by_holders", **p)
        expected = con.sql(OLD_BY_HOLDERS, params=p).pl()
        assert got.dtypes == expected.dtypes, p
        assert got.rows() == expected.rows(), p
        for top in (None, 1, 7, 10**6):
            got = queries.run(con, "chains_longest", **p, top=top)
            expected = con.sql(OLD_LONGEST, params=p | {"top": top}).pl()
            assert got.dtypes == expected.dtypes, p
            assert got.rows() == expected.rows(), (p, top)
    assert seen > 500


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_chain_numbers_after_imports_in_any_order_equal_the_direct_computation(db, tmp_path, order):
    prepare(db, tmp_path, order)
    con = snapshot(db)
    assert_chain_numbers_equal_the_direct_computation(con)
    with storage.writer(db, publish_on_exit=False) as writer:  # a rebuild from scratch changes nothing
        writer.begin()
        refresh_derived(writer)
        assert month_rows(writer) == month_rows(con)
        assert long_rows(writer) == long_rows(con)
        writer.rollback()


def test_chain_numbers_after_an_undo_equal_a_database_that_never_had_the_import(db, tmp_path):
    prepare(db, tmp_path, (0, 1, 2))
    delete_import_events(db, "e1.csv")
    never = tmp_path / "never" / "microbranch.duckdb"
    prepare(never, tmp_path, (0, 2))
    undone = snapshot(db)
    assert month_rows(undone) == month_rows(snapshot(never))
    assert long_rows(undone) == long_rows(snapshot(never))
    assert_chain_numbers_equal_the_direct_computation(undone)
