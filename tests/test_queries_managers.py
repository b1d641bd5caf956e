"""The managers' queries (whole circulation, overdue, lending x owning, readers, stock to move, readers won and kept)
on a small hand-made data set, every expected number worked out by hand from the story below.

Four branches: C1 (central), B1 (branch), M1 and M2 (micro). Eight copies; six readers (r6 is not in the readers
file). 19 events from Monday 2024-01-08 to Friday 2024-08-30 (the as-of day). Due dates are in brackets.

  I1 (home C1): E1 checkout r1 @C1 01-08 [02-07], E3 transfer r1->r2 01-20 [02-19], E5 return r2 @M1 02-05
                => sits at M1 since 02-05: send it M1 -> C1.
  I2 (home C1): E2 checkout r3 @C1 01-10 [02-09], E4 renew r3 by mini-program 02-01 [03-02], E7 return r3 @C1 02-20;
                E16 checkout r1 @C1 06-10 [07-10] => out at 08-30, 51 days overdue (07-10 -> 08-30).
  I3 (home M1): E6 checkout r4 @M1 02-10 [03-11], E8 transfer r4->r5 03-01 [03-31], E10 transfer r5->r6 03-20 [04-19]
                => adrift at 08-30, 133 days overdue (04-19 -> 08-30: 11 + 31 + 30 + 31 + 30).
  I4 (home M1): E9 checkout r2 @M1 03-05 [04-04], E11 return r2 @B1 03-25; E17 checkout r1 @B1 07-01 [07-31],
                E18 return r1 @B1 07-20 => lent by B1 though owned by M1; sits at B1 since 07-20: send B1 -> M1.
  I5 (home B1, added 2023-01-01): never lent.   I6 (home M2, added 2024-07-01): never lent.
  I7 (home M2): E14 checkout r5 @M2 05-02 [06-01], E15 return r5 @M2 05-20; E19 checkout r6 @M2 08-30 [09-29].
  I8 (home B1): E12 checkout r3 @B1 04-10 [05-10], E13 return r3 @C1 05-01 => sits at C1: send C1 -> B1.

Loans (checkouts and transfers-in) per reader: r1 E1 E16 E17 = 3; r2 E3 E9; r3 E2 E12; r4 E6; r5 E8 E14; r6 E10 E19.
Checkouts 9, transfers 3, loans 12, renewals 1, returns 6.
Readers: r1 普通读者 born 1980, r2 学生读者 2006, r3 少儿读者 2015, r4 普通读者 1960, r5 企业读者 1990.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from microbranch import queries, storage
from microbranch.ingest import import_file

BRANCHES = """branch_id,name,kind,host_type,lat,lon,opened_on,closed_on,public_access,volumes,host_population
C1,Central,central,,22.80,113.50,2019-01-01,,yes,1000,
B1,Town one,branch,,22.90,113.50,2015-01-01,,yes,500,
M1,Micro one,micro,enterprise,22.85,113.50,2023-04-01,,yes,100,300
M2,Micro two,micro,school,22.95,113.50,2023-04-01,,yes,50,800
"""
READERS = """reader_id,registered_on,home_branch_id,birth_year,reader_type
r1,2020-01-01,C1,1980,普通读者
r2,2023-09-01,M1,2006,学生读者
r3,2022-01-01,C1,2015,少儿读者
r4,2010-01-01,M1,1960,普通读者
r5,2024-02-01,M1,1990,企业读者
"""
ITEMS = """item_id,title,call_number,home_branch_id,owner,added_on
I1,One,I247/1,C1,library,2020-01-01
I2,Two,I247/2,C1,library,2020-01-01
I3,Three,K928/3,M1,library,2023-01-01
I4,Four,TP31/4,M1,library,2023-01-01
I5,Five,B82/5,B1,library,2023-01-01
I6,Six,I247/6,M2,library,2024-07-01
I7,Seven,I247/7,M2,library,2023-06-01
I8,Eight,K928/8,B1,library,2022-01-01
"""
EVENTS = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id,channel,due_at
E1,2024-01-08 10:00:00,checkout,I1,r1,,C1,counter,2024-02-07
E2,2024-01-10 11:00:00,checkout,I2,r3,,C1,counter,2024-02-09
E3,2024-01-20 12:00:00,transfer,I1,r2,r1,,mini_program,2024-02-19
E4,2024-02-01 09:00:00,renew,I2,r3,,,mini_program,2024-03-02
E5,2024-02-05 15:00:00,return,I1,r2,,M1,self_service,
E6,2024-02-10 10:00:00,checkout,I3,r4,,M1,counter,2024-03-11
E7,2024-02-20 16:00:00,return,I2,r3,,C1,counter,
E8,2024-03-01 12:00:00,transfer,I3,r5,r4,,mini_program,2024-03-31
E9,2024-03-05 10:00:00,checkout,I4,r2,,M1,counter,2024-04-04
E10,2024-03-20 12:00:00,transfer,I3,r6,r5,,mini_program,2024-04-19
E11,2024-03-25 17:00:00,return,I4,r2,,B1,counter,
E12,2024-04-10 10:00:00,checkout,I8,r3,,B1,counter,2024-05-10
E13,2024-05-01 10:00:00,return,I8,r3,,C1,counter,
E14,2024-05-02 10:00:00,checkout,I7,r5,,M2,face,2024-06-01
E15,2024-05-20 10:00:00,return,I7,r5,,M2,counter,
E16,2024-06-10 10:00:00,checkout,I2,r1,,C1,counter,2024-07-10
E17,2024-07-01 10:00:00,checkout,I4,r1,,B1,counter,2024-07-31
E18,2024-07-20 10:00:00,return,I4,r1,,B1,counter,
E19,2024-08-30 10:00:00,checkout,I7,r6,,M2,face,2024-09-29
"""
FILES = (("branches.csv", BRANCHES), ("readers.csv", READERS), ("items.csv", ITEMS), ("events.csv", EVENTS))


def build(folder: Path) -> Path:
    """Import the story into a new database in `folder`; the caller sets MICROBRANCH_KEY_FILE."""
    db = folder / "data" / "microbranch.duckdb"
    for name, text in FILES:
        import_file(db, (name, text.encode("utf-8")), user="test")
    return db


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    folder = tmp_path_factory.mktemp("managers")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MICROBRANCH_KEY_FILE", str(folder / "secret" / "microbranch.key"))
        db = build(folder)
    con = storage.reader(db)
    yield con
    con.close()


def frame(columns: dict[str, list], schema: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
    return pl.DataFrame(columns, schema_overrides=schema or {})


def check(con: duckdb.DuckDBPyConnection, name: str, expected: pl.DataFrame, **params: object) -> None:
    got = queries.run(con, name, **params)
    assert_frame_equal(got.select(expected.columns), expected, check_dtypes=False)


def d(month: int, day: int) -> date:
    return date(2024, month, day)


def test_circulation_by_period_branch(con):
    # Renewals go to the chain's start branch (E4: C1, though made by mini-program); returns where made (E5 at M1).
    expected = frame({
        "period": [d(1, 1), d(2, 1), d(2, 1), d(3, 1), d(3, 1), d(4, 1), d(5, 1), d(5, 1), d(6, 1), d(7, 1),
                   d(8, 1)],
        "branch_id": ["C1", "C1", "M1", "B1", "M1", "B1", "C1", "M2", "C1", "B1", "M2"],
        "checkouts": [2, 0, 1, 0, 1, 1, 0, 1, 1, 1, 1],   # E1 E2 | - | E6 | - | E9 | E12 | - | E14 | E16 | E17 | E19
        "transfers": [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0],   # E3 (chain from C1) | E8 E10 (chain from M1)
        "loans": [3, 0, 1, 0, 3, 1, 0, 1, 1, 1, 1],
        "renewals": [0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],    # E4
        "returns": [0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0],     # E7 | E5 | E11 | E13 | E15 | E18
    })
    check(con, "circulation_by_period_branch", expected)


def test_circulation_by_period_branch_weeks_and_filter(con):
    # B1 only, by week from Monday: E11 return (Mon 03-25), E12 (Mon 04-08 week), E17 (Mon 07-01), E18 (week 07-15).
    expected = frame({
        "period": [d(3, 25), d(4, 8), d(7, 1), d(7, 15)],
        "branch_id": ["B1"] * 4,
        "checkouts": [0, 1, 1, 0],
        "returns": [1, 0, 0, 1],
    })
    check(con, "circulation_by_period_branch", expected, unit="week", branch_ids=["B1"])


def test_loans_by_lending_owning(con):
    # E17 is the one loan lent by one branch (B1) of another's copy (I4, owned by M1).
    expected = frame({
        "lending_branch_id": ["C1", "M1", "M2", "B1", "B1"],
        "owning_branch_id": ["C1", "M1", "M2", "B1", "M1"],
        "checkouts": [3, 2, 2, 1, 1],   # E1 E2 E16 | E6 E9 | E14 E19 | E12 | E17
        "transfers": [1, 2, 0, 0, 0],   # E3 | E8 E10
        "loans": [4, 4, 2, 1, 1],
    })
    check(con, "loans_by_lending_owning", expected)
    # Of M1's copies or lent by M1: its own loans and I4's loan at B1.
    check(con, "loans_by_lending_owning", expected.filter(pl.col("owning_branch_id") == "M1"), branch_ids=["M1"])


def test_overdue_by_branch_at_the_as_of_day(con):
    # Out at 08-30: I2 (C1, due 07-10: 51 days), I3 (M1, adrift, due 04-19: 133 days), I7 (M2, due 09-29: not yet).
    expected = frame({
        "branch_id": ["C1", "M1", "M2"],
        "copies_out": [1, 1, 1],
        "copies_overdue": [1, 1, 0],
        "overdue_share": [1.0, 1.0, 0.0],
        "overdue_1_30": [0, 0, 0],
        "overdue_31_90": [1, 0, 0],
        "overdue_over_90": [0, 1, 0],
        "mean_days_overdue": [51.0, 133.0, None],
        "max_days_overdue": [51, 133, None],
        "copies_adrift_overdue": [0, 1, 0],
    })
    check(con, "overdue_by_branch", expected)


def test_overdue_by_branch_counts_the_renewal(con):
    # At 02-15: I2 is out, due 02-09 by its checkout but 03-02 after the renewal E4: not overdue. I3 due 03-11.
    expected = frame({"branch_id": ["C1", "M1"], "copies_out": [1, 1], "copies_overdue": [0, 0]})
    check(con, "overdue_by_branch", expected, date_to=d(2, 15))
    # At 04-20: I3 is one day past 04-19 (set by its last hand-over E10); I8 (E12, B1) is due 05-10.
    check(con, "overdue_by_branch", frame({"branch_id": ["M1", "B1"], "copies_out": [1, 1], "copies_overdue": [1, 0],
                                           "max_days_overdue": [1, None], "copies_adrift_overdue": [1, 0]}),
          date_to=d(4, 20))


def test_loans_by_reader_type(con):
    expected = frame({
        "reader_type": ["普通读者", "企业读者", "学生读者", "少儿读者", None],
        "active_readers": [2, 1, 1, 1, 1],   # r1 r4 | r5 | r2 | r3 | r6 (not in the readers file)
        "loans": [4, 2, 2, 2, 2],            # 3 + 1
        "loans_per_reader": [2.0, 2.0, 2.0, 2.0, 2.0],
    })
    check(con, "loans_by_reader_type", expected)


def test_loans_by_age_band(con):
    # Ages in 2024: r1 44, r2 18, r3 9, r4 64, r5 34; r6 unknown.
    expected = frame({
        "age_band": ["7-12", "18-34", "35-59", "60+", None],
        "age_from": [7, 18, 35, 60, None],
        "active_readers": [1, 2, 1, 1, 1],   # r3 | r2 r5 | r1 | r4 | r6
        "loans": [2, 4, 3, 1, 2],
    })
    check(con, "loans_by_age_band", expected)
    # Loans of M2 only: E14 (r5) and E19 (r6).
    check(con, "loans_by_age_band", frame({"age_band": ["18-34", None], "active_readers": [1, 1], "loans": [1, 1]}),
          branch_ids=["M2"])


def test_circulated_by_branch(con):
    expected = frame({
        "branch_id": ["C1", "M1", "B1", "M2"],
        "copies": [2, 2, 2, 2],
        "copies_circulated": [2, 2, 1, 1],   # I1 I2 | I3 I4 | I8 (not I5) | I7 (not I6)
        "share_circulated": [1.0, 1.0, 0.5, 0.5],
    })
    check(con, "circulated_by_branch", expected)
    # June to August: I2 (E16), I4 (E17), I7 (E19); nothing of B1's. I6 (added 07-01) counts by 08-30.
    summer = frame({"branch_id": ["C1", "M1", "M2", "B1"], "copies_circulated": [1, 1, 1, 0],
                    "share_circulated": [0.5, 0.5, 0.5, 0.0]})
    check(con, "circulated_by_branch", summer, date_from=d(6, 1), date_to=d(8, 30))


def test_stock_by_branch(con):
    # At 08-30: I1 on M1's shelf, I4 on B1's, I8 on C1's (all away from home); I5 at B1 and I6 at M2 at home;
    # I2, I3, I7 out. Branches with most copies out of place (foreign here + own away) first.
    expected = frame({
        "branch_id": ["B1", "C1", "M1", "M2"],
        "copies_own": [2, 2, 2, 2],
        "own_here": [1, 0, 0, 1],      # I5 | - | - | I6
        "own_away": [1, 1, 1, 0],      # I8 at C1 | I1 at M1 | I4 at B1
        "own_on_loan": [0, 1, 1, 1],   # I2 | I3 | I7
        "foreign_here": [1, 1, 1, 0],  # I4 | I8 | I1
    })
    check(con, "stock_by_branch", expected)


def test_stock_by_branch_earlier(con):
    # At 04-15: I6 not yet in stock; I7 never lent so at home; I2 back home (E7); I8 out (E12); I1 at M1, I4 at B1.
    expected = frame({
        "branch_id": ["M1", "B1", "C1", "M2"],
        "copies_own": [2, 2, 2, 1],
        "own_here": [0, 1, 1, 1],
        "own_away": [1, 0, 1, 0],
        "own_on_loan": [1, 1, 0, 0],
        "foreign_here": [1, 1, 0, 0],
    })
    check(con, "stock_by_branch", expected, date_to=d(4, 15))


def test_a_copy_returned_on_the_last_day_sits_on_that_shelf(tmp_path, monkeypatch):
    """On the data's last day every copy is as copy_state holds it (nothing happened later): a copy returned that
    day, even in its last hour, is on the shelf where it came back, not on loan; the day before it was out."""
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    db = tmp_path / "data" / "microbranch.duckdb"
    events = EVENTS.replace("E19,2024-08-30 10:00:00,", "E19,2024-08-29 10:00:00,") + (
        "E20,2024-08-30 23:30:00,return,I2,r1,,M1,counter,\n")
    for name, text in (*FILES[:3], ("events.csv", events)):
        import_file(db, (name, text.encode("utf-8")), user="test")
    con = storage.reader(db)
    for day in (None, d(8, 30)):
        stock = queries.run(con, "stock_by_branch", date_to=day).filter(pl.col("branch_id").is_in(["C1", "M1"]))
        assert stock.select("branch_id", "own_away", "own_on_loan", "foreign_here").sort("branch_id").rows() == [
            ("C1", 2, 0, 1), ("M1", 1, 1, 2)], day  # I1 and I2 at M1; I3 out; I4 at B1; I8 at C1
        moves = queries.run(con, "moves_by_item_full", date_to=day).filter(pl.col("item_id") == "I2")
        assert moves.select("from_branch_id", "to_branch_id", "on_shelf_since").rows() == [("M1", "C1", d(8, 30))]
    before = queries.run(con, "stock_by_branch", date_to=d(8, 29)).filter(pl.col("branch_id") == "C1")
    assert before.select("own_away", "own_on_loan").rows() == [(1, 1)]


def test_moves_by_item(con):
    expected = frame({
        "item_id": ["I4", "I8", "I1"],
        "from_branch_id": ["B1", "C1", "M1"],
        "to_branch_id": ["M1", "B1", "C1"],
        "on_shelf_since": [d(7, 20), d(5, 1), d(2, 5)],
        "days_there": [41, 121, 207],   # 07-20, 05-01 and 02-05 to 08-30
    })
    check(con, "moves_by_item", expected)
    check(con, "moves_by_item", expected.filter(pl.col("item_id") != "I8"), branch_ids=["M1"])


def test_dead_stock(con):
    # Three months before 08-30 is 05-30. On a shelf, in stock by then and not lent since: I1 (last 01-20),
    # I5 (never), I8 (last 04-10). Not I4 (lent 07-01), not I6 (added 07-01); I2, I3, I7 are out.
    by_branch = frame({
        "branch_id": ["B1", "C1", "M1", "M2"],
        "copies": [2, 2, 2, 2],
        "copies_dead": [2, 1, 0, 0],
        "dead_share": [1.0, 0.5, 0.0, 0.0],
    })
    check(con, "dead_stock_by_branch", by_branch, months=3)
    items = frame({
        "item_id": ["I5", "I1", "I8"],
        "home_branch_id": ["B1", "C1", "B1"],
        "shelf_branch_id": ["B1", "M1", "C1"],
        "last_loan_on": [None, d(1, 20), d(4, 10)],
    }, {"last_loan_on": pl.Date})
    check(con, "dead_stock_by_item", items, months=3)
    # One month (since 07-30): I4 (lent 07-01) and I6 (in stock since 07-01, never lent) join them.
    check(con, "dead_stock_by_branch", frame({"branch_id": ["B1", "C1", "M1", "M2"], "copies_dead": [2, 1, 1, 1]}),
          months=1)


def test_dead_stock_too_new_to_judge(con):
    """A branch opened within the window cannot have copies unlent for the whole window: its dead stock is empty
    ("too new to judge"), not 0%. Eighteen months before 08-30 is 2023-02-28; M1 and M2 opened on 2023-04-01.
    C1 and B1 are judged: in stock by 2023-02-28 and not lent since, only I5 (B1, never lent); I1 and I8 were lent
    in 2024. B1 1 of 2 copies (50%), C1 0 of 2. M1 and M2 come last, empty."""
    expected = frame({
        "branch_id": ["B1", "C1", "M1", "M2"],
        "copies": [2, 2, 2, 2],
        "copies_dead": [1, 0, None, None],
        "dead_share": [0.5, 0.0, None, None],
        "too_new": [False, False, True, True],
    }, {"copies_dead": pl.Int64, "dead_share": pl.Float64})
    check(con, "dead_stock_by_branch", expected, months=18)
    # with six months (since 2024-02-29) every branch is old enough
    assert not queries.run(con, "dead_stock_by_branch", months=6)["too_new"].any()


def test_new_readers_by_month_branch(con):
    """New readers from the registration date (办证日期) when the readers file has it (metrics.md, "new readers").
    The data begins on 01-08, so with the default warm-up of 3 months a first loan before 04-01 does not prove a
    reader new. r1 (registered 2020), r2 (2023-09), r3 (2022) and r4 (2010) are long-time readers: their first
    loans in the data (January, February) are not new readers. r5 registered on 2024-02-01 (first loan E8 03-01,
    a transfer of the chain from M1): new in February at M1, known by registration. r6 is not in the readers file;
    first loan E10 03-20 (the chain from M1) lies inside the warm-up: new in March at M1, censored (greyed).
    The old count took every first loan in the data: 3 in January, 1 in February, 2 in March."""
    expected = frame({
        "month": [d(2, 1), d(3, 1)],
        "branch_id": ["M1", "M1"],
        "kind": ["micro", "micro"],
        "new_readers": [1, 1],
        "registered": [1, 0],
        "censored": [False, True],
    })
    check(con, "new_readers_by_month_branch", expected)
    check(con, "new_readers_by_month_branch", expected.tail(1), date_from=d(3, 1))
    # A warm-up of 2 months ends on 03-01: r6's first loan (03-20) then proves r6 new.
    check(con, "new_readers_by_month_branch", expected.tail(1).with_columns(censored=pl.lit(False)),
          date_from=d(3, 1), warmup_months=2)


def test_retention_by_cohort(con):
    """Cohorts of new readers only, by the month of their first loan: r5 (E8 03-01, next loan E14 05-02: within
    3 months) and r6 (E10 03-20, next E19 08-30: within 6) in March, both from M1's chain (micro). r1-r4 are
    long-time readers (registered before the data) and no longer make up cohorts. A window is known when the
    cohort's last day plus it is by 08-30: March + 6 months (09-30) is not. r6 is known by its first loan only,
    inside the warm-up: the cohort is censored."""
    expected = frame({
        "month": [d(3, 1)],
        "branch_group": ["micro"],
        "new_readers": [2],
        "again_1m": [0],
        "again_3m": [1],
        "again_6m": [None],
        "censored": [True],
    }, {"again_6m": pl.Int64})
    check(con, "retention_by_cohort", expected)
    # C1's first loans were all long-time readers': no cohort.
    assert queries.run(con, "retention_by_cohort", date_to=d(6, 30), branch_ids=["C1"]).height == 0


def test_kpis_follow_the_branch_filter(con):
    # M1: loans E6 E9 (checkouts) and E8 E10 (transfers of the chain from M1), readers r4 r2 r5 r6. At 08-30 the
    # chain of I3 (from M1) is out and adrift; I4's chain from M1 (E9) came back in the period (at B1), 1 holder.
    got = queries.run(con, "kpis", branch_ids=["M1"]).row(0, named=True)
    assert {k: got[k] for k in ("checkouts", "transfers", "loans", "active_readers", "copies_out", "copies_adrift",
                                "chains_returned", "mean_holders", "branches_open", "micro_branches_open")} == {
        "checkouts": 2, "transfers": 2, "loans": 4, "active_readers": 4, "copies_out": 1, "copies_adrift": 1,
        "chains_returned": 1, "mean_holders": 1.0, "branches_open": 1, "micro_branches_open": 1}
    # Every loan here has a branch: the branches' loans add up to the whole.
    whole = queries.run(con, "kpis").row(0, named=True)
    parts = [queries.run(con, "kpis", branch_ids=[b]).row(0, named=True) for b in ("C1", "B1", "M1", "M2")]
    for key in ("loans", "checkouts", "transfers", "copies_out", "copies_adrift", "chains_returned"):
        assert sum(p[key] for p in parts) == whole[key], key
    assert whole["residents_total"] == parts[0]["residents_total"]  # the whole district, whatever the filter


def test_renewal_at_the_moment_of_the_return_counts_at_the_chain_start(tmp_path, monkeypatch):
    """A date-only export (every event at midnight): copy J1 is checked out at W01 on 07-12; on 08-10 the export
    holds its renewal and its return, both at 00:00. By the tie order of docs/metrics.md (checkout, transfer,
    renew, return) the renewal comes before the return, inside the chain W01 started, so it counts at W01; the
    return counts where it was made (W02). August: W01 0 checkouts, 1 renewal, 0 returns; W02 1 return. No row
    has an empty branch."""
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    db = tmp_path / "data" / "microbranch.duckdb"
    files = {
        "branches.csv": "branch_id,name,kind,lat,lon,opened_on,public_access,volumes\n"
        "W01,West one,micro,22.8,113.5,2023-01-01,yes,10\nW02,West two,branch,22.9,113.5,2023-01-01,yes,10\n",
        "items.csv": "item_id,title,home_branch_id,owner,added_on\nJ1,One,W01,library,2023-01-01\n",
        "events.csv": "event_id,occurred_at,action,item_id,reader_id,branch_id\n"
        "X1,2024-07-12,checkout,J1,q1,W01\nX2,2024-08-10,return,J1,q1,W02\nX3,2024-08-10,renew,J1,q1,\n",
    }
    for name, text in files.items():
        import_file(db, (name, text.encode("utf-8")), user="test")
    con = storage.reader(db)
    try:
        expected = frame({
            "period": [d(7, 1), d(8, 1), d(8, 1)],
            "branch_id": ["W01", "W01", "W02"],
            "checkouts": [1, 0, 0],
            "renewals": [0, 1, 0],
            "returns": [0, 0, 1],
        })
        check(con, "circulation_by_period_branch", expected)
    finally:
        con.close()


def test_the_move_list_as_a_van_run(con):
    """At 08-30 three copies sit away from home (test_moves_by_item): I8 at C1 (to B1), I4 at B1 (to M1), I1 at M1
    (to C1). The run stops at B1, C1, M1 in branch order, one copy each; the sheet lists each copy under its stop
    with its call number and an empty box; the printable page has a table per stop."""
    from microbranch import vanrun

    moves = queries.run(con, "moves_by_item_full")
    stops = vanrun.stops(moves)
    assert stops.select("stop", "from_branch_id", "copies", "to_branches").rows() == [
        (1, "B1", 1, "Micro one"), (2, "C1", 1, "Town one"), (3, "M1", 1, "Central")]
    sheet = vanrun.sheet(moves)
    assert sheet.select("stop", "item_id", "call_number", "to_branch", "tick").rows() == [
        (1, "I4", "TP31/4", "Micro one", "☐"), (2, "I8", "K928/8", "Town one", "☐"),
        (3, "I1", "I247/1", "Central", "☐")]
    page = vanrun.printable(moves, d(8, 30), "zh")
    assert page.count("<table>") == 3 and "第 1 站：Town one（取 1 册）" in page and "TP31/4" in page
