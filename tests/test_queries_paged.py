"""The queries that can return hundreds of thousands of rows answer one page (limit, offset, order) with the total
count, and their `_full` twin gives the whole list for the download: every page is the matching slice of the full
list in that order, and `total` is the full list's length. On a generated city of 1,000 branches."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from microbranch import queries, storage
from tests.scale import city

# name -> (its parameters, its orders: for each the columns (and descending) the full list sorts on for that order)
PAGED = {
    "chains": ({}, {"copy": None, "holders": ("holders", True), "transfers": ("transfers", True),
                    "latest": ("started_at", True)}),
    "dead_stock_by_item": ({"months": 3}, {"longest": None, "branch": ("home_branch_id", False),
                                           "call_number": ("call_number", False)}),
    "loans_by_lending_owning": ({}, {"loans": None, "transfers": ("transfers", True),
                                     "lending": ("lending_branch_id", False)}),
    "moves_by_item": ({}, {"route": None, "longest": ("days_there", True)}),
    "items_never_borrowed": ({}, {"longest": None, "branch": ("home_branch_id", False),
                                  "call_number": ("call_number", False)}),
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):
    with pytest.MonkeyPatch.context() as mp:
        db = city(tmp_path_factory.mktemp("city"), mp)
        yield storage.reader(db)


@pytest.mark.parametrize("name", sorted(PAGED))
def test_a_page_is_a_slice_of_the_full_list_with_its_total(con, name):
    params, orders = PAGED[name]
    full = queries.run(con, f"{name}_full", **params)
    assert len(full) > 100, f"{name}: the generated city gives too few rows ({len(full)}) to page"
    first = queries.run(con, name, **params)  # no limit given: one page of 100 rows, never the whole list
    assert len(first) == 100 and set(first["total"]) == {len(full)}
    assert_frame_equal(first.drop("total", "total_loans", strict=False), full.head(100))
    last = queries.run(con, name, **params, page_size=40, skip=len(full) - 25)
    assert_frame_equal(last.drop("total", "total_loans", strict=False), full.tail(25))
    for order, key in orders.items():
        page = queries.run(con, name, **params, sort=order, page_size=30, skip=10)
        assert len(page) == 30 and set(page["total"]) == {len(full)}, order
        if key is not None:  # the page follows that order; ties keep the default order
            column, descending = key
            expected = full.sort(column, descending=descending, nulls_last=True, maintain_order=True).slice(10, 30)
            assert page[column].to_list() == expected[column].to_list(), order


def test_the_pairs_page_carries_the_loans_of_every_pair_for_others(con):
    full = queries.run(con, "loans_by_lending_owning_full")
    top = queries.run(con, "loans_by_lending_owning", page_size=10)
    assert set(top["total_loans"]) == {full["loans"].sum()}
    assert top["loans"].to_list() == full["loans"].head(10).to_list()


def test_branch_filter_and_period_reach_the_paged_chains(con):
    some = queries.run(con, "branch_list").filter(pl.col("kind") == "micro")["branch_id"].head(3).to_list()
    full = queries.run(con, "chains_full", branch_ids=some, date_from=date(2024, 1, 1))
    assert not full.is_empty()
    assert full.filter(~pl.col("start_branch_id").is_in(some) & ~pl.col("end_branch_id").is_in(some)).is_empty()
    page = queries.run(con, "chains", branch_ids=some, date_from=date(2024, 1, 1), page_size=5)
    assert set(page["total"]) == {len(full)}


def test_the_van_run_stops_equal_the_move_list_summed(con):
    from microbranch import vanrun

    full = queries.run(con, "moves_by_item_full")
    assert_frame_equal(queries.run(con, "moves_by_branch"), vanrun.stops(full), check_dtypes=False)


def test_the_town_pairs_are_the_branch_pairs_summed(con):
    towns = queries.run(con, "branch_list").select("branch_id", "town_code")
    full = (queries.run(con, "loans_by_lending_owning_full")
            .join(towns.rename({"branch_id": "lending_branch_id", "town_code": "lending_town_code"}),
                  on="lending_branch_id", how="left")
            .join(towns.rename({"branch_id": "owning_branch_id", "town_code": "owning_town_code"}),
                  on="owning_branch_id", how="left")
            .group_by("lending_town_code", "owning_town_code").agg(pl.col("checkouts", "transfers", "loans").sum()))
    got = queries.run(con, "loans_by_lending_owning_town")
    key = ["lending_town_code", "owning_town_code"]
    assert_frame_equal(got.sort(key, nulls_last=True), full.sort(key, nulls_last=True).select(got.columns),
                       check_dtypes=False)
    assert got.height > 1


def test_the_busiest_routes_are_the_move_list_counted(con):
    full = queries.run(con, "moves_by_item_full")
    counted = (full.group_by("from_branch", "to_branch").agg(pl.len().alias("copies"))
               .sort(["copies", "from_branch", "to_branch"], descending=[True, False, False]).head(5))
    got = queries.run(con, "moves_by_route", top=5)
    assert got.select("from_branch", "to_branch", "copies").rows() == counted.rows()
