"""Node scorecards on hand-made data, worked out by hand; the year 2024 has 366 days; cards drawn up on
2024-09-30 (274 days of the year gone: January-September).

    branch  opened       days open in 2024 / to date   transfers   readers
    MF      2023-01-01   366 / 274                     21          22 (R01 checks out, R02..R22 take it on)
    MM      2024-07-01   184 /  92 (opened mid-year)    6           7 (S1 checks out, S2..S7)
    MS      2020-01-01   366 / 274                      2           3 (T1, T2, T3)
    MX      2022-01-01   closed 2024-03-01: 60 / 60     0           1 (U1 checks out on 2024-01-10)
    C0      central: no card; a micro-branch closed in 2023 (MZ) has no card either.

Targets (defaults): 20 transfers and 10 readers a year. Prorated:
    MF  transfers: year 20, due 20 x 274/366 = 14.97 -> 21 met;      readers: 10 / 7.49 -> 22 met
    MM  transfers: year 20 x 184/366 = 10.05, due 20 x 92/366 = 5.03 -> 6 on track;
        readers: year 5.03, due 2.51 -> 7 met;                         overall on track
    MS  transfers: due 14.97 -> 2 behind; readers: due 7.49 -> 3 behind; overall behind
    MX  transfers: year = due = 20 x 60/366 = 3.28 -> 0 behind; readers: 1.64 -> 1 behind
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from microbranch import queries, scorecard, store
from microbranch.i18n import t
from tests.accounts import signed_in
from tests.conftest import load

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2024, 9, 30)

BRANCHES = """branch_id,name,kind,host_type,town_code,lat,lon,opened_on,closed_on,public_access,volumes
C0,Central,central,,440115001,22.80,113.50,2015-01-01,,yes,10000
MF,Full year,micro,enterprise,440115001,22.81,113.50,2023-01-01,,yes,300
MM,Mid year,micro,school,440115001,22.82,113.50,2024-07-01,,yes,300
MS,Slow,micro,community,440115001,22.83,113.50,2020-01-01,,yes,300
MX,Closed in March,micro,other,440115001,22.84,113.50,2022-01-01,2024-03-01,yes,300
MZ,Closed before,micro,other,440115001,22.85,113.50,2020-01-01,2023-06-01,yes,300
"""


def chain(first_id: int, item: str, branch: str, start: date, readers: list[str]) -> list[str]:
    """A checkout by the first reader at `branch`, a hand-over a day to each next reader, then a return."""
    rows = [f"{first_id},{start} 10:00,checkout,{item},{readers[0]},,{branch}"]
    for n, (prev, reader) in enumerate(zip(readers, readers[1:], strict=False), start=1):
        rows.append(f"{first_id + n},{start + timedelta(days=n)} 10:00,transfer,{item},{reader},{prev},")
    end = start + timedelta(days=len(readers))
    rows.append(f"{first_id + len(readers)},{end} 10:00,return,{item},{readers[-1]},,{branch}")
    return rows


EVENTS = "\n".join(["event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id",
                    *chain(100, "IF", "MF", date(2024, 2, 1), [f"R{i:02d}" for i in range(1, 23)]),
                    *chain(200, "IM", "MM", date(2024, 7, 5), [f"S{i}" for i in range(1, 8)]),
                    *chain(300, "IS", "MS", date(2024, 5, 5), ["T1", "T2", "T3"]),
                    *chain(400, "IX", "MX", date(2024, 1, 10), ["U1"]),
                    *chain(500, "IO", "MF", date(2023, 5, 5), ["V1", "V2"]),  # last year: not counted
                    "600,2024-09-30 18:00,checkout,IC,W1,,C0"]) + "\n"


@pytest.fixture
def card_db(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in (("branches.csv", BRANCHES), ("events.csv", EVENTS)):
        result = load(db, tmp_path, name, text)
        assert result.rejected == 0, result
    monkeypatch.setenv("MICROBRANCH_DB", str(db))
    monkeypatch.delenv("MICROBRANCH_SCORECARD", raising=False)
    return db


def cards(db: Path, targets: scorecard.Targets | None = None):
    con = store.reader(db)
    try:
        return queries.run(con, "scorecard_by_branch", date_to=DAY, **(targets or scorecard.targets()).params())
    finally:
        con.close()


def test_scorecards_prorate_the_targets_and_decide(card_db):
    rows = cards(card_db)
    assert rows.select("branch_id", "days_open_in_year", "days_open_to_date", "transfers", "transfers_status",
                       "readers", "readers_status", "status").rows() == [
        ("MS", 366, 274, 2, "behind", 3, "behind", "behind"),
        ("MX", 60, 60, 0, "behind", 1, "behind", "behind"),
        ("MM", 184, 92, 6, "on_track", 7, "met", "on_track"),
        ("MF", 366, 274, 21, "met", 22, "met", "met"),
    ]
    mm = rows.filter(branch_id="MM").row(0, named=True)
    assert mm["transfers_target"] == pytest.approx(20 * 184 / 366)
    assert mm["transfers_due"] == pytest.approx(20 * 92 / 366)
    assert mm["readers_target"] == pytest.approx(10 * 184 / 366)
    assert rows.filter(branch_id="MF")["transfers_due"].item() == pytest.approx(20 * 274 / 366)


def test_targets_come_from_the_settings_file(card_db, tmp_path, monkeypatch):
    assert scorecard.targets() == scorecard.Targets(20, 10, 3)  # the documented defaults
    edited = tmp_path / "scorecard.toml"
    edited.write_text("transfers = 5\n", encoding="utf-8")
    monkeypatch.setenv("MICROBRANCH_SCORECARD", str(edited))
    assert scorecard.targets() == scorecard.Targets(5, 10, 3)
    # MM: 5 x 184/366 = 2.51 -> 6 met; MS: 5 x 274/366 = 3.74 due -> 2 still behind
    rows = cards(card_db)
    assert dict(rows.select("branch_id", "transfers_status").rows()) == {
        "MM": "met", "MF": "met", "MS": "behind", "MX": "behind"}
    edited.write_text("transfers = -1\nvisits = 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown: \\['visits'\\].*not a number >= 0: \\['transfers'\\]"):
        scorecard.targets()


def run_page(role: str | None = None, **params: str) -> AppTest:
    """The scorecards page signed in as `role` (None: the single local user, who has every role)."""
    return signed_in(store.default_db(), role, "app_pages/scorecards.py", **{"to": DAY.isoformat(), **params})


def test_the_scorecard_page_shows_the_query_and_suppresses_readers_for_the_official(card_db):
    manager = run_page(role="manager")
    frame = next(f.value for f in manager.dataframe if t("places_branch_id", "zh") in f.value.columns)
    assert frame[t("places_branch_id", "zh")].tolist() == ["MS", "MX", "MM", "MF"]
    assert frame[t("card_readers", "zh")].tolist() == [3, 1, 7, 22]
    assert frame[t("card_status", "zh")].tolist() == [t("card_status_behind", "zh")] * 2 + [
        t("card_status_on_track", "zh"), t("card_status_met", "zh")]
    counts = {m.label: m.value for m in manager.metric}
    assert counts[t("card_status_behind", "zh")] == "2" and counts[t("card_status_met", "zh")] == "1"
    official = run_page(role="official")
    frame = next(f.value for f in official.dataframe if t("places_branch_id", "zh") in f.value.columns)
    assert frame[t("card_readers", "zh")].tolist() == ["<10", "<10", "<10", "22"]
