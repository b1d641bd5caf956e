"""The most borrowed titles (titles_by_loans, from the loans per month of a title and home branch and the bound of the
most borrowed titles) and the orphans of each import (orphans_by_import, from the branches each import names and the
copies the items file lacks) equal the direct computation from the events, chains, items and branches (the oracles
below, as these queries were written before): for periods cut anywhere (a month's first or last day, one day, a leap
day, the whole range, beyond the data), for all branches and some, for several $top (ties in loans ordered by title
and author); after imports in any order, after an undo, after imports of items that rename titles and move copies,
and equal to a rebuild from scratch. Only two titles are kept as the most borrowed (TOP_TITLES), so the bound leaves
titles out; and the query is also run counting every row of the period (the path of short periods)."""

from __future__ import annotations

import itertools

import pytest

from microbranch import derived, queries, storage
from microbranch.derived import refresh_items as refresh_derived
from tests.conftest import delete_import_events, load, snapshot
from tests.test_chain_months import CHAIN_PERIODS
from tests.test_queries_circulation import BRANCHES
from tests.test_rollups import DIRECT, ITEMS
from tests.test_rollups_actions import HEADER, TIES
from tests.test_states import FILES, prepare

TITLES = DIRECT + """,
copies as (
    select item_id, title, coalesce(author, '') as author, clc_class,
    from items
    where $branch_ids::varchar[] is null or list_contains($branch_ids::varchar[], home_branch_id)
),
per_copy as (select item_id, count(*) as loans, from l group by item_id)
select c.title, c.author, min(c.clc_class), count(*), coalesce(sum(p.loans), 0),
from copies as c
left join per_copy as p using (item_id)
group by c.title, c.author
having coalesce(sum(p.loans), 0) > 0
order by 5 desc, 1, 2
limit coalesce($top::integer, 20)
"""

ORPHANS = """
with orphan_events as (
    select
        e.import_id,
        e.item_id,
        e.branch_id,
        e.item_id not in (select item_id, from items) as copy_missing,
        e.branch_id is not null and e.branch_id not in (select branch_id, from branches) as branch_missing,
    from events as e
)
select
    import_id,
    count(*) as orphans,
    count(distinct item_id) filter (where copy_missing) as copies_missing,
    count(distinct branch_id) filter (where branch_missing) as branches_missing,
from orphan_events
where copy_missing or branch_missing
group by import_id
order by import_id desc
"""

# Copies not in the items file at a branch not in the branches file (an event with both missing counts once).
STRAYS = "\n".join([HEADER,
                    "S1,2024-03-05 10:00:00,checkout,I39,r1,,X8,counter,2024-03-20",
                    "S2,2024-03-06 10:00:00,return,I39,r1,,C1,counter,",
                    "S3,2024-03-07 10:00:00,checkout,I38,r2,,X8,counter,2024-03-21"]) + "\n"
BRANCH_CHOICES = (None, ["C1", "M1"], ["M2"], ["B1"])
TOPS = (None, 1, 3, 5)
# Every row of the period's whole months counted, whatever the bound: the path the query takes when the titles
# that can be among the top are too many to look up.
EVERY_ROW = queries.text("titles_by_loans").replace("<= 100000", "<= 0")
ITEMS_LATER = (ITEMS.replace(",C1,", ",M2,").replace("Title 3,Author 0", "Title 0,")
               + "I36,Title 5,Author 2,B36/1,B1,library,,2023-01-01\nI37,Late,,I37/1,,library,,2023-01-01\n")


@pytest.fixture(autouse=True)
def two_top_titles(monkeypatch):
    monkeypatch.setattr(derived, "TOP_TITLES", 2)


def assert_titles_equal_the_direct_computation(con) -> None:
    shown = 0
    for (date_from, date_to), branch_ids, top in itertools.product(CHAIN_PERIODS, BRANCH_CHOICES, TOPS):
        p = {"date_from": date_from, "date_to": date_to, "branch_ids": branch_ids, "top": top}
        expected = con.sql(TITLES, params=p).fetchall()
        assert queries.run(con, "titles_by_loans", **p).rows() == expected, p
        assert con.sql(EVERY_ROW, params=p).fetchall() == expected, p
        shown += len(expected)
    assert shown > 500


def assert_orphans_equal_the_direct_computation(con) -> None:
    expected = con.sql(ORPHANS).fetchall()
    assert queries.run(con, "orphans_by_import").rows() == expected
    assert expected


def title_rows(con, import_ids: bool = True) -> dict[str, list[tuple]]:
    """The tables behind these queries, copies' numbers read as the copies they stand for."""
    item = "(select item_id from item_keys as k where k.item_no = t.item_no)"
    tables = {
        "title_copies": "select * from title_copies",
        "item_titles": f"select {item}, title_no, home_branch_id from item_titles as t",
        "loans_title_month": "select * from loans_title_month",
        "loans_title_month_top": "select * from loans_title_month_top",
        "title_loans": "select * from title_loans",
        "copies_unknown": f"select {item}, item_id from copies_unknown as t",
        "import_branches": f"select {'import_id, ' if import_ids else ''}branch_id, events from import_branches",
    }
    return {name: sorted(con.sql(sql).fetchall(), key=repr) for name, sql in tables.items()}


def rebuilt_rows(db) -> dict[str, list[tuple]]:
    with storage.writer(db, publish_on_exit=False) as writer:
        writer.begin()
        refresh_derived(writer)
        found = title_rows(writer)
        writer.rollback()
    return found


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_after_imports_in_any_order_equal_the_direct_computation(db, tmp_path, order):
    prepare(db, tmp_path, order)
    load(db, tmp_path, "ties.csv", TIES)
    load(db, tmp_path, "strays.csv", STRAYS)
    con = snapshot(db)
    top = con.sql("select count(distinct title_no) from loans_title_month_top").fetchall()[0][0]
    assert top == 2 and con.sql("select count(*) from title_loans").fetchall()[0][0] > 10
    assert_titles_equal_the_direct_computation(con)
    assert_orphans_equal_the_direct_computation(con)
    assert rebuilt_rows(db) == title_rows(con)  # a rebuild from scratch changes nothing


def test_after_an_undo_equal_a_database_that_never_had_the_import(db, tmp_path):
    prepare(db, tmp_path, (0, 1, 2))
    load(db, tmp_path, "ties.csv", TIES)
    load(db, tmp_path, "strays.csv", STRAYS)
    delete_import_events(db, "e1.csv")
    never = tmp_path / "never" / "microbranch.duckdb"
    prepare(never, tmp_path, (0, 2))
    load(never, tmp_path, "ties.csv", TIES)
    load(never, tmp_path, "strays.csv", STRAYS)
    undone = snapshot(db)
    assert title_rows(undone, import_ids=False) == title_rows(snapshot(never), import_ids=False)
    assert_titles_equal_the_direct_computation(undone)
    assert_orphans_equal_the_direct_computation(undone)


def test_an_import_of_items_renames_titles_moves_copies_and_adopts_orphans(db, tmp_path):
    prepare(db, tmp_path, (0, 1))
    load(db, tmp_path, "ties.csv", TIES)
    before = queries.run(snapshot(db), "orphans_by_import")
    assert before["copies_missing"].sum() > 2 and before["branches_missing"].sum() == 1  # I36-I39; X9
    load(db, tmp_path, "i2.csv", ITEMS_LATER)
    load(db, tmp_path, "b2.csv", BRANCHES + "X9,Far,branch,,22.99,113.50,2015-01-01,,yes,500,\n")
    con = snapshot(db)
    after = queries.run(con, "orphans_by_import")
    assert after["copies_missing"].sum() < before["copies_missing"].sum() and after["branches_missing"].sum() == 0
    assert con.sql("select count(*) from title_copies where author = ''").fetchall()[0][0] > 0
    assert_titles_equal_the_direct_computation(con)
    assert_orphans_equal_the_direct_computation(con)
    assert rebuilt_rows(db) == title_rows(con)
    load(db, tmp_path, "e2.csv", FILES[2])  # events after the items: new loans added to the renamed titles
    con = snapshot(db)
    assert_titles_equal_the_direct_computation(con)
    assert_orphans_equal_the_direct_computation(con)
    assert rebuilt_rows(db) == title_rows(con)

