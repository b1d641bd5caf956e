"""What is derived from the events (drift chains) stays equal to a rebuild from scratch: after imports in any
order, and after events are deleted and `refresh_derived` is told which copies they were of."""

from __future__ import annotations

import itertools

import duckdb
import pytest

from microbranch import storage
from microbranch.derived import refresh_items as refresh_derived
from tests.conftest import delete_import_events, load, snapshot
from tests.test_queries_circulation import BRANCHES, EVENTS, ITEMS

DERIVED = {"chains": "item_id, chain_no", "chain_transfers": "event_key", "event_span": "first_at", "loans": "all",
           "actions": "all", "copy_state": "item_id", "item_months": "all"}
HEADER, *ROWS = EVENTS.strip().splitlines()
PARTS = [ROWS[0::3], ROWS[1::3], ROWS[2::3]]  # every copy's events spread over the three files


def contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {t: con.sql(f"select * from {t} order by {key}").fetchall() for t, key in DERIVED.items()}


def rebuilt(db) -> dict[str, list[tuple]]:
    """The derived tables rebuilt from every stored event, in a transaction that is rolled back."""
    with storage.writer(db, publish_on_exit=False) as con:
        con.begin()
        refresh_derived(con)
        got = contents(con)
        con.rollback()
    return got


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_imports_in_any_order_equal_a_full_rebuild(db, tmp_path, order):
    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "i.csv", ITEMS)
    for n in order:
        load(db, tmp_path, f"e{n}.csv", "\n".join([HEADER, *PARTS[n]]) + "\n")
    con = snapshot(db)
    got = contents(con)
    assert len(got["chains"]) == 8 and len(got["chain_transfers"]) == 6  # as in the circulation tests
    assert got["event_span"] == con.sql("select min(occurred_at), max(occurred_at) from events").fetchall()
    assert got == rebuilt(db)


def test_deleting_an_import_and_refreshing_its_copies_equals_never_having_it(db, tmp_path, monkeypatch):
    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "i.csv", ITEMS)
    load(db, tmp_path, "e0.csv", "\n".join([HEADER, *PARTS[0]]) + "\n")
    load(db, tmp_path, "e2.csv", "\n".join([HEADER, *PARTS[2]]) + "\n")
    never = contents(snapshot(db))

    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))  # same pseudonyms
    db2 = other / "microbranch.duckdb"
    for name, text in [("b.csv", BRANCHES), ("i.csv", ITEMS)] + [
            (f"e{n}.csv", "\n".join([HEADER, *PARTS[n]]) + "\n") for n in (0, 1, 2)]:
        load(db2, other, name, text)
    delete_import_events(db2, "e1.csv")
    assert contents(snapshot(db2)) == never


# A copy's chains when moments are shared: I1's second chain starts (a checkout) at the moment of a return, which
# then closes it; its third chain starts at the moment of a transfer. I2's two first chains start at one moment (two
# checkouts). The later file adds a transfer at the very moment I1's last chain started, and events after.
EARLIER = """F1,2024-04-01 10:00:00,checkout,I1,r1,,C1,counter
F2,2024-04-02 10:00:00,transfer,I1,r2,r1,,mini_program
F3,2024-04-03 10:00:00,return,I1,r2,,M1,counter
F4,2024-04-03 10:00:00,checkout,I1,r3,,C1,counter
F5,2024-04-05 10:00:00,checkout,I1,r4,,B1,counter
F6,2024-04-05 10:00:00,transfer,I1,r5,r4,,mini_program
H1,2024-04-01 09:00:00,checkout,I2,r1,,C1,counter
H2,2024-04-01 09:00:00,checkout,I2,r2,,M1,counter
H3,2024-04-02 09:00:00,renew,I2,r2,,M1,mini_program"""
LATER = """F7,2024-04-05 10:00:00,transfer,I1,r6,r5,,mini_program
F8,2024-04-07 10:00:00,renew,I1,r6,,M1,mini_program
F9,2024-04-09 10:00:00,return,I1,r6,,M1,counter
H4,2024-04-03 09:00:00,transfer,I2,r3,r2,,mini_program
H5,2024-04-04 09:00:00,return,I2,r3,,C1,counter"""


@pytest.mark.parametrize("later", [LATER, LATER.replace("2024-04-0", "2024-05-0")], ids=["shared moments", "after"])
def test_later_events_extend_the_chains_as_a_full_rebuild_would(db, tmp_path, later):
    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "i.csv", ITEMS)
    load(db, tmp_path, "e0.csv", "\n".join([HEADER, EARLIER]) + "\n")
    before = contents(snapshot(db))["chains"]
    load(db, tmp_path, "e1.csv", "\n".join([HEADER, later]) + "\n")
    got = contents(snapshot(db))
    assert [(c[0], c[1]) for c in before] == [("I1", 1), ("I1", 2), ("I1", 3), ("I2", 1), ("I2", 2)]
    assert len(got["chains"]) == 5 and len(got["loans"]) == 9
    assert got == rebuilt(db)
