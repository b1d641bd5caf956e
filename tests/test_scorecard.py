"""Node scorecards on hand-made data, worked out by hand; the year 2024 has 366 days; cards drawn up on
2024-09-30 (274 days of the year gone: January-September).

    branch  host        opened       days open in 2024 / to date   transfers   readers
    MF      enterprise  2023-01-01   366 / 274                     21          22 (R01 checks out, R02..R22 take it on)
    MM      school      2024-07-01   184 /  92 (opened mid-year)    6           7 (S1 checks out, S2..S7)
    MS      community   2020-01-01   366 / 274                      2           3 (T1, T2, T3)
    MX      other       2022-01-01   closed 2024-03-01: 60 / 60     0           1 (U1 checks out on 2024-01-10)
    MN      school      2024-09-21   opened 10 days before 09-30    0           0  -> new, not judged (grace 90 days)
    C0      central: no card; a micro-branch closed in 2023 (MZ) has no card either.

Explicit targets of 20 transfers and 10 readers a year, prorated:
    MF  transfers: year 20, due 20 x 274/366 = 14.97 -> 21 met;      readers: 10 / 7.49 -> 22 met
    MM  transfers: year 20 x 184/366 = 10.05, due 20 x 92/366 = 5.03 -> 6 on track;
        readers: year 5.03, due 2.51 -> 7 met;                         overall on track
    MS  transfers: due 14.97 -> 2 behind; readers: due 7.49 -> 3 behind; overall behind
    MX  transfers: year = due = 20 x 60/366 = 3.28 -> 0 behind; readers: 1.64 -> 1 behind
    MN  new (before: behind in red, 0 of a due 20 x 10/366 = 0.55)

Targets from the peers (the default, no explicit numbers): each judged branch's pace a year = count x 366 / days
open to date. Transfers: MF 21 x 366/274 = 28.05, MM 6 x 366/92 = 23.87, MS 2 x 366/274 = 2.67, MX 0;
readers: MF 29.39, MM 27.85, MS 3 x 366/274 = 4.01, MX 1 x 366/60 = 6.10. Every host type has fewer than 3 judged
branches, so the peers are the network's 4 judged micro-branches (MN is new, left out): medians
transfers (2.67 + 23.87) / 2 = 13.27, readers (6.10 + 27.85) / 2 = 16.97 a year.
    MF  transfers 21 >= 13.27 met; readers 22 >= 16.97 met -> met
    MM  transfers year 13.27 x 184/366 = 6.67, due 13.27 x 92/366 = 3.34 -> 6 on track;
        readers year 8.53, due 4.27 -> 7 on track                      -> on track
    MS  due 13.27 x 274/366 = 9.93 -> 2 behind                         -> behind
    MX  due 13.27 x 60/366 = 2.18 -> 0 behind                          -> behind
Peer index (mean of pace / median): MF (28.05/13.27 + 29.39/16.97)/2 = 1.92, MM (1.80 + 1.64)/2 = 1.72,
MS (0.20 + 0.24)/2 = 0.22, MX (0 + 0.36)/2 = 0.18: ranks MF 1, MM 2, MS 3, MX 4; MN unranked.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from microbranch import queries, scorecard, settings, storage
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
MN,New,micro,school,440115001,22.86,113.50,2024-09-21,,yes,300
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
    con = storage.reader(db)
    try:
        return queries.run(con, "scorecard_by_branch", date_to=DAY, **(targets or scorecard.targets()).params())
    finally:
        con.close()


EXPLICIT = scorecard.Targets(transfers=20, readers=10)


def test_explicit_targets_bind_prorated_and_a_new_branch_is_not_judged(card_db):
    rows = cards(card_db, EXPLICIT)
    assert rows.select("branch_id", "days_open_in_year", "days_open_to_date", "transfers", "transfers_status",
                       "readers", "readers_status", "status").sort("branch_id").rows() == [
        ("MF", 366, 274, 21, "met", 22, "met", "met"),
        ("MM", 184, 92, 6, "on_track", 7, "met", "on_track"),
        ("MN", 102, 10, 0, "new", 0, "new", "new"),
        ("MS", 366, 274, 2, "behind", 3, "behind", "behind"),
        ("MX", 60, 60, 0, "behind", 1, "behind", "behind"),
    ]
    mm = rows.filter(branch_id="MM").row(0, named=True)
    assert mm["transfers_target"] == pytest.approx(20 * 184 / 366)
    assert mm["transfers_due"] == pytest.approx(20 * 92 / 366)
    assert mm["readers_target"] == pytest.approx(10 * 184 / 366)
    assert rows.filter(branch_id="MF")["transfers_due"].item() == pytest.approx(20 * 274 / 366)
    # A shorter grace: MN, 10 days open, is judged (and behind).
    shorter = cards(card_db, scorecard.Targets(transfers=20, readers=10, grace_days=7))
    assert shorter.filter(branch_id="MN")["status"].item() == "behind"


def test_targets_from_the_peers_rank_the_branches(card_db):
    rows = cards(card_db)
    assert rows["branch_id"].to_list() == ["MF", "MM", "MS", "MX", "MN"]  # by rank, the new branch last
    assert rows["peer_rank"].to_list() == [1, 2, 3, 4, None]
    assert rows["status"].to_list() == ["met", "on_track", "behind", "behind", "new"]
    transfers_median = (2 * 366 / 274 + 6 * 366 / 92) / 2
    readers_median = (1 * 366 / 60 + 7 * 366 / 92) / 2
    mf = rows.filter(branch_id="MF").row(0, named=True)
    assert mf["transfers_yearly"] == pytest.approx(transfers_median)  # 13.27
    assert mf["readers_yearly"] == pytest.approx(readers_median)  # 16.97
    assert (mf["peer_group"], mf["peers"]) == ("network", 4)
    assert mf["peer_index"] == pytest.approx((21 * 366 / 274 / transfers_median + 22 * 366 / 274 / readers_median) / 2)
    mm = rows.filter(branch_id="MM").row(0, named=True)
    assert mm["transfers_due"] == pytest.approx(transfers_median * 92 / 366)  # 3.34
    assert rows.filter(branch_id="MN")["peer_index"].item() is None
    # The branch filter keeps the network's ranks.
    con = storage.reader(card_db)
    try:
        only = queries.run(con, "scorecard_by_branch", date_to=DAY, branch_ids=["MS"], **scorecard.targets().params())
    finally:
        con.close()
    assert only.select("branch_id", "peer_rank").rows() == [("MS", 3)]


def test_targets_come_from_the_settings_file(card_db, tmp_path, monkeypatch):
    assert scorecard.targets() == scorecard.Targets(None, None, 3, 90)  # the documented defaults: from the peers
    edited = tmp_path / "scorecard.toml"
    edited.write_text("transfers = 5\ngrace_days = 30\n", encoding="utf-8")
    monkeypatch.setenv("MICROBRANCH_SCORECARD", str(edited))
    assert scorecard.targets() == scorecard.Targets(5, None, 3, 30)
    # MM: 5 x 184/366 = 2.51 -> 6 met; MS: 5 x 274/366 = 3.74 due -> 2 still behind; MN still new (10 < 30 days)
    rows = cards(card_db)
    assert dict(rows.select("branch_id", "transfers_status").rows()) == {
        "MM": "met", "MF": "met", "MS": "behind", "MX": "behind", "MN": "new"}
    edited.write_text("transfers = -1\nvisits = 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown: \\['visits'\\].*not a number >= 0: \\['transfers'\\]"):
        scorecard.targets()


def run_page(role: str | None = None, **params: str) -> AppTest:
    """The scorecards page signed in as `role` (None: the single local user, who has every role)."""
    return signed_in(settings.current().db, role, "app_pages/scorecards.py", **{"to": DAY.isoformat(), **params})


def test_the_scorecard_page_shows_the_query_and_suppresses_readers_for_the_official(card_db):
    manager = run_page(role="manager")
    frame = next(f.value for f in manager.dataframe if t("places_branch_id", "zh") in f.value.columns)
    assert list(frame.columns[:3]) == [t("card_peer_rank", "zh"), t("places_name", "zh"), t("card_status", "zh")]
    assert frame[t("places_branch_id", "zh")].tolist() == ["MF", "MM", "MS", "MX", "MN"]
    assert frame[t("card_readers", "zh")].tolist() == [22, 7, 3, 1, 0]
    assert frame[t("card_status", "zh")].tolist() == [
        t("card_status_met", "zh"), t("card_status_on_track", "zh"), t("card_status_behind", "zh"),
        t("card_status_behind", "zh"), t("card_status_new", "zh")]
    counts = {m.label: m.value for m in manager.metric}
    assert counts[t("card_status_behind", "zh")] == "2" and counts[t("card_status_new", "zh")] == "1"
    official = run_page(role="official")
    frame = next(f.value for f in official.dataframe if t("places_branch_id", "zh") in f.value.columns)
    assert frame[t("card_readers", "zh")].tolist() == ["22", "<10", "<10", "<10", "0"]


def test_the_scorecard_page_follows_the_branch_filter_and_says_so(card_db):
    at = run_page(branches="MS,C0")
    frame = next(f.value for f in at.dataframe if t("places_branch_id", "zh") in f.value.columns)
    assert frame[t("places_branch_id", "zh")].tolist() == ["MS"]
    assert frame[t("card_peer_rank", "zh")].tolist() == [3]  # its rank in the whole network
    assert any(c.value == t("card_ranked_note", "zh") for c in at.caption)
    only_central = run_page(branches="C0")
    assert t("card_none_chosen", "zh") in [i.value for i in only_central.info]
