"""The per-copy and per-reader state kept at import (copy_state: last chain, latest due date, latest loan;
reader_firsts: first loan and the next day with one; loans_reader_month: loans per month, branch, reader type and
birth year) gives the stock, dead stock, overdue, new readers, retention and loans by reader type and age band
queries exactly what the direct computation from the events and chains gives (the oracle below, as these queries
were written before the state was kept): on generated data with due dates, for days cut anywhere (the first or
last day of a month, a leap day, before, within and beyond the data), after imports in any order, after an undo,
and after imports of readers and items."""

from __future__ import annotations

import itertools
import random
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from microbranch import queries, storage
from microbranch.derived import refresh_items as refresh_derived
from tests.conftest import delete_import_events, load, snapshot
from tests.test_queries_circulation import BRANCHES
from tests.test_rollups import ITEMS, PERIODS

HEADER = "event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id,channel,due_at"
READERS = "\n".join(["reader_id,registered_on,home_branch_id,birth_year,reader_type"] + [
    f"r{i},{'2023-12-0' + str(1 + i % 9) if i % 3 == 0 else ''},{['C1', 'M1'][i % 2]},{1950 + i},普通读者"
    for i in range(0, 30, 2)  # odd readers are not in the file; every third has a registration date
]) + "\n"


def generated(seed: int, n: int, first: datetime, days: int, prefix: str) -> str:
    """Events of 40 copies and 30 readers at three branches, with due dates, in random order."""
    rnd = random.Random(seed)
    rows = [HEADER]
    for k in range(n):
        at = first + timedelta(seconds=rnd.randrange(days * 86400))
        action = rnd.choice(["checkout", "checkout", "transfer", "transfer", "return", "renew"])
        branch = rnd.choice(["C1", "B1", "M1"]) if action != "transfer" else ""
        giver = f"r{rnd.randrange(30)}" if action == "transfer" else ""
        due = f"{at + timedelta(days=rnd.choice([14, 30])):%Y-%m-%d}" if action != "return" else ""
        rows.append(f"{prefix}{k},{at:%Y-%m-%d %H:%M:%S},{action},I{rnd.randrange(40)},r{rnd.randrange(30)},"
                    f"{giver},{branch},counter,{due}")
    return "\n".join(rows) + "\n"


FILES = [generated(1, 400, datetime(2023, 11, 14, 8), 110, "A"), generated(2, 200, datetime(2024, 2, 10, 8), 60, "B"),
         generated(3, 150, datetime(2023, 12, 20, 8), 70, "C")]
DAYS = [None, date(2023, 10, 1), date(2023, 11, 14), date(2023, 11, 30), date(2023, 12, 1), date(2024, 1, 31),
        date(2024, 2, 29), date(2024, 3, 1), date(2024, 4, 9), date(2025, 1, 1)]

# The oracle: the definitions as they were, straight from the events and chains.
DIRECT_MACROS = """
create or replace temp macro direct_loans(date_to) as table
select e.branch_id, e.item_id, e.reader, e.occurred_at, 'checkout' as action,
from events as e, period(null, date_to) as p
where e.action = 'checkout' and e.occurred_at < p.end_ts
union all
select t.start_branch_id, t.item_id, t.reader, t.occurred_at, 'transfer',
from chain_transfers as t, period(null, date_to) as p
where t.occurred_at < p.end_ts;

create or replace temp macro direct_period_loans(date_from, date_to) as table
select e.branch_id, e.reader, from events as e, period(date_from, date_to) as p
where e.action = 'checkout' and e.occurred_at::date between p.date_from and p.date_to
union all
select t.start_branch_id, t.reader, from chain_transfers as t, period(date_from, date_to) as p
where t.occurred_at::date between p.date_from and p.date_to;

create or replace temp macro direct_copy_places(date_to) as table
with p as (select *, from period(null, date_to)),
last_chain as (
    select c.item_id, arg_max({ 'ended_at': c.ended_at, 'end_branch_id': c.end_branch_id }, c.chain_no) as c,
    from chains as c, p
    where c.started_at < p.end_ts
    group by c.item_id
)
select
    i.item_id, i.home_branch_id, i.owner,
    case when l.item_id is null or l.c.ended_at < p.end_ts then 'shelf' else 'on_loan' end as place,
    case when l.item_id is null then i.home_branch_id when l.c.ended_at < p.end_ts then l.c.end_branch_id end
        as branch_id,
    case when l.c.ended_at < p.end_ts then l.c.ended_at end as since,
from items as i
cross join p
left join last_chain as l using (item_id)
where i.added_on is null or i.added_on <= p.date_to;

create or replace temp macro direct_dead_stock(date_to, months) as table
with p as (
    select d.*, (d.date_to - to_months(coalesce(months::integer, 6)))::date as cutoff,
    from period(null, date_to) as d
),
last_loan as (
    select e.item_id, max(e.occurred_at) as last_loan_at,
    from events as e, p
    where e.action in ('checkout', 'transfer') and e.occurred_at < p.end_ts
    group by e.item_id
)
select s.item_id, s.home_branch_id, s.branch_id, i.added_on, l.last_loan_at, p.date_to, p.cutoff,
from direct_copy_places(date_to) as s
cross join p
inner join items as i using (item_id)
left join last_loan as l using (item_id)
where s.owner = 'library' and s.place = 'shelf'
  and (i.added_on is null or i.added_on <= p.cutoff)
  and (l.last_loan_at is null or l.last_loan_at < p.cutoff);

create or replace temp macro direct_new_readers(date_to, warmup_months) as table
with span as (
    select
        p.date_to,
        d.first_day,
        date_trunc('month', d.first_day) + to_months(coalesce(warmup_months::integer, 3)) as warm_until,
    from period(null, date_to) as p, (select min(occurred_at)::date as first_day, from events) as d
),
firsts as (
    select reader, arg_min({ 'branch_id': branch_id }, (occurred_at, action)).branch_id as branch_id,
        min(occurred_at)::date as first_day,
    from direct_loans(date_to)
    group by reader
),
nexts as (
    select f.reader, min(l.occurred_at::date) as next_day,
    from firsts as f
    inner join direct_loans(date_to) as l on l.reader = f.reader and l.occurred_at::date > f.first_day
    group by f.reader
),
everyone as (
    select coalesce(f.reader, r.reader) as reader, r.registered_on, r.home_branch_id, f.branch_id, f.first_day,
        n.next_day,
    from firsts as f
    left join nexts as n using (reader)
    full join readers as r using (reader)
)
select
    e.reader,
    coalesce(least(e.registered_on, e.first_day), e.registered_on, e.first_day) as won_on,
    coalesce(e.branch_id, e.home_branch_id) as branch_id,
    e.first_day,
    e.next_day,
    e.registered_on is not null as by_registration,
    e.registered_on is null and e.first_day < s.warm_until as censored,
    coalesce(e.registered_on < s.first_day, false) as long_time,
from everyone as e, span as s
where coalesce(least(e.registered_on, e.first_day), e.registered_on, e.first_day) <= s.date_to;
"""

DIRECT_OVERDUE = """
with period as (select *, from period(null, $date_to)),
out_then as (
    select c.item_id, c.start_branch_id as branch_id, coalesce(c.first_transfer_at < p.end_ts, false) as adrift,
    from chains as c, period as p
    where c.started_at < p.end_ts and (c.ended_at is null or c.ended_at >= p.end_ts)
      and (coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], c.start_branch_id))
),
due as (
    select e.item_id, arg_max(e.due_at, e.occurred_at) as due_at,
    from events as e, period as p
    where e.action in ('checkout', 'transfer', 'renew') and e.due_at is not null and e.occurred_at < p.end_ts
    group by e.item_id
)
select
    o.branch_id, o.adrift,
    case when d.due_at < p.date_to then datediff('day', d.due_at, p.date_to) end as days_overdue,
from out_then as o
cross join period as p
left join due as d using (item_id)
"""

DIRECT_RETENTION = """
with period as (select *, from period($date_from, $date_to)),
firsts as (
    select reader, branch_id, first_day, censored, from direct_new_readers($date_to, null)
    where first_day is not null and not long_time
),
again as (
    select f.reader, min(l.occurred_at::date) as next_day,
    from firsts as f
    inner join direct_loans($date_to) as l on l.reader = f.reader and l.occurred_at::date > f.first_day
    group by f.reader
)
select
    date_trunc('month', f.first_day)::date as month,
    case when b.kind = 'micro' then 'micro' else 'other' end as branch_group,
    count(*) as new_readers,
    count(*) filter (where a.next_day <= f.first_day + interval 1 month) as again_1m,
    count(*) filter (where a.next_day <= f.first_day + interval 6 month) as again_6m,
from firsts as f
cross join period as p
left join again as a using (reader)
left join branches as b using (branch_id)
where f.first_day >= p.date_from
group by all
"""


DIRECT_BY_READER = """
with per_reader as (
    select reader, count(*) as loans, from direct_period_loans($date_from, $date_to)
    where coalesce(len($branch_ids::varchar[]), 0) = 0 or list_contains($branch_ids::varchar[], branch_id)
    group by reader
),
aged as (
    select r.reader_type, l.loans, year(p.date_to) - r.birth_year as age,
    from per_reader as l cross join period($date_from, $date_to) as p left join readers as r using (reader)
)
select {key}, count(*) as active_readers, sum(loans)::bigint as loans, from aged group by all
"""
AGE_FROM = "case when age < 7 then 0 when age < 13 then 7 when age < 18 then 13 when age < 35 then 18 " \
    "when age < 60 then 35 when age >= 60 then 60 end as age_from"


def direct(con):
    """The snapshot's connection with the oracle's macros."""
    con.sql(DIRECT_MACROS)
    return con


def rows(frame: pl.DataFrame) -> list[tuple]:
    return sorted(frame.rows(), key=repr)


def overdue_expected(con, day, branch_ids) -> list[tuple]:
    late = con.sql(DIRECT_OVERDUE, params={"date_to": day, "branch_ids": branch_ids}).pl()
    return rows(late.group_by("branch_id").agg(
        pl.len().alias("copies_out"), pl.col("days_overdue").count().alias("copies_overdue"),
        pl.col("days_overdue").max().alias("max_days_overdue"),
        pl.col("days_overdue").filter(pl.col("adrift")).count().alias("copies_adrift_overdue")))


def assert_states_equal_the_direct_computation(con) -> None:
    con = direct(con)
    for day in DAYS:
        for mine, oracle, args in [("copy_places", "direct_copy_places", "$d"),
                                   ("dead_stock", "direct_dead_stock", "$d, 1"),
                                   ("dead_stock", "direct_dead_stock", "$d, null"),
                                   ("new_readers", "direct_new_readers", "$d, null")]:
            got = con.sql(f"select * from {mine}({args})" if mine != "new_readers" else  # readers by number there
                          f"select k.reader, n.* exclude (reader_no) from new_readers({args}) as n "
                          f"inner join reader_keys as k using (reader_no)", params={"d": day}).pl()
            expected = con.sql(f"select * from {oracle}({args})", params={"d": day}).pl()
            assert got.columns == expected.columns
            assert rows(got) == rows(expected), (mine, args, day)
        for branch_ids in (None, ["C1", "M1"]):
            got = queries.run(con, "overdue_by_branch", date_to=day, branch_ids=branch_ids)
            got = got.select("branch_id", "copies_out", "copies_overdue", "max_days_overdue", "copies_adrift_overdue")
            assert rows(got) == overdue_expected(con, day, branch_ids), (day, branch_ids)
        for date_from in (None, date(2023, 12, 1)):
            got = queries.run(con, "retention_by_cohort", date_from=date_from, date_to=day)
            # the counts shown once their window is over; the oracle counts them all
            expected = con.sql(DIRECT_RETENTION, params={"date_from": date_from, "date_to": day}).pl()
            expected = expected.join(got.select("month", "branch_group", "again_1m", "again_6m"),
                                     on=["month", "branch_group"], how="left", suffix="_shown")
            for col in ("again_1m", "again_6m"):
                expected = expected.with_columns(
                    pl.when(pl.col(f"{col}_shown").is_not_null()).then(pl.col(col)).alias(col))
            assert rows(got.select("month", "branch_group", "new_readers", "again_1m", "again_6m")) == rows(
                expected.select("month", "branch_group", "new_readers", "again_1m", "again_6m")), (date_from, day)


def assert_loans_by_reader_equal_the_direct_computation(con) -> None:
    con = direct(con)
    for (date_from, date_to), branch_ids in itertools.product(PERIODS, (None, ["C1", "M1"])):
        p = {"date_from": date_from, "date_to": date_to, "branch_ids": branch_ids}
        for name, key in (("loans_by_reader_type", "reader_type"), ("loans_by_age_band", AGE_FROM)):
            got = queries.run(con, name, **p)
            expected = con.sql(DIRECT_BY_READER.format(key=key), params=p).pl()
            assert got.height == expected.height > 0, (name, p)
            assert rows(got.select(expected.columns)) == rows(expected), (name, p)
        shares = queries.run(con, "loans_by_reader_type", **p)
        assert (shares["loans_per_reader"] == shares["loans"] / shares["active_readers"]).all()


def prepare(db, tmp_path, order) -> None:
    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "i.csv", ITEMS)
    load(db, tmp_path, "r.csv", READERS)
    for n in order:
        load(db, tmp_path, f"e{n}.csv", FILES[n])


def state_rows(con) -> dict[str, list[tuple]]:
    reader = "(select reader from reader_keys as k where k.reader_no = t.reader_no)"
    branch = "(select branch_id from branch_keys as k where k.branch_no = t.branch_no)"
    # a copy's number depends on the history: its copy_state row must carry the number item_keys gives it
    assert con.sql("select count(*) from copy_state as s left join item_keys as k using (item_id) "
                   "where s.item_no is distinct from k.item_no").fetchall()[0][0] == 0
    return {"copy_state": sorted(con.sql("select * exclude (item_no, holder_no), "  # the holder by name
                                         "(select reader from reader_keys as k where k.reader_no = s.holder_no) "
                                         "from copy_state as s").fetchall(), key=repr),
            "loans_reader_month": sorted(con.sql(f"select month, all_branches, {branch}, reader_type, birth_year, "
                                                 "loans from loans_reader_month as t").fetchall(), key=repr),
            "reader_firsts": sorted(con.sql(f"select {reader}, first_at, {branch}, next_day from reader_firsts as t")
                                    .fetchall(), key=repr)}


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_states_after_imports_in_any_order_equal_the_direct_computation(db, tmp_path, order):
    prepare(db, tmp_path, order)
    con = snapshot(db)
    overdue = con.sql("select count(*) from copy_state where due_set_at is not null").fetchall()[0][0]
    assert overdue > 20 and con.sql("select count(*) from reader_firsts").fetchall()[0][0] == 30
    assert_states_equal_the_direct_computation(con)
    assert_loans_by_reader_equal_the_direct_computation(con)
    with storage.writer(db, publish_on_exit=False) as writer:  # a rebuild from scratch changes nothing
        writer.begin()
        refresh_derived(writer)
        assert state_rows(writer) == state_rows(con)
        writer.rollback()


def test_states_after_an_undo_equal_a_database_that_never_had_the_import(db, tmp_path):
    prepare(db, tmp_path, (0, 1, 2))
    delete_import_events(db, "e1.csv")
    never = tmp_path / "never" / "microbranch.duckdb"
    prepare(never, tmp_path, (0, 2))
    undone = snapshot(db)
    assert state_rows(undone) == state_rows(snapshot(never))
    assert_states_equal_the_direct_computation(undone)
    assert_loans_by_reader_equal_the_direct_computation(undone)


def test_states_follow_imports_of_readers_and_items(db, tmp_path):
    prepare(db, tmp_path, (0,))
    load(db, tmp_path, "r2.csv", READERS.replace("普通读者", "学生读者").replace(",195", ",200"))
    # copies move to other home branches, change owner, one more copy (never lent) and one copy lent before
    load(db, tmp_path, "i2.csv", ITEMS.replace(",C1,", ",B1,").replace(",reader,", ",library,")
         + "I90,New,,I90/1,M2,library,,2024-01-01\nI39,Late,,I39/1,M1,library,,2023-01-01\n")
    con = snapshot(db)
    assert con.sql("select count(*) from copy_state where in_items").fetchall()[0][0] == 38
    assert_states_equal_the_direct_computation(con)
    assert_loans_by_reader_equal_the_direct_computation(con)
