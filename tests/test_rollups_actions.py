"""The counts of renewals and returns per day and branch (actions_day, from the renewals and returns kept in table
actions), the loans per month of a lending and an owning branch (loans_lending_month) and the copies' activity
bitmaps give circulation_by_period_branch, the lending and owning queries, circulated_by_branch and the year's
transfers and readers of scorecard_by_branch exactly what the direct computation from the events and chains gives
(the oracle below): for periods cut anywhere (the first or last day of a month, one day, a leap day, the whole
range, beyond the data), by month, week and day, for all branches and some; after imports in any order (a later
file adds renewals and returns to copies and days already counted, and moves renewals into other chains), after
an undo, and after an import of items that moves copies to other home branches."""

from __future__ import annotations

import itertools
from datetime import date

import polars as pl
import pytest

from microbranch import queries, storage
from microbranch.derived import refresh_items as refresh_derived
from tests.conftest import BRANCHES, delete_import_events, load, snapshot
from tests.test_rollups import DIRECT, ITEMS, PERIODS
from tests.test_states import prepare, rows

# Ties by hand (docs/metrics.md: checkout, transfer, renew, return): a renewal at the moment of a return belongs to
# the returned chain, one at the moment of a checkout to the chain that checkout starts; a renewal before a copy's
# first loan, or after a return before the next checkout, belongs to no branch; a return at a branch not in the
# branches file.
HEADER = "event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id,channel,due_at"
TIES = "\n".join([HEADER] + [
    "T1,2024-02-29 09:00:00,renew,I1,r1,,C1,counter,2024-03-10",
    "T2,2024-02-29 10:00:00,checkout,I1,r1,,B1,counter,2024-03-14",
    "T3,2024-02-29 10:00:00,renew,I1,r1,,C1,counter,2024-03-20",
    "T4,2024-03-01 10:00:00,return,I1,r1,,M1,counter,",
    "T5,2024-03-01 10:00:00,renew,I1,r1,,C1,counter,2024-03-25",
    "T6,2024-03-02 10:00:00,renew,I1,r1,,C1,counter,2024-03-26",
    "T7,2024-03-31 23:59:59,checkout,I2,r2,,M1,counter,2024-04-14",
    "T8,2024-04-01 00:00:00,transfer,I2,r3,r2,,counter,2024-04-15",
    "T9,2024-04-01 00:00:00,renew,I2,r3,,C1,counter,2024-04-20",
    "T10,2024-04-01 08:00:00,return,I2,r3,,X9,counter,",
]) + "\n"

# The oracle. A renewal's chain starts at the last checkout before it (in the ties' order) unless a return came
# between (then it lies between chains, or in one that started without a checkout): found from the events alone.
RENEWALS = """
with ordered as (
    select
        e.item_id, e.occurred_at, e.action, e.branch_id,
        row_number() over w as pos,
    from events as e
    window w as (partition by e.item_id order by e.occurred_at, case e.action when 'checkout' then 0
        when 'transfer' then 1 when 'renew' then 2 else 3 end, e.event_key)
),
marked as (
    select
        *,
        max(case when action = 'checkout' then pos end) over (partition by item_id order by pos) as last_checkout,
        max(case when action = 'return' then pos end) over (partition by item_id order by pos) as last_return,
    from ordered
)
select r.occurred_at, c.branch_id, r.item_id,
from marked as r
left join marked as c on c.item_id = r.item_id and c.pos = r.last_checkout
    and (r.last_return is null or r.last_return < r.last_checkout)
where r.action = 'renew'
"""

CIRCULATION = DIRECT + f""",
renewed as ({RENEWALS}),
moves as (
    select branch_id, occurred_at, action, from l
    union all
    select r.branch_id, r.occurred_at, 'renew', from renewed as r, span
    where r.occurred_at::date between span.f and span.t
    union all
    select e.branch_id, e.occurred_at, 'return', from events as e, span
    where e.action = 'return' and e.occurred_at::date between span.f and span.t
)
select
    date_trunc(coalesce($unit::varchar, 'month'), occurred_at)::date as period,
    branch_id,
    count(*) filter (where action = 'checkout') as checkouts,
    count(*) filter (where action = 'transfer') as transfers,
    count(*) filter (where action in ('checkout', 'transfer')) as loans,
    count(*) filter (where action = 'renew') as renewals,
    count(*) filter (where action = 'return') as returns,
from moves
where $branch_ids::varchar[] is null or list_contains($branch_ids::varchar[], branch_id)
group by all
"""

LENDING = DIRECT + """
select
    l.branch_id as lending_branch_id,
    i.home_branch_id as owning_branch_id,
    count(*) filter (where l.action = 'checkout') as checkouts,
    count(*) filter (where l.action = 'transfer') as transfers,
    count(*) as loans,
from l
inner join items as i using (item_id)
where $branch_ids::varchar[] is null or list_contains($branch_ids::varchar[], l.branch_id)
    or list_contains($branch_ids::varchar[], i.home_branch_id)
group by all
"""

TOWNS = f"""
select lb.town_code as lending_town_code, ob.town_code as owning_town_code, sum(checkouts) as checkouts,
    sum(transfers) as transfers, sum(loans) as loans,
from ({LENDING}) as x
left join branches as lb on lb.branch_id = x.lending_branch_id
left join branches as ob on ob.branch_id = x.owning_branch_id
group by all
"""

CIRCULATED = DIRECT + """
select i.home_branch_id as branch_id, count(*) as copies, count(distinct l.item_id) as copies_circulated,
from items as i
cross join span
left join (select distinct item_id, from l) as l using (item_id)
where (i.added_on is null or i.added_on <= span.t)
    and ($branch_ids::varchar[] is null or list_contains($branch_ids::varchar[], i.home_branch_id))
group by all
"""

# scorecard_by_branch: the year's transfers and distinct readers of each branch, up to the day (the micro-branches
# open on 1 April 2024).
YEAR_LOANS = """
with span as (
    select date_trunc('year', t)::date as f, t,
    from (select coalesce($date_to::date, (select max(occurred_at)::date from events)) as t)
),
l as (
    select e.branch_id, e.reader, 'checkout' as action, from events as e, span
    where e.action = 'checkout' and e.occurred_at::date between span.f and span.t
    union all
    select c.start_branch_id, c.reader, 'transfer', from chain_transfers as c, span
    where c.occurred_at::date between span.f and span.t
)
select branch_id, count(*) filter (where action = 'transfer') as transfers, count(distinct reader) as readers,
from l
group by all
"""
SCORECARD_DAYS = [None, date(2023, 12, 31), date(2024, 4, 1), date(2024, 4, 5), date(2024, 4, 30), date(2025, 1, 1)]

BRANCH_CHOICES = (None, ["C1", "M1"], ["M2"])


def assert_equal_the_direct_computation(con) -> None:
    for (date_from, date_to), branch_ids in itertools.product(PERIODS, BRANCH_CHOICES):
        p = {"date_from": date_from, "date_to": date_to, "branch_ids": branch_ids}
        for unit in ("month", "week", "day", None):
            got = queries.run(con, "circulation_by_period_branch", **p, unit=unit)
            expected = con.sql(CIRCULATION, params={**p, "unit": unit}).fetchall()
            cols = ["period", "branch_id", "checkouts", "transfers", "loans", "renewals", "returns"]
            assert rows(got.select(cols)) == sorted(expected, key=repr), (p, unit)
            assert got.select("period", "branch_id").rows() == sorted(
                got.select("period", "branch_id").rows(), key=lambda r: (r[0], r[1] is None, r[1] or ""))
        expected = sorted(con.sql(LENDING, params=p).fetchall(), key=repr)
        cols = ["lending_branch_id", "owning_branch_id", "checkouts", "transfers", "loans"]
        full = queries.run(con, "loans_by_lending_owning_full", **p)
        assert rows(full.select(cols)) == expected, p
        page = queries.run(con, "loans_by_lending_owning", **p, page_size=1000)
        assert page.select(cols).rows() == full.select(cols).rows(), p
        assert (page["total"] == len(expected)).all() and (page["total_loans"] == sum(r[4] for r in expected)).all()
        circulated = queries.run(con, "circulated_by_branch", **p).filter(pl.col("copies") > 0)
        assert rows(circulated.select("branch_id", "copies", "copies_circulated")) == sorted(
            con.sql(CIRCULATED, params=p).fetchall(), key=repr), p
        towns = queries.run(con, "loans_by_lending_owning_town", **p)
        assert rows(towns) == sorted(con.sql(TOWNS, params=p).fetchall(), key=repr), p


def assert_scorecard_equals_the_direct_computation(con) -> None:
    shown = 0
    for day in SCORECARD_DAYS:
        got = queries.run(con, "scorecard_by_branch", date_to=day)
        shown += got.filter(pl.col("readers") > 0).height
        direct = {r[0]: r[1:] for r in con.sql(YEAR_LOANS, params={"date_to": day}).fetchall()}
        assert [(b, t, r) for b, t, r in got.select("branch_id", "transfers", "readers").rows()] == [
            (b, *direct.get(b, (0, 0))) for b in got["branch_id"]], day
    assert shown >= 4


def rollup_rows(con) -> dict[str, list[tuple]]:
    """The new rollups with their integer keys replaced by what they stand for."""
    branch = "(select branch_id from branch_keys as k where k.branch_no = t.branch_no)"
    item = "(select item_id from item_keys as k where k.item_no = t.item_no)"
    tables = {
        "actions": f"select day, occurred_at, is_return, {branch}, {item} from actions as t",
        "actions_day": f"select day, {branch}, renewals, returns from actions_day as t",
        "loans_lending_month": f"select month, {branch}, home_branch_id, checkouts, transfers "
                               "from loans_lending_month as t",
        "loans_lending_total": f"select {branch}, home_branch_id, checkouts, transfers from loans_lending_total as t",
        "loans_home_total": "select * from loans_home_total",
        "lending_owning_list": "select * from lending_owning_list",
    }
    return {name: sorted(con.sql(sql).fetchall(), key=repr) for name, sql in tables.items()}


def assert_rollups_equal_the_direct_counts(con) -> None:
    """actions_day holds exactly the renewals and returns per day and branch, no row without a count; the sums over
    all months (of lending and owning pairs, of home branches, classes and owners) are those of their months."""
    totals = con.sql("""
        select (select branch_id from branch_keys as k where k.branch_no = t.branch_no), home_branch_id,
            sum(checkouts), sum(transfers),
        from loans_lending_month as t
        group by all
        having sum(checkouts) <> 0 or sum(transfers) <> 0
    """).fetchall()
    assert rollup_rows(con)["loans_lending_total"] == sorted(totals, key=repr)
    named = con.sql("""
        select k.branch_id, lb.name, t.home_branch_id, ob.name, sum(t.checkouts), sum(t.transfers),
            sum(t.checkouts + t.transfers),
        from loans_lending_month as t
        left join branch_keys as k using (branch_no)
        left join branches as lb on lb.branch_id = k.branch_id
        left join branches as ob on ob.branch_id = t.home_branch_id
        group by all
        having sum(t.checkouts) <> 0 or sum(t.transfers) <> 0
    """).fetchall()
    assert rollup_rows(con)["lending_owning_list"] == sorted(named, key=repr)
    totals = con.sql("""
        select home_branch_id, clc_class, owner, sum(checkouts), sum(transfers),
        from loans_home_month
        group by all
        having sum(checkouts) <> 0 or sum(transfers) <> 0
    """).fetchall()
    assert rollup_rows(con)["loans_home_total"] == sorted(totals, key=repr)
    got = rollup_rows(con)["actions_day"]
    expected = con.sql(f"""
        with renewed as ({RENEWALS})
        select day, branch_id, count(*) filter (where is_renewal), count(*) filter (where not is_renewal),
        from (
            select occurred_at::date as day, branch_id, true as is_renewal, from renewed
            union all
            select occurred_at::date, branch_id, false, from events where action = 'return'
        )
        group by all
    """).fetchall()
    assert got == sorted(expected, key=repr)


def rebuilt_rows(db) -> dict[str, list[tuple]]:
    with storage.writer(db, publish_on_exit=False) as writer:
        writer.begin()
        refresh_derived(writer)
        found = rollup_rows(writer)
        writer.rollback()
    return found


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_after_imports_in_any_order_equal_the_direct_computation(db, tmp_path, order):
    prepare(db, tmp_path, order)
    load(db, tmp_path, "ties.csv", TIES)
    con = snapshot(db)
    assert con.sql("select count(*) from actions where not is_return").fetchall()[0][0] > 50
    assert_rollups_equal_the_direct_counts(con)
    assert_equal_the_direct_computation(con)
    assert_scorecard_equals_the_direct_computation(con)
    assert rebuilt_rows(db) == rollup_rows(con)  # a rebuild from scratch changes nothing


def test_the_ties_by_hand(db, tmp_path):
    load(db, tmp_path, "ties.csv", TIES)
    got = queries.run(snapshot(db), "circulation_by_period_branch", unit="day")
    assert got.select("period", "branch_id", "checkouts", "transfers", "renewals", "returns").rows() == [
        (date(2024, 2, 29), "B1", 1, 0, 1, 0),  # T3 at the moment of T2's checkout; T1 before any loan
        (date(2024, 2, 29), None, 0, 0, 1, 0),
        (date(2024, 3, 1), "B1", 0, 0, 1, 0),  # T5 at the moment of the return
        (date(2024, 3, 1), "M1", 0, 0, 0, 1),
        (date(2024, 3, 2), None, 0, 0, 1, 0),  # T6 after the return
        (date(2024, 3, 31), "M1", 1, 0, 0, 0),
        (date(2024, 4, 1), "M1", 0, 1, 1, 0),  # T9 at the moment of the transfer, in M1's chain
        (date(2024, 4, 1), "X9", 0, 0, 0, 1),
    ]


def test_after_an_undo_equal_a_database_that_never_had_the_import(db, tmp_path):
    prepare(db, tmp_path, (0, 1, 2))
    load(db, tmp_path, "ties.csv", TIES)
    delete_import_events(db, "e1.csv")
    never = tmp_path / "never" / "microbranch.duckdb"
    prepare(never, tmp_path, (0, 2))
    load(never, tmp_path, "ties.csv", TIES)
    undone = snapshot(db)
    assert rollup_rows(undone) == rollup_rows(snapshot(never))
    assert_rollups_equal_the_direct_counts(undone)
    assert_equal_the_direct_computation(undone)
    assert_scorecard_equals_the_direct_computation(undone)


def test_lending_and_owning_follow_an_import_of_items(db, tmp_path):
    prepare(db, tmp_path, (0, 1))
    load(db, tmp_path, "i2.csv", ITEMS.replace(",C1,", ",M2,") + "I39,Late,,I39/1,B1,library,,2023-01-01\n")
    con = snapshot(db)
    assert con.sql("select count(*) from items where home_branch_id = 'M2'").fetchall()[0][0] > 10
    assert_equal_the_direct_computation(con)
    assert rebuilt_rows(db) == rollup_rows(con)


def test_the_lending_and_owning_download_follows_the_branches_names(db, tmp_path):
    prepare(db, tmp_path, (0, 1))
    load(db, tmp_path, "b2.csv", BRANCHES.replace("Town one", "Town renamed").replace("Micro one", "Micro renamed"))
    con = snapshot(db)
    full = queries.run(con, "loans_by_lending_owning_full")
    names = dict(con.sql("select branch_id, name from branches").fetchall())
    for side in ("lending", "owning"):
        ids = full[f"{side}_branch_id"].to_list()
        assert full[f"{side}_branch"].to_list() == [names.get(i) for i in ids]
    assert {"Town renamed", "Micro renamed"} <= set(full["lending_branch"]) | set(full["owning_branch"])
    assert_rollups_equal_the_direct_counts(con)
    assert rebuilt_rows(db) == rollup_rows(con)
