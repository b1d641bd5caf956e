"""The circulation queries (overview, loans, drift chains, upload) on a small hand-made data set.

Every expected number below is worked out by hand from the events in EVENTS; the comments say how.
The data: four branches, six copies, 17 events from Monday 2024-04-01 to Wednesday 2024-05-08.

  I1 (C1, library):  E1 checkout r1 @C1 04-01 10:00, E2 transfer r1->r2 04-03 12:00, E3 r2->r3 04-05 09:00,
                     E4 return r3 @M1 04-10 15:00          => chain 1 returned, 3 holders, C1 -> M1 (cross-branch)
                     E5 checkout r4 @C1 04-15 10:00        => chain 2 open, 1 holder
  I2 (M1, library):  E6 checkout r1 @M1 04-02 11:00, E7 renew r1 04-04 18:00,
                     E8 transfer r2->r5 04-08 19:00        => chain 1 open, adrift, 2 holders; E8 is an anomaly
  I3 (M1, library):  E9 transfer r7->r6 04-06 10:00, E10 return r6 @M1 04-09 16:00
                                                           => chain 1 partial, returned, 2 holders, no start branch
                     E11 checkout r2 @M1 05-06 10:00, E12 transfer r2->r3 05-07 10:00
                                                           => chain 2 unterminated (by E13), 2 holders
                     E13 checkout r4 @M1 05-08 10:00       => chain 3 open, 1 holder
  I4 (B1, home-shared by rd9): E14 checkout r3 @B1 04-02 10:00, E15 return r3 @B1 04-04 10:00
                                                           => chain 1 returned at its start branch, 1 holder
                     E16 checkout r5 @B1 05-02 14:00, E17 transfer r5->r1 05-03 14:00 => chain 2 open, adrift
  I5 (C1, library, added 2010) and I6 (M2, library, no call number, added 2024-05-01): never borrowed.

Checkouts E1 E5 E6 E11 E13 E14 E16 = 7, transfers E2 E3 E8 E9 E12 E17 = 6, loans 13.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from microbranch import queries, storage
from microbranch.ingest import import_file, reason_text
from microbranch.privacy import load_key, pseudonym

BRANCHES = """branch_id,name,kind,host_type,lat,lon,opened_on,closed_on,public_access,volumes,host_population
C1,Central,central,,22.80,113.50,2019-01-01,,yes,1000,
B1,Town one,branch,,22.90,113.50,2015-01-01,,yes,500,
M1,Micro one,micro,enterprise,22.85,113.50,2024-04-01,,yes,100,300
M2,Micro two,micro,school,22.95,113.50,2024-04-01,,yes,50,800
"""
COMMUNITIES = """community_code,name,town_code,population,lat,lon
440115001001,Near,440115001,1000,22.80,113.50
440115001002,Far,440115001,2000,23.50,113.50
"""
ITEMS = """item_id,title,author,call_number,home_branch_id,owner,owner_reader_id,added_on
I1,Red,Ann,I247/1,C1,library,,2020-01-01
I2,Red,Ann,I247/1,M1,library,,2020-01-01
I3,Blue,Bob,K928/2,M1,library,,2021-01-01
I4,Green,Cy,TP31/3,B1,reader,rd9,2024-01-01
I5,Old,Dee,B82/4,C1,library,,2010-01-01
I6,Quiet,Eve,,M2,library,,2024-05-01
"""
EVENTS = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id,channel
E1,2024-04-01 10:00:00,checkout,I1,r1,,C1,counter
E2,2024-04-03 12:00:00,transfer,I1,r2,r1,,mini_program
E3,2024-04-05 09:00:00,transfer,I1,r3,r2,,mini_program
E4,2024-04-10 15:00:00,return,I1,r3,,M1,self_service
E5,2024-04-15 10:00:00,checkout,I1,r4,,C1,counter
E6,2024-04-02 11:00:00,checkout,I2,r1,,M1,self_service
E7,2024-04-04 18:00:00,renew,I2,r1,,M1,mini_program
E8,2024-04-08 19:00:00,transfer,I2,r5,r2,,mini_program
E9,2024-04-06 10:00:00,transfer,I3,r6,r7,,mini_program
E10,2024-04-09 16:00:00,return,I3,r6,,M1,counter
E11,2024-05-06 10:00:00,checkout,I3,r2,,M1,face
E12,2024-05-07 10:00:00,transfer,I3,r3,r2,,mini_program
E13,2024-05-08 10:00:00,checkout,I3,r4,,M1,counter
E14,2024-04-02 10:00:00,checkout,I4,r3,,B1,counter
E15,2024-04-04 10:00:00,return,I4,r3,,B1,counter
E16,2024-05-02 14:00:00,checkout,I4,r5,,B1,face
E17,2024-05-03 14:00:00,transfer,I4,r1,r5,,mini_program
"""
# A re-sent event (duplicate) and three bad rows: file lines 3, 4 and 5.
EVENTS_BAD = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id
E1,2024-04-01 10:00:00,checkout,I1,r1,,C1
X1,2024-04-02 10:00:00,lend,I1,r1,,C1
X2,not a date,checkout,I1,r1,,C1
X3,2024-04-03 10:00:00,transfer,I1,r2,,
"""
NOT_AN_EXPORT = "foo,bar\n1,2\n"
FILES = (("branches.csv", BRANCHES), ("communities.csv", COMMUNITIES), ("items.csv", ITEMS),
         ("events.csv", EVENTS), ("events_bad.csv", EVENTS_BAD), ("notes.csv", NOT_AN_EXPORT))
WHOLE = {"date_from": date(2024, 4, 1), "date_to": date(2024, 5, 8)}


def build(folder: Path) -> Path:
    """Import the hand-made files into a new database in `folder`; the caller sets MICROBRANCH_KEY_FILE."""
    db = folder / "data" / "microbranch.duckdb"
    for name, text in FILES:
        import_file(db, (name, text.encode("utf-8")), user="test")
    return db


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[duckdb.DuckDBPyConnection, dict[str, str]]:
    folder = tmp_path_factory.mktemp("circulation")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MICROBRANCH_KEY_FILE", str(folder / "secret" / "microbranch.key"))
        db = build(folder)
        key = load_key(db)
    con = storage.reader(db)
    yield con, {r: pseudonym(key, r) for r in ("r1", "r2", "r3", "r4", "r5", "r6", "r7")}
    con.close()


@pytest.fixture
def con(built) -> duckdb.DuckDBPyConnection:
    return built[0]


@pytest.fixture
def who(built) -> dict[str, str]:
    return built[1]


def rows(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> list[dict]:
    return queries.run(con, name, **params).to_dicts()


def ts(month: int, day: int, hour: int) -> datetime:
    return datetime(2024, month, day, hour)


def test_loans_by_week_kind(con):
    # Weeks start on Monday: 04-01, 04-08, 04-15, (04-22 none), 04-29, 05-06.
    expected = pl.DataFrame({
        "week": [date(2024, 4, 1)] * 4 + [date(2024, 4, 8), date(2024, 4, 15), date(2024, 4, 29), date(2024, 5, 6)],
        "kind": ["branch", "central", "micro", None, "micro", "central", "branch", "micro"],
        "checkouts": [1, 1, 1, 0, 0, 1, 1, 2],  # E14 | E1 | E6 | - | - | E5 | E16 | E11 E13
        "transfers": [0, 2, 0, 1, 1, 0, 1, 1],  # - | E2 E3 (chain from C1) | - | E9 (no start) | E8 | - | E17 | E12
        "loans": [1, 3, 1, 1, 1, 1, 2, 3],
    })
    assert_frame_equal(queries.run(con, "loans_by_week_kind", **WHOLE), expected)


def test_loans_by_week_kind_branch_filter(con):
    # Only M1: E6 (week 04-01), E8 (04-08), E11 E12 E13 (05-06); E9 has no start branch so is left out.
    got = rows(con, "loans_by_week_kind", **WHOLE, branch_ids=["M1"])
    assert got == [
        {"week": date(2024, 4, 1), "kind": "micro", "checkouts": 1, "transfers": 0, "loans": 1},
        {"week": date(2024, 4, 8), "kind": "micro", "checkouts": 0, "transfers": 1, "loans": 1},
        {"week": date(2024, 5, 6), "kind": "micro", "checkouts": 2, "transfers": 1, "loans": 3},
    ]


def test_loans_by_week(con):
    expected = pl.DataFrame({
        "week": [date(2024, 4, 1), date(2024, 4, 8), date(2024, 4, 15), date(2024, 4, 29), date(2024, 5, 6)],
        "checkouts": [3, 0, 1, 1, 2],
        "transfers": [3, 1, 0, 1, 1],
        "loans": [6, 1, 1, 2, 3],
        "transfer_share": [0.5, 1.0, 0.0, 0.5, 1 / 3],
    })
    assert_frame_equal(queries.run(con, "loans_by_week", **WHOLE), expected)


def test_loans_by_branch(con):
    # C1: E1 E5 + E2 E3 (readers r1 r4 r2 r3); M1: E6 E11 E13 + E8 E12 (r1 r2 r4 r5 r3); B1: E14 E16 + E17.
    expected = pl.DataFrame({
        "branch_id": ["M1", "C1", "B1", "M2"],
        "name": ["Micro one", "Central", "Town one", "Micro two"],
        "kind": ["micro", "central", "branch", "micro"],
        "host_type": ["enterprise", None, None, "school"],
        "checkouts": [3, 2, 2, 0],
        "transfers": [2, 2, 1, 0],
        "loans": [5, 4, 3, 0],
        "transfer_share": [0.4, 0.5, 1 / 3, None],
        "active_readers": [5, 4, 3, 0],
    })
    assert_frame_equal(queries.run(con, "loans_by_branch", **WHOLE), expected)


def test_loans_by_branch_period_and_filter(con):
    # 04-21 .. 05-08 at B1 and C1: only E16 and E17 (B1); C1 had nothing but was open.
    got = rows(con, "loans_by_branch", date_from=date(2024, 4, 21), date_to=date(2024, 5, 8), branch_ids=["B1", "C1"])
    assert [(r["branch_id"], r["checkouts"], r["transfers"], r["active_readers"]) for r in got] == [
        ("B1", 1, 1, 2), ("C1", 0, 0, 0)]


def test_turnover_by_branch(con):
    # Loans of each copy: I1 4 (E1 E2 E3 E5), I2 2 (E6 E8), I3 4 (E9 E11 E12 E13), I4 3 (E14 E16 E17).
    expected = pl.DataFrame({
        "branch_id": ["M1", "B1", "C1", "M2"],
        "name": ["Micro one", "Town one", "Central", "Micro two"],
        "kind": ["micro", "branch", "central", "micro"],
        "volumes": pl.Series([100, 500, 1000, 50], dtype=pl.Int32),
        "copies": [2, 1, 2, 1],  # M1: I2 I3; B1: I4; C1: I1 I5; M2: I6
        "loans": [6, 3, 4, 0],
        "turnover": [6 / 100, 3 / 500, 4 / 1000, 0.0],
    })
    assert_frame_equal(queries.run(con, "turnover_by_branch", **WHOLE), expected)


def test_loans_by_weekday_hour(con):
    # (ISO weekday, hour): checkouts, transfers. 04-01 is a Monday.
    cells = {
        (1, 10): (3, 0),  # E1 Mon 04-01, E5 Mon 04-15, E11 Mon 05-06
        (1, 19): (0, 1),  # E8 Mon 04-08
        (2, 10): (1, 1),  # E14 Tue 04-02, E12 Tue 05-07
        (2, 11): (1, 0),  # E6 Tue 04-02
        (3, 10): (1, 0),  # E13 Wed 05-08
        (3, 12): (0, 1),  # E2 Wed 04-03
        (4, 14): (1, 0),  # E16 Thu 05-02
        (5, 9): (0, 1),  # E3 Fri 04-05
        (5, 14): (0, 1),  # E17 Fri 05-03
        (6, 10): (0, 1),  # E9 Sat 04-06
    }
    grid = [(d, h, *cells.get((d, h), (0, 0))) for d in range(1, 8) for h in range(24)]
    expected = pl.DataFrame(grid, schema=["weekday", "hour", "checkouts", "transfers"], orient="row").with_columns(
        loans=pl.col("checkouts") + pl.col("transfers"))
    got = queries.run(con, "loans_by_weekday_hour", **WHOLE)
    assert_frame_equal(got, expected)
    assert got["loans"].sum() == 13


def test_loans_by_clc(con):
    expected = pl.DataFrame({
        "clc_class": ["B", "I", "K", "T", None],  # I5 | I1 I2 | I3 | I4 (TP) | I6 (no call number)
        "copies": [1, 2, 1, 1, 1],
        "loans": [0, 6, 4, 3, 0],
        "loans_per_copy": [0.0, 3.0, 4.0, 3.0, 0.0],
    })
    assert_frame_equal(queries.run(con, "loans_by_clc", **WHOLE), expected)


def test_titles_by_loans(con):
    expected = pl.DataFrame({
        "title": ["Red", "Blue", "Green"],  # Red = I1 + I2; titles never borrowed are left out
        "author": ["Ann", "Bob", "Cy"],
        "clc_class": ["I", "K", "T"],
        "copies": [2, 1, 1],
        "loans": [6, 4, 3],
    })
    assert_frame_equal(queries.run(con, "titles_by_loans", **WHOLE), expected)
    assert rows(con, "titles_by_loans", **WHOLE, top=1) == [
        {"title": "Red", "author": "Ann", "clc_class": "I", "copies": 2, "loans": 6}]


def test_items_never_borrowed(con):
    expected = pl.DataFrame({
        "item_id": ["I5", "I6"],
        "title": ["Old", "Quiet"],
        "author": ["Dee", "Eve"],
        "call_number": ["B82/4", None],
        "clc_class": ["B", None],
        "home_branch_id": ["C1", "M2"],
        "home_branch": ["Central", "Micro two"],
        "added_on": [date(2010, 1, 1), date(2024, 5, 1)],
        "days_in_stock": [(date(2024, 5, 8) - date(2010, 1, 1)).days, 7],
    }, schema_overrides={"call_number": pl.String, "clc_class": pl.String})
    assert_frame_equal(queries.run(con, "items_never_borrowed_full", date_to=date(2024, 5, 8)), expected)
    assert_frame_equal(queries.run(con, "items_never_borrowed", date_to=date(2024, 5, 8)).drop("total"), expected)
    # On 04-30 I6 was not yet in stock; I3's copy had been borrowed (E9), I4 is home-shared, not weeded.
    assert [r["item_id"] for r in rows(con, "items_never_borrowed", date_to=date(2024, 4, 30))] == ["I5"]


def test_loans_by_owner(con):
    expected = pl.DataFrame({
        "owner": ["library", "reader"],
        "copies": [5, 1],  # I1 I2 I3 I5 I6 | I4
        "copies_borrowed": [3, 1],
        "checkouts": [5, 2],  # E1 E5 E6 E11 E13 | E14 E16
        "transfers": [5, 1],  # E2 E3 E8 E9 E12 | E17
        "loans": [10, 3],
        "loans_per_copy": [2.0, 3.0],
    })
    assert_frame_equal(queries.run(con, "loans_by_owner", **WHOLE), expected)


def test_readers_by_month(con):
    # April: E1 E2 E3 E5 E6 E8 E9 E14 by r1 r2 r3 r4 r1 r5 r6 r3; May: E11 E12 E13 E16 E17 by r2 r3 r4 r5 r1.
    expected = pl.DataFrame({
        "month": [date(2024, 4, 1), date(2024, 5, 1)],
        "active_readers": [6, 5],
        "loans": [8, 5],
        "loans_per_reader": [8 / 6, 1.0],
    })
    assert_frame_equal(queries.run(con, "readers_by_month", **WHOLE), expected)


def test_chain_kpis(con):
    # 8 chains; at the end of 05-08: returned I1/1 I3/1 I4/1, open I1/2 I2/1 I3/3 I4/2, unterminated I3/2.
    # Days per holder, complete returned chains: I1/1 (9 days 5 hours) / 3 and I4/1 2 days / 1.
    assert rows(con, "chain_kpis", **WHOLE) == [{
        "chains_returned": 3, "copies_out": 4, "copies_adrift": 2, "chains_unterminated": 1, "chains_partial": 1,
        "cross_branch_returns": 1, "mean_holders": 2.0,
        "days_per_holder": pytest.approx(((9 + 5 / 24) / 3 + 2.0) / 2), "returns_avoided": 6,
    }]


def test_chain_kpis_agree_with_kpis(con):
    for period in (WHOLE, {"date_from": date(2024, 4, 3), "date_to": date(2024, 4, 9)}):
        chain = rows(con, "chain_kpis", **period)[0]
        kpi = rows(con, "kpis", **period)[0]
        for key in ("chains_returned", "copies_out", "copies_adrift", "mean_holders"):
            assert chain[key] == kpi[key], key
        assert chain["returns_avoided"] == kpi["transfers"]


def test_chain_kpis_as_at_an_earlier_day(con):
    # 04-03 .. 04-09, status at the end of 04-09: I1/1 open (returned 04-10) with 3 holders by then,
    # I2/1 open and adrift (E8 04-08), I3/1 returned 04-09 16:00 (partial); I4/1 returned 04-04.
    assert rows(con, "chain_kpis", date_from=date(2024, 4, 3), date_to=date(2024, 4, 9)) == [{
        "chains_returned": 2, "copies_out": 2, "copies_adrift": 2, "chains_unterminated": 0, "chains_partial": 1,
        "cross_branch_returns": 0, "mean_holders": 1.5, "days_per_holder": 2.0, "returns_avoided": 4,
    }]


def test_chains_by_holders(con):
    expected = pl.DataFrame({
        "holders": [1, 2, 3],
        "returned": [1, 1, 1],  # I4/1 | I3/1 | I1/1
        "open": [2, 2, 0],  # I1/2 I3/3 | I2/1 I4/2
        "unterminated": [0, 1, 0],  # I3/2
        "chains": [3, 4, 1],
    })
    assert_frame_equal(queries.run(con, "chains_by_holders", **WHOLE), expected)


def test_chains_by_days_per_holder(con):
    expected = pl.DataFrame({"days_per_holder": pl.Series([2, 3], dtype=pl.Int32), "chains": [1, 1]})
    assert_frame_equal(queries.run(con, "chains_by_days_per_holder", **WHOLE), expected)


def test_returns_by_branch_pair(con):
    assert rows(con, "returns_by_branch_pair", **WHOLE) == [{
        "start_branch_id": "C1", "start_branch": "Central", "end_branch_id": "M1", "end_branch": "Micro one",
        "chains": 1, "pairs": 1}]
    assert rows(con, "returns_by_branch_pair", **WHOLE, branch_ids=["B1"]) == []


def test_chains_longest(con):
    got = queries.run(con, "chains_longest", **WHOLE).select(
        "item_id", "chain_no", "title", "status", "partial", "holders", "days", "start_branch", "end_branch")
    expected = pl.DataFrame({
        "item_id": ["I1", "I2", "I4", "I3", "I3", "I1", "I4", "I3"],
        "chain_no": pl.Series([1, 1, 2, 1, 2, 2, 1, 3], dtype=pl.Int32),
        "title": ["Red", "Red", "Green", "Blue", "Blue", "Red", "Green", "Blue"],
        "status": ["returned", "open", "open", "returned", "unterminated", "open", "returned", "open"],
        "partial": [False, False, False, True, False, False, False, False],
        "holders": [3, 2, 2, 2, 2, 1, 1, 1],
        "days": [9, 36, 6, 3, 2, 23, 2, 0],  # 04-01..04-10 | 04-02..05-08 | 05-02..05-08 | 04-06..04-09 | ...
        "start_branch": ["Central", "Micro one", "Town one", None, "Micro one", "Central", "Town one", "Micro one"],
        "end_branch": ["Micro one", None, None, "Micro one", None, None, "Town one", None],
    })
    assert_frame_equal(got, expected)
    first = rows(con, "chains_longest", **WHOLE, top=1)
    assert [(r["item_id"], r["started_at"], r["ended_at"]) for r in first] == [("I1", ts(4, 1, 10), ts(4, 10, 15))]


def test_chains_adrift(con, who):
    assert rows(con, "chains_adrift_full", date_to=date(2024, 5, 8)) == [
        {"item_id": "I2", "title": "Red", "chain_no": 1, "start_branch_id": "M1", "start_branch": "Micro one",
         "started_at": ts(4, 2, 11), "last_transfer_at": ts(4, 8, 19), "holders": 2, "days_out": 36,
         "holder": who["r5"]},
        {"item_id": "I4", "title": "Green", "chain_no": 2, "start_branch_id": "B1", "start_branch": "Town one",
         "started_at": ts(5, 2, 14), "last_transfer_at": ts(5, 3, 14), "holders": 2, "days_out": 6,
         "holder": who["r1"]},
    ]


def test_chains_adrift_as_at_an_earlier_day(con, who):
    # End of 04-05: I1/1 handed on twice (E2, E3), held by r3; I2/1 not yet handed on.
    got = rows(con, "chains_adrift_full", date_to=date(2024, 4, 5))
    assert [(r["item_id"], r["holders"], r["days_out"], r["holder"]) for r in got] == [("I1", 3, 4, who["r3"])]


def test_adrift_by_branch(con):
    assert rows(con, "adrift_by_branch", date_to=date(2024, 5, 8)) == [
        {"branch_id": "B1", "name": "Town one", "kind": "branch", "copies_adrift": 1, "mean_days_out": 6.0},
        {"branch_id": "M1", "name": "Micro one", "kind": "micro", "copies_adrift": 1, "mean_days_out": 36.0},
    ]


def test_chain_steps_by_item(con, who):
    def step(chain, at, action, reader, from_reader, branch_id, branch, until, anomaly=False):
        return {"chain_no": chain, "occurred_at": at, "action": action, "reader": who[reader],
                "from_reader": who.get(from_reader), "branch_id": branch_id, "branch": branch,
                "held_until": until, "anomaly": anomaly, "title": "Blue" if branch_id != "x" else None}

    assert rows(con, "chain_steps_by_item", item_id="I3") == [
        step(1, ts(4, 6, 10), "transfer", "r6", "r7", None, None, ts(4, 9, 16)),
        step(1, ts(4, 9, 16), "return", "r6", None, "M1", "Micro one", None),
        step(2, ts(5, 6, 10), "checkout", "r2", None, "M1", "Micro one", ts(5, 7, 10)),
        step(2, ts(5, 7, 10), "transfer", "r3", "r2", None, None, ts(5, 8, 10)),  # until the next checkout
        step(3, ts(5, 8, 10), "checkout", "r4", None, "M1", "Micro one", None),  # still held
    ]
    got = rows(con, "chain_steps_by_item", item_id="I2")
    assert [(r["action"], r["held_until"], r["anomaly"]) for r in got] == [
        ("checkout", ts(4, 8, 19), False),  # the renewal in between does not end r1's holding
        ("renew", None, False),
        ("transfer", None, True),  # from r2 while r1 held the copy
    ]
    assert rows(con, "chain_steps_by_item", item_id="nope") == []


def test_anomalies(con, who):
    assert rows(con, "anomalies", **WHOLE) == [{
        "occurred_at": ts(4, 8, 19), "item_id": "I2", "title": "Red", "chain_no": 1, "reader": who["r5"],
        "from_reader": who["r2"], "expected_holder": who["r1"], "start_branch": "Micro one"}]
    assert rows(con, "anomalies", date_from=date(2024, 4, 9), date_to=date(2024, 5, 8)) == []


def test_imports(con):
    got = queries.run(con, "imports").drop("imported_at")
    expected = pl.DataFrame({
        "import_id": pl.Series([6, 5, 4, 3, 2, 1], dtype=pl.Int32),
        "user_name": ["test"] * 6,
        "file_name": ["notes.csv", "events_bad.csv", "events.csv", "items.csv", "communities.csv", "branches.csv"],
        "kind": [None, "events", "events", "items", "communities", "branches"],
        "encoding": ["utf-8"] * 6,  # a refused file was read: its encoding is known
        "lines_read": [0, 4, 17, 6, 2, 4],
        "accepted": [0, 0, 17, 6, 2, 4],
        "rejected": [0, 3, 0, 0, 0, 0],
        "duplicates": [0, 1, 0, 0, 0, 0],
        "orphans": [0, 0, 0, 0, 0, 0],
        "status": ["refused", "imported", "imported", "imported", "imported", "imported"],
    })
    assert_frame_equal(got.drop("message", "undone_at", "undone_by"), expected)
    assert got["undone_at"].null_count() == got["undone_by"].null_count() == 6
    assert got["message"][0].startswith("This file's kind cannot be recognised")
    assert got["message"][1:].to_list() == [""] * 5


def test_rejects_by_import(con):
    got = queries.run(con, "rejects_by_import", import_id=5)
    expected = pl.DataFrame({
        "line": [3, 4, 5],
        "file_column": ["action", "occurred_at", "from_reader_id"],
        "column_name": ["action", "occurred_at", "from_reader_id"],
        "value": ["lend", "not a date", None],
        "reason": ["enum", "date", "from_reader"],
        "detail": [got["detail"][0], None, None],
        "severity": ["reject"] * 3,
    }, schema_overrides={"value": pl.String})
    assert_frame_equal(got, expected)
    assert reason_text("enum", got["detail"][0], "reject", "zh").startswith("取值不在允许范围内：checkout/借出")
    assert queries.run(con, "rejects_by_import", import_id=4).is_empty()
