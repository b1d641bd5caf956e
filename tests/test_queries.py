"""Drift chains and the core named queries on a small hand-made data set, compared whole with hand-worked numbers."""

from __future__ import annotations

import math
from datetime import date, datetime

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from microbranch import queries
from tests.conftest import BRANCHES, load, snapshot

# Communities on the meridian 113.50 E, like the branches: a walk is 0.001 degree of latitude per
# 111.195 m, times 1.3 detour, at 80 m a minute.
COMMUNITIES = """community_code,name,town_code,population,lat,lon
440115000001,K1,440115000,1000,22.853,113.50
440115000002,K2,440115000,2000,22.895,113.50
440115000003,K3,440115001,3000,22.800,113.50
440115000004,K4,440115001,4000,22.950,113.50
440115000005,K5,440115001,5000,22.830,113.50
"""

EVENTS = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id
1,2024-04-02 10:00,checkout,I1,R1,,C1
2,2024-04-03 10:00,transfer,I1,R2,R1,
3,2024-04-05 10:00,transfer,I1,R3,R2,
4,2024-04-08 10:00,return,I1,R3,,B1
5,2024-04-01 09:00,return,I2,R4,,C1
6,2024-04-02 09:00,checkout,I2,R4,,M1
7,2024-04-04 09:00,renew,I2,R4,,M1
8,2024-04-06 09:00,checkout,I2,R5,,M1
9,2024-04-07 09:00,transfer,I2,R6,R5,
10,2024-04-03 12:00,transfer,I3,R8,R7,
11,2024-04-10 08:00,checkout,I4,R1,,B1
12,2024-04-11 08:00,transfer,I4,R2,R9,
13,2024-04-12 08:00,return,I4,R2,,B1
14,2024-04-13 10:00,return,I5,R3,,C1
15,2024-04-13 10:00,checkout,I5,R3,,C1
16,2024-04-14 10:00,transfer,I5,R4,R3,
17,2024-04-14 10:00,checkout,I5,R3,,C1
"""


def minutes(degrees: float) -> float:
    """Walk minutes for a distance along a meridian, by the metrics' definition."""
    return 6371008.8 * math.radians(degrees) * 1.3 / 80


@pytest.fixture
def con(db, tmp_path):
    for name, text in (("b.csv", BRANCHES), ("c.csv", COMMUNITIES), ("e.csv", EVENTS)):
        result = load(db, tmp_path, name, text)
        assert result.rejected == 0, result
    return snapshot(db)


def ts(day: int, hour: int) -> datetime:
    return datetime(2024, 4, day, hour)


def test_chains(con):
    got = queries.run(con, "chains").select(
        "item_id", "chain_no", "started_at", "ended_at", "start_branch_id", "end_branch_id", "transfers", "holders",
        "status", "partial",
    )
    expected = pl.DataFrame(
        [
            ("I1", 1, ts(2, 10), ts(8, 10), "C1", "B1", 2, 3, "returned", False),
            ("I2", 1, ts(1, 9), ts(1, 9), None, "C1", 0, 1, "returned", True),  # a return with no open chain
            ("I2", 2, ts(2, 9), ts(6, 9), "M1", None, 0, 1, "unterminated", False),  # ended by a new checkout
            ("I2", 3, ts(6, 9), None, "M1", None, 1, 2, "open", False),
            ("I3", 1, ts(3, 12), None, None, None, 1, 2, "open", True),  # starts with a transfer
            ("I4", 1, ts(10, 8), ts(12, 8), "B1", "B1", 1, 2, "returned", False),
            ("I5", 1, ts(13, 10), ts(13, 10), "C1", "C1", 0, 1, "returned", False),  # tie: checkout before return
            ("I5", 2, ts(14, 10), None, "C1", None, 1, 2, "open", False),  # tie: checkout before transfer
        ],
        schema={"item_id": pl.String, "chain_no": pl.Int32, "started_at": pl.Datetime("us"),
                "ended_at": pl.Datetime("us"), "start_branch_id": pl.String, "end_branch_id": pl.String,
                "transfers": pl.Int32, "holders": pl.Int32, "status": pl.String, "partial": pl.Boolean},
        orient="row",
    )
    assert_frame_equal(got, expected)


def test_anomalies_are_transfers_from_someone_not_holding_the_copy(con):
    rows = con.sql("select event_key, item_id, anomaly from chain_transfers order by event_key").fetchall()
    assert [r for r in rows if r[2]] == [("id:12", "I4", True)]
    assert len(rows) == 6


KPI_COLUMNS = ["branches_open", "micro_branches_open", "checkouts", "transfers", "loans", "transfer_share",
               "active_readers", "copies_out", "copies_adrift", "chains_returned", "mean_holders", "residents_total",
               "residents_covered", "coverage_rate", "mean_walk_minutes", "mean_walk_minutes_without_micro"]


def test_kpis_whole_period(con):
    got = queries.run(con, "kpis", date_from=date(2024, 4, 1), date_to=date(2024, 4, 15)).row(0, named=True)
    walk = {"K1": minutes(0.003), "K2": minutes(0.005), "K3": 0.0, "K4": 0.0, "K5": minutes(0.02)}  # K5: M3 not public
    without = {"K1": minutes(0.047), "K2": minutes(0.005), "K3": 0.0, "K4": minutes(0.05), "K5": minutes(0.03)}
    pop = {"K1": 1000, "K2": 2000, "K3": 3000, "K4": 4000, "K5": 5000}
    expected = {
        "branches_open": 5, "micro_branches_open": 3,  # M2 closes on 2024-05-01, so it is open on 04-15
        "checkouts": 6, "transfers": 6, "loans": 12, "transfer_share": 0.5,
        "active_readers": 7,  # R1..R6 and R8 took a copy; R7 and R9 only handed one on
        "copies_out": 3, "copies_adrift": 3,  # I2 chain 3, I3 chain 1, I5 chain 2
        "chains_returned": 4, "mean_holders": (3 + 1 + 2 + 1) / 4,
        "residents_total": 15000, "residents_covered": 10000, "coverage_rate": 10000 / 15000,
        "mean_walk_minutes": sum(walk[k] * pop[k] for k in pop) / 15000,
        "mean_walk_minutes_without_micro": sum(without[k] * pop[k] for k in pop) / 15000,
    }
    assert {k: got[k] for k in KPI_COLUMNS} == pytest.approx(expected)


def test_kpis_short_period_and_five_minutes(con):
    got = queries.run(con, "kpis", date_from=date(2024, 4, 5), date_to=date(2024, 4, 9), walk_minutes=5)
    row = got.row(0, named=True)
    expected = {"checkouts": 1, "transfers": 2, "loans": 3, "active_readers": 3, "copies_out": 2, "copies_adrift": 2,
                "chains_returned": 1, "mean_holders": 3.0, "residents_covered": 7000}
    assert {k: row[k] for k in expected} == pytest.approx(expected)


def test_loans_by_branch_month(con):
    got = queries.run(con, "loans_by_branch_month")
    expected = pl.DataFrame(
        {"branch_id": ["B1", "C1", "M1", None], "month": [date(2024, 4, 1)] * 4,
         "checkouts": [1, 3, 2, 0], "transfers": [1, 3, 1, 1], "loans": [2, 6, 3, 1], "active_readers": [2, 4, 3, 1]},
    )
    assert_frame_equal(got, expected, check_dtypes=False)


def test_coverage_by_community_closed_and_private_branches_cover_no_one(con):
    got = queries.run(con, "coverage_by_community", date_to=date(2024, 6, 1), walk_minutes=10).select(
        "community_code", "nearest_branch_id", "walk_minutes", "walk_minutes_without_micro", "covered")
    expected = pl.DataFrame(
        [
            ("440115000001", "M1", minutes(0.003), minutes(0.047), True),
            ("440115000002", "B1", minutes(0.005), minutes(0.005), True),
            ("440115000003", "C1", 0.0, 0.0, True),
            ("440115000004", "B1", minutes(0.05), minutes(0.05), False),  # M2 closed on 2024-05-01
            ("440115000005", "M1", minutes(0.02), minutes(0.03), False),  # M3 has no public access
        ],
        schema=["community_code", "nearest_branch_id", "walk_minutes", "walk_minutes_without_micro", "covered"],
        orient="row",
    )
    assert_frame_equal(got, expected, abs_tol=1e-6)


def test_every_query_prepares_on_an_empty_database(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    con = snapshot(db)
    for name in queries.names():
        frame = queries.run(con, name)
        assert isinstance(frame, pl.DataFrame), name


def test_required_query_columns(con):
    required = {
        "kpis": KPI_COLUMNS,
        "chains": ["item_id", "chain_no", "started_at", "ended_at", "start_branch_id", "end_branch_id", "transfers",
                   "holders", "status", "partial"],
        "loans_by_branch_month": ["branch_id", "month", "checkouts", "transfers", "loans", "active_readers"],
        "coverage_by_community": ["community_code", "name", "town_code", "population", "nearest_branch_id",
                                  "walk_minutes", "walk_minutes_without_micro", "covered"],
    }
    for name, columns in required.items():
        assert set(columns) <= set(queries.run(con, name).columns), name


def test_a_snapshot_made_by_older_code_is_brought_up_to_the_current_schema(db, tmp_path):
    from microbranch import storage

    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "e.csv", EVENTS)
    with storage.writer(db) as con:  # what an older release left: no monthly rollup, another schema version
        con.sql("drop table loans_month; update meta set value = 'old' where key = 'schema'")
    with pytest.raises(Exception, match="loans_month"):
        queries.run(snapshot(db), "loans_by_branch_month")
    before = storage.current_version(db)
    storage.upgrade(db)
    assert storage.current_version(db) != before
    assert queries.run(snapshot(db), "loans_by_branch_month")["loans"].sum() == 12
    upgraded = storage.current_version(db)
    storage.upgrade(db)  # nothing left to do: no new snapshot
    assert storage.current_version(db) == upgraded


@pytest.mark.parametrize("numbered", [True, False])
def test_events_stored_by_older_code_are_moved_onto_numbers_and_keep_their_chains(db, tmp_path, numbered):
    from microbranch import storage

    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "e.csv", EVENTS)
    chains = queries.run(snapshot(db), "chains_full")
    events = snapshot(db).sql("select * exclude (item_no, reader_no, from_reader_no) from events order by event_key"
                              ).fetchall()
    with storage.writer(db) as con:  # an older release kept the events in a table of their own, copy and readers
        # as text, with their numbers (or, older still, without them); the numbers given then were its own
        numbers = ", item_no + 100 as item_no, reader_no + 100 as reader_no, from_reader_no + 100 as from_reader_no"
        con.sql(f"create table older as select * exclude (item_no, reader_no, from_reader_no)"
                f"{numbers if numbered else ''}, from events")
        con.sql("drop view events; alter table older rename to events; delete from event_rows; delete from chains; "
                "update meta set value = 'old' where key = 'schema'")
    storage.upgrade(db)
    con = snapshot(db)
    assert con.sql("select table_type from information_schema.tables where table_name = 'events'"
                   ).fetchall() == [("VIEW",)]
    assert_frame_equal(queries.run(con, "chains_full"), chains)
    assert con.sql("select * exclude (item_no, reader_no, from_reader_no) from events order by event_key"
                   ).fetchall() == events
    assert con.sql("select count(*) from event_rows").fetchall() == [(17,)]


def test_macro_files_are_shared_pieces_not_queries():
    assert queries.MACROS and all(p.stem.startswith("_") for p in queries.MACROS)
    assert not [n for n in queries.names() if n.startswith("_")]
    with pytest.raises(queries.UnknownQuery):
        queries.text("_macros")


def test_the_cli_lists_rejects_and_imports_through_named_queries(db, tmp_path, capsys):
    from microbranch.cli import main

    load(db, tmp_path, "b.csv", BRANCHES)
    load(db, tmp_path, "e.csv", "event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id\n"
                                "X1,2024-04-02 10:00:00,lend,I1,r1,,C1\n")
    capsys.readouterr()
    assert main(["--db", str(db), "rejects", "--import-id", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "import_id,file_name,line,file_column,column_name,value,reason,severity"
    assert out[1].startswith("2,e.csv,2,action,action,lend,\"取值不在允许范围内：checkout/借出")
    assert main(["--db", str(db), "imports"]) == 0
    assert "e.csv" in capsys.readouterr().out
