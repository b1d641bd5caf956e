"""Every query that reads the rollups (counts per day and month, activity bitmaps, loans per home branch, class
and owner) equals the direct computation from the events and chains, the oracle below, on generated data and on
periods cut anywhere: the first or last day of a month, one day, a leap day, the whole range, beyond the data.
Also after imports that add to months already stored, and after an import is deleted (undo)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from microbranch import queries, storage
from microbranch.derived import refresh_items as refresh_derived
from tests.conftest import delete_import_events, load, snapshot
from tests.test_queries_circulation import BRANCHES

HEADER = "event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id,channel"
ITEMS_HEADER = "item_id,title,author,call_number,home_branch_id,owner,owner_reader_id,added_on"


def generated(seed: int, n: int, first: datetime, days: int, prefix: str) -> str:
    """Events of 40 copies and 30 readers at three branches (and transfers), in random order."""
    rnd = random.Random(seed)
    rows = [HEADER]
    for k in range(n):
        at = first + timedelta(seconds=rnd.randrange(days * 86400))
        action = rnd.choice(["checkout", "checkout", "transfer", "transfer", "return", "renew"])
        branch = rnd.choice(["C1", "B1", "M1"]) if action != "transfer" else ""
        giver = f"r{rnd.randrange(30)}" if action == "transfer" else ""
        rows.append(f"{prefix}{k},{at:%Y-%m-%d %H:%M:%S},{action},I{rnd.randrange(40)},r{rnd.randrange(30)},"
                    f"{giver},{branch},counter")
    return "\n".join(rows) + "\n"


ITEMS = "\n".join([ITEMS_HEADER] + [
    f"I{i},Title {i % 7},Author {i % 3},{'IKTB'[i % 4]}{i}/1,{['C1', 'B1', 'M1', 'M2'][i % 4]},"
    f"{'reader' if i % 5 == 0 else 'library'},{'rd1' if i % 5 == 0 else ''},2023-0{1 + i % 9}-01"
    for i in range(36)  # I36-I39 are not in the items file: their loans count nowhere by home branch
]) + "\n"
# The first file: mid-November 2023 to the start of March 2024; the second adds to February and goes on to April.
FIRST = generated(1, 700, datetime(2023, 11, 14, 8), 110, "A")
SECOND = generated(2, 300, datetime(2024, 2, 10, 8), 60, "B")

PERIODS = [
    (None, None),
    (date(2023, 11, 14), date(2024, 4, 9)),  # exactly the data
    (date(2024, 1, 1), date(2024, 1, 31)),  # one whole month
    (date(2024, 1, 31), date(2024, 3, 1)),  # last day of a month to the first of another
    (date(2024, 2, 29), date(2024, 2, 29)),  # one day, a leap day
    (date(2023, 12, 15), date(2024, 3, 10)),  # ragged at both ends
    (date(2024, 2, 1), date(2024, 3, 31)),  # whole months
    (date(2024, 2, 3), date(2024, 2, 20)),  # inside one month
    (date(2023, 1, 1), date(2025, 1, 1)),  # beyond the data
]

# The oracle: the period's loans straight from the events and chains, as before there were rollups.
DIRECT = """
with span as (
    select
        coalesce($date_from::date, (select min(occurred_at)::date from events)) as f,
        coalesce($date_to::date, (select max(occurred_at)::date from events)) as t
),
l as (
    select e.branch_id, e.item_id, e.reader, e.occurred_at, 'checkout' as action
    from events as e, span
    where e.action = 'checkout' and e.occurred_at::date between span.f and span.t
    union all
    select c.start_branch_id, c.item_id, c.reader, c.occurred_at, 'transfer'
    from chain_transfers as c, span
    where c.occurred_at::date between span.f and span.t
)
"""
ORACLES = {
    "kpis": ("select count(*) filter (where action = 'checkout') as checkouts, "
             "count(*) filter (where action = 'transfer') as transfers, count(distinct reader) as active_readers "
             "from l", ["checkouts", "transfers", "active_readers"], None),
    "loans_by_branch": ("select l.branch_id, count(*) filter (where action = 'checkout') as checkouts, "
                        "count(*) filter (where action = 'transfer') as transfers, count(*) as loans, "
                        "count(distinct reader) as active_readers from l join branches using (branch_id) "
                        "group by all order by loans desc, branch_id",
                        ["branch_id", "checkouts", "transfers", "loans", "active_readers"], "loans > 0"),
    "loans_by_branch_month": ("select branch_id, date_trunc('month', occurred_at)::date as month, "
                              "count(*) filter (where action = 'checkout') as checkouts, "
                              "count(*) filter (where action = 'transfer') as transfers, count(*) as loans, "
                              "count(distinct reader) as active_readers from l group by all "
                              "order by branch_id nulls last, month", None, None),
    "readers_by_month": ("select date_trunc('month', occurred_at)::date as month, "
                         "count(distinct reader) as active_readers, count(*) as loans from l group by all "
                         "order by month", ["month", "active_readers", "loans"], None),
    "loans_by_week": ("select date_trunc('week', occurred_at)::date as week, "
                      "count(*) filter (where action = 'checkout') as checkouts, "
                      "count(*) filter (where action = 'transfer') as transfers, count(*) as loans "
                      "from l group by all order by week", ["week", "checkouts", "transfers", "loans"], None),
    "loans_by_week_kind": ("select date_trunc('week', occurred_at)::date as week, b.kind, "
                           "count(*) filter (where action = 'checkout') as checkouts, "
                           "count(*) filter (where action = 'transfer') as transfers, count(*) as loans "
                           "from l left join branches as b using (branch_id) group by all "
                           "order by week, kind nulls last", None, None),
    "loans_by_weekday_hour": ("select isodow(occurred_at) as weekday, hour(occurred_at) as hour, "
                              "count(*) filter (where action = 'checkout') as checkouts, count(*) as loans "
                              "from l group by all order by weekday, hour", ["weekday", "hour", "checkouts", "loans"],
                              "loans > 0"),
    "turnover_by_branch": ("select home_branch_id as branch_id, count(*) as loans from l join items using (item_id) "
                           "group by all order by branch_id", ["branch_id", "loans"], "loans > 0"),
    "loans_by_clc": ("select clc_class, count(*) as loans from l join items using (item_id) group by all "
                     "order by clc_class", ["clc_class", "loans"], "loans > 0"),
    "loans_by_owner": ("select owner, count(distinct item_id) as copies_borrowed, "
                       "count(*) filter (where action = 'checkout') as checkouts, count(*) as loans "
                       "from l join items using (item_id) group by all order by owner",
                       ["owner", "copies_borrowed", "checkouts", "loans"], "loans > 0"),
    "titles_by_loans": ("select title, author, count(*) as loans from l join items using (item_id) group by all "
                        "order by loans desc, title, author limit 20", ["title", "author", "loans"], None),
    "branches_by_loans": ("select branch_id, count(*) filter (where action = 'checkout') as checkouts, "
                          "count(*) as loans from l join branches using (branch_id) group by all order by branch_id",
                          ["branch_id", "checkouts", "loans"], "loans > 0"),
}


def named(con, name: str, period: tuple, columns: list[str] | None, keep: str | None) -> pl.DataFrame:
    frame = queries.run(con, name, date_from=period[0], date_to=period[1])
    if columns:
        frame = frame.select(columns)
    if keep:
        frame = frame.filter(pl.sql_expr(keep))
    if name in ("turnover_by_branch", "branches_by_loans", "loans_by_clc"):
        frame = frame.sort(columns[0], nulls_last=True)
    return frame


def oracle(con, name: str, period: tuple) -> pl.DataFrame:
    sql, columns, _ = ORACLES[name]
    return con.sql(DIRECT + sql, params={"date_from": period[0], "date_to": period[1]}).pl()


def never_borrowed_oracle(con, day: date | None) -> list[str]:
    return [r[0] for r in con.sql(
        "select item_id from items where owner = 'library' and item_id not in (select item_id from events "
        "where action in ('checkout', 'transfer') and occurred_at::date <= coalesce($d::date, "
        "(select max(occurred_at)::date from events))) and added_on <= coalesce($d::date, "
        "(select max(occurred_at)::date from events)) order by item_id", params={"d": day}).fetchall()]


@pytest.fixture
def two_imports(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "i.csv", ITEMS)
    load(db, tmp_path, "first.csv", FIRST)
    load(db, tmp_path, "second.csv", SECOND)
    return db


def assert_all_equal_the_oracle(con):
    for period in PERIODS:
        for name, (_, columns, keep) in ORACLES.items():
            got = named(con, name, period, columns, keep)
            expected = oracle(con, name, period)
            try:
                assert_frame_equal(got, expected, check_dtypes=False, check_column_order=False)
            except AssertionError as exc:
                raise AssertionError(f"{name} {period}: {exc}") from None
        borrowed = queries.run(con, "items_never_borrowed_full", date_to=period[1])["item_id"].sort().to_list()
        assert borrowed == never_borrowed_oracle(con, period[1]), period


def test_rollup_queries_equal_the_direct_computation(two_imports):
    con = snapshot(two_imports)
    assert con.sql("select count(*) from loans").fetchall()[0][0] > 500
    assert_all_equal_the_oracle(con)


def test_some_branches_equal_the_direct_computation(two_imports):
    con = snapshot(two_imports)
    for period in PERIODS:
        got = queries.run(con, "kpis", date_from=period[0], date_to=period[1], branch_ids=["C1", "M1"])
        sql = DIRECT + ("select count(*) filter (where action = 'checkout') as checkouts, count(*) filter "
                        "(where action = 'transfer') as transfers, count(distinct reader) as active_readers "
                        "from l where branch_id in ('C1', 'M1')")
        expected = con.sql(sql, params={"date_from": period[0], "date_to": period[1]}).pl()
        assert_frame_equal(got.select(expected.columns), expected, check_dtypes=False)
        got = queries.run(con, "loans_by_weekday_hour", date_from=period[0], date_to=period[1],
                          branch_ids=["C1", "M1"]).filter(pl.col("loans") > 0)
        sql = DIRECT + ("select isodow(occurred_at) as weekday, hour(occurred_at) as hour, count(*) filter (where "
                        "action = 'checkout') as checkouts, count(*) as loans from l where branch_id in ('C1', 'M1') "
                        "group by all order by weekday, hour")
        expected = con.sql(sql, params={"date_from": period[0], "date_to": period[1]}).pl()
        assert_frame_equal(got.select(expected.columns), expected, check_dtypes=False)
        got = queries.run(con, "loans_by_week_kind", date_from=period[0], date_to=period[1], branch_ids=["C1", "M1"])
        sql = DIRECT + ("select date_trunc('week', occurred_at)::date as week, b.kind, count(*) as loans from l "
                        "left join branches as b using (branch_id) where branch_id in ('C1', 'M1') group by all "
                        "order by week, kind")
        expected = con.sql(sql, params={"date_from": period[0], "date_to": period[1]}).pl()
        assert_frame_equal(got.select(expected.columns), expected, check_dtypes=False)
        got = queries.run(con, "readers_by_month", date_from=period[0], date_to=period[1], branch_ids=["C1", "M1"])
        sql = DIRECT + ("select date_trunc('month', occurred_at)::date as month, count(distinct reader) as "
                        "active_readers, count(*) as loans from l where branch_id in ('C1', 'M1') group by all "
                        "order by month")
        expected = con.sql(sql, params={"date_from": period[0], "date_to": period[1]}).pl()
        assert_frame_equal(got.select(expected.columns), expected, check_dtypes=False)


def test_a_full_rebuild_changes_no_rollup(two_imports):
    before = rollup_rows(snapshot(two_imports))
    with storage.writer(two_imports) as con:
        con.begin()
        refresh_derived(con)
        con.commit()
    assert rollup_rows(snapshot(two_imports)) == before


def test_undo_leaves_the_rollups_of_a_database_that_never_had_the_import(two_imports, tmp_path):
    delete_import_events(two_imports, "first.csv")
    never = tmp_path / "never" / "microbranch.duckdb"
    load(never, tmp_path, "b.csv", BRANCHES)
    load(never, tmp_path, "i.csv", ITEMS)
    load(never, tmp_path, "second.csv", SECOND)
    undone, fresh = snapshot(two_imports), snapshot(never)
    assert rollup_rows(undone) == rollup_rows(fresh)
    for period in PERIODS:
        for name, (_, columns, keep) in ORACLES.items():
            assert_frame_equal(named(undone, name, period, columns, keep), named(fresh, name, period, columns, keep))
    assert_all_equal_the_oracle(undone)


def rollup_rows(con) -> dict[str, list[tuple]]:
    """The rollups with their integer keys replaced by what they stand for (numbering depends on the history)."""
    branch = "(select branch_id from branch_keys as k where k.branch_no = t.branch_no)"
    reader = "(select reader from reader_keys as k where k.reader_no = t.reader_no)"
    item = "(select item_id from item_keys as k where k.item_no = t.item_no)"
    tables = {
        "loans": f"select day, occurred_at, is_transfer, {branch}, {item}, {reader} from loans as t",
        "loans_day": f"select day, {branch}, checkouts, transfers from loans_day as t",
        "loans_month": f"select month, all_branches, {branch}, checkouts, transfers, readers from loans_month as t",
        "loans_home_month": "select * from loans_home_month",
        "loans_hour_month": "select * from loans_hour_month",
        "reader_months": f"select {reader}, block, months from reader_months as t",
        "reader_branch_months": f"select {branch}, {reader}, block, months from reader_branch_months as t",
        "item_months": f"select {item}, block, months from item_months as t",
        "weeding_list": "select * from weeding_list",
        "moves_list": "select * from moves_list",
    }
    return {name: sorted(con.sql(sql).fetchall(), key=repr) for name, sql in tables.items()}


def test_periods_over_two_blocks_of_the_activity_bitmaps_equal_the_direct_computation(db, tmp_path):
    """A bitmap row holds 120 months (2010-01 to 2019-12 is one block, 2020-01 to 2029-12 the next): a reader or copy
    active on both sides of 2020-01 has a row in each block and must be counted once."""
    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "i.csv", ITEMS)
    load(db, tmp_path, "e.csv", generated(3, 500, datetime(2019, 11, 14, 8), 110, "C"))
    con = snapshot(db)
    blocks = con.sql("select count(distinct block) from reader_months").fetchall()[0][0]
    assert blocks == 2
    for period in [(None, None), (date(2019, 12, 1), date(2020, 1, 31)), (date(2019, 12, 15), date(2020, 2, 10)),
                   (date(2019, 11, 30), date(2020, 1, 1))]:
        for name in ("kpis", "loans_by_branch", "readers_by_month", "loans_by_owner"):
            _, columns, keep = ORACLES[name]
            assert_frame_equal(named(con, name, period, columns, keep), oracle(con, name, period),
                               check_dtypes=False, check_column_order=False)


def test_the_top_pairs_of_cross_branch_returns_equal_the_direct_computation(two_imports):
    con = snapshot(two_imports)
    pairs = []
    for period in PERIODS:
        expected = con.sql("""
            select start_branch_id, end_branch_id, count(*) as chains, from chains
            where status = 'returned' and start_branch_id <> end_branch_id
              and ended_at::date between coalesce($f::date, (select min(occurred_at)::date from events))
                  and coalesce($t::date, (select max(occurred_at)::date from events))
            group by all order by chains desc, start_branch_id, end_branch_id
        """, params={"f": period[0], "t": period[1]}).pl()
        got = queries.run(con, "returns_by_branch_pair", date_from=period[0], date_to=period[1], top=2)
        assert_frame_equal(got.select(expected.columns), expected.head(2), check_dtypes=False)
        assert got["pairs"].to_list() == [expected.height] * got.height
        pairs.append(expected.height)
    assert max(pairs) > 2  # more pairs than the top kept


def stored_list(db, name: str, at_least: int) -> pl.DataFrame:
    """The download `name` at the data's last day (its default: a stored list), after checking that it holds at least
    `at_least` rows and equals the list worked out for that day, of every branch and of branch M2."""
    con = snapshot(db)
    last_day = con.sql("select max(occurred_at)::date from events").fetchall()[0][0]
    stored = queries.run(con, name)
    assert stored.height >= at_least
    assert_frame_equal(stored, queries.run(con, name, date_to=last_day))
    assert_frame_equal(queries.run(con, name, branch_ids=["M2"]),
                       queries.run(con, name, date_to=last_day, branch_ids=["M2"]))
    return stored


def test_the_stored_weeding_list_equals_the_list_worked_out(db, tmp_path):
    """The weeding list's download at the data's last day reads the stored list (weeding_list); it must equal the
    list worked out from every copy for that day, after imports of events, an import of items that renames and
    moves copies, and an undo."""
    unlent = "".join(f"I{i},Shelf {i},Author,Z{i}/1,{['C1', 'M2'][i % 2]},library,,2023-0{1 + i % 9}-01\n"
                     for i in range(40, 52))  # no event names I40 and up: never lent

    def assert_stored_equals_worked_out():
        return stored_list(db, "items_never_borrowed_full", at_least=10)

    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "i.csv", ITEMS + unlent)
    load(db, tmp_path, "first.csv", FIRST)
    assert_stored_equals_worked_out()
    load(db, tmp_path, "second.csv", SECOND)
    assert_stored_equals_worked_out()
    renamed = ITEMS.replace("Title 3", "Renamed").replace(",C1,library", ",M2,library") + unlent.replace("Shelf", "Box")
    load(db, tmp_path, "i2.csv", renamed)
    stored = assert_stored_equals_worked_out()
    assert stored.filter(pl.col("title").str.starts_with("Box")).height == 12
    load(db, tmp_path, "third.csv", f"{HEADER}\nT1,2024-04-20 10:00:00,checkout,I41,r1,,C1,counter\n"
                                    "T2,2024-04-20 11:00:00,return,I43,r2,,C1,counter\n")  # I43 touched, not lent
    stored = assert_stored_equals_worked_out()["item_id"].to_list()
    assert "I41" not in stored and "I43" in stored
    delete_import_events(db, "third.csv")  # I41 unlent again
    assert "I41" in assert_stored_equals_worked_out()["item_id"].to_list()
    delete_import_events(db, "first.csv")
    assert_stored_equals_worked_out()


def test_the_stored_move_list_equals_the_list_worked_out(db, tmp_path):
    """The move list's download at the data's last day reads the stored list (moves_list); it must equal the list
    worked out from every copy for that day, after imports of events, an import of items that renames copies and
    moves their homes, a branch closed, and an undo."""

    def assert_stored_equals_worked_out():
        return stored_list(db, "moves_by_item_full", at_least=5)

    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "i.csv", ITEMS)
    load(db, tmp_path, "first.csv", FIRST)
    assert_stored_equals_worked_out()
    load(db, tmp_path, "second.csv", SECOND)
    before = assert_stored_equals_worked_out()
    load(db, tmp_path, "i2.csv", ITEMS.replace("Title 3", "Renamed").replace(",C1,library", ",M2,library"))
    stored = assert_stored_equals_worked_out()
    assert stored.filter(pl.col("title") == "Renamed").height > 0
    assert stored.filter(pl.col("to_branch_id") == "M2").height > before.filter(pl.col("to_branch_id") == "M2").height
    load(db, tmp_path, "b2.csv", BRANCHES.replace("2015-01-01,,yes,500", "2015-01-01,2024-03-31,yes,500"))
    assert "B1" not in assert_stored_equals_worked_out()["to_branch_id"].to_list()  # nowhere to send them
    home = snapshot(db).sql("select home_branch_id from items where item_id = 'I2'").fetchall()[0][0]
    away = next(b for b in ("C1", "M1") if b != home)
    load(db, tmp_path, "third.csv", f"{HEADER}\nT1,2024-04-20 10:00:00,checkout,I2,r1,,{home},counter\n"
                                    f"T2,2024-04-20 11:00:00,return,I2,r1,,{away},counter\n")
    assert "I2" in assert_stored_equals_worked_out()["item_id"].to_list()
    delete_import_events(db, "third.csv")
    assert_stored_equals_worked_out()
    delete_import_events(db, "first.csv")
    assert_stored_equals_worked_out()
