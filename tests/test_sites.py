"""Next sites solved exactly, on a hand-made geography where the greedy choice is not the best.

Five communities on the meridian 113.50 E, 0.0066 degree apart (11.93 walk minutes; two steps = 23.85 min,
beyond the 15-minute walk), far from the only branch (the central library, a whole degree north):

    E 22.7868 (9,000)   A 22.7934 (10,000)   B 22.8000 (2,000)   C 22.8066 (10,000)   D 22.8132 (9,000)

A site at a community reaches itself and its neighbours:
    E: E+A = 19,000   A: E+A+B = 21,000   B: A+B+C = 22,000   C: B+C+D = 21,000   D: C+D = 19,000
Greedy takes B first (22,000); the second site then adds only E or D (9,000): 31,000 for k = 2.
The best pairs reach everyone, 40,000: A + C, A + D or E + C. Gap 9,000.
For k = 1 both take B; from k = 3 both reach all.

A micro-branch opening on 2024-09-01 at C (and the central library closing on 2024-12-31) changes the
problem on the day chosen for the plan.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from microbranch import queries, sites, storage
from microbranch.i18n import t
from microbranch.ingest import import_file
from tests.conftest import write

ROOT = Path(__file__).resolve().parent.parent
STEP = 0.0066
NAMES = ("E", "A", "B", "C", "D")
POPULATION = (9000, 10000, 2000, 10000, 9000)
DAY = date(2024, 6, 30)
BEST_PAIRS = ({"A", "C"}, {"A", "D"}, {"E", "C"})

BRANCHES = """branch_id,name,kind,host_type,town_code,lat,lon,opened_on,closed_on,public_access,volumes
C0,Central,central,,440115001,23.80,113.50,2020-01-01,2024-12-31,yes,10000
MC,Micro at C,micro,community,440115001,22.8066,113.50,2024-09-01,,yes,300
"""
COMMUNITIES = "community_code,name,town_code,population,lat,lon\n" + "".join(
    f"44011500100{i},{n},440115001,{p},{22.80 + (i - 2) * STEP:.4f},113.50\n"
    for i, (n, p) in enumerate(zip(NAMES, POPULATION, strict=True)))
EVENTS = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id
1,2024-03-01 10:00,checkout,I1,R1,,C0
2,2024-06-30 10:00,return,I1,R1,,C0
"""


@pytest.fixture
def line_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    db = tmp_path / "data" / "microbranch.duckdb"
    for name, text in (("branches.csv", BRANCHES), ("communities.csv", COMMUNITIES), ("events.csv", EVENTS)):
        result = import_file(db, write(tmp_path, name, text))
        assert result.status == "imported" and result.rejected == 0, result
    monkeypatch.setenv("MICROBRANCH_DB", str(db))
    for name in ("MICROBRANCH_TILE_URL", "MICROBRANCH_TILE_CRS"):
        monkeypatch.delenv(name, raising=False)
    return db


def communities(db: Path, day: date = DAY, walk: float = 15) -> pl.DataFrame:
    con = storage.reader(db)
    try:
        return queries.run(con, "coverage_by_community", date_to=day, walk_minutes=walk)
    finally:
        con.close()


def test_exact_finds_the_better_pair_greedy_misses(line_db):
    problem = sites.Problem(communities(line_db), 15)
    greedy, exact = problem.greedy(2), problem.exact(2, time_limit=30)
    names = problem.candidates["name"]
    assert [names[j] for j in greedy.picks] == ["B", "E"] and greedy.gain == 31000
    assert {names[j] for j in exact.picks} in BEST_PAIRS and exact.gain == 40000
    assert exact.status == "optimal" and exact.bound == 40000


def test_plan_sets_exact_and_greedy_side_by_side_for_k_1_to_10(line_db):
    plan = sites.plan(communities(line_db), 15, time_limit=30)
    rows = plan.compare.select("k", "greedy_gain", "exact_gain", "gap", "bound", "status").rows()
    assert rows[:3] == [(1, 22000, 22000, 0, 22000, "optimal"), (2, 31000, 40000, 9000, 40000, "optimal"),
                        (3, 40000, 40000, 0, 40000, "optimal")]
    assert len(rows) == 10 and all(r[2] == 40000 for r in rows[2:])
    assert set(plan.exact[1]["name"]) in BEST_PAIRS
    assert plan.exact[1]["gain"].sum() == 40000 and plan.exact[1]["communities_gained"].sum() == 5
    assert plan.greedy[1]["name"].to_list() == ["B", "E"]
    assert plan.compare["residents_covered"][1] == 40000 and plan.compare["coverage_rate"][1] == 1.0


def test_the_plan_day_counts_branches_opened_and_closed_by_then(line_db):
    # 2024-10-01: the micro-branch at C is open, so B, C, D are covered; the best site then is A (E + A).
    october = sites.plan(communities(line_db, date(2024, 10, 1)), 15, time_limit=30)
    assert october.compare["exact_gain"][0] == 19000
    assert october.exact[0]["name"].to_list() == ["A"] or october.exact[0]["name"].to_list() == ["E"]
    # 2025-01-01: the central library has closed; nothing changes here (it was a degree away), but the
    # walk of every community is now to the micro-branch only.
    later = communities(line_db, date(2025, 1, 1))
    assert later["nearest_branch_id"].unique().to_list() == ["MC"]


def test_uploaded_candidate_addresses_take_part(line_db):
    # Midway hall stands at B: it reaches A, B and C (11.9 min each way), not E or D.
    text = "name,lat,lon\nMidway hall,22.8000,113.50\nHarbour office,22.7901,113.50\n"
    candidates = sites.read_candidates_csv(text.encode("utf-8-sig"))
    assert candidates["site_id"].to_list() == ["U1", "U2"]
    only = sites.plan(communities(line_db), 15, candidates, only_candidates=True, time_limit=30, k_max=2)
    # Harbour office (22.7901) reaches E (6.0 min), A (6.0) and B (17.9: no): 19,000; Midway 22,000.
    assert only.compare["exact_gain"].to_list() == [22000, 31000]
    assert only.exact[1]["name"].to_list() == ["Midway hall", "Harbour office"]


def test_candidate_files_that_cannot_be_used_say_what_to_change():
    with pytest.raises(sites.CandidateError, match="missing: lon"):
        sites.read_candidates_csv(b"name,lat\nX,22.8\n")
    with pytest.raises(sites.CandidateError, match="no usable lat/lon"):
        sites.read_candidates_csv("name,lat,lon\n礼堂,north,113.5\n".encode("gb18030"))


def test_a_solve_stopped_on_time_keeps_the_best_found_and_reads_the_bound():
    log = ("Cbc0020I Exiting on maximum time\n"
           "Cbc0005I Partial search - best objective -31000 (best possible -40000), took 12 iterations\n"
           "Result - Stopped on time limit\n")
    assert sites._stopped_on_time(log)
    assert sites._bound(log, 31000) == 40000
    assert not sites._stopped_on_time("Result - Optimal solution found\n")


def test_the_residents_page_shows_the_gap(line_db):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.query_params.update({"to": DAY.isoformat()})
    at.switch_page("app_pages/residents.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.slider(key="next_k").set_value(2).run()
    assert not at.exception, [e.value for e in at.exception]
    cards = {m.label: m.value for m in at.metric}
    assert cards[t("sites_gap_metric", "zh", k=2)] == "9,000"
    assert cards[t("places_exact_gain", "zh")] == "40,000"
    assert cards[t("places_greedy_gain", "zh")] == "31,000"
    compare = next(f.value for f in at.dataframe if t("places_gap", "zh") in f.value.columns)
    assert compare[t("places_gap", "zh")].tolist()[:3] == [0, 9000, 0]
    assert compare[t("places_solve_status", "zh")].tolist()[1] == t("sites_status_optimal", "zh")
    exact = next(f.value for f in at.dataframe if list(f.value.columns[:2]) == [t("places_step", "zh"),
                                                                                 t("places_site_id", "zh")])
    assert set(exact[t("places_name", "zh")].tolist()) in BEST_PAIRS


def test_the_page_shows_best_found_and_bound_when_a_solve_stops_on_time(line_db, monkeypatch):
    # CBC proves these tiny problems at once; a solve stopped on time is stood in for by its result.
    def stopped(self, k, time_limit=20.0, start=None):
        start = start or self.greedy(k)
        return sites.Solution(k, start.picks, start.gain, start.gain + 500, "time_limit", time_limit)

    monkeypatch.setattr(sites.Problem, "exact", stopped)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.query_params.update({"to": DAY.isoformat()})
    at.switch_page("app_pages/residents.py")
    at.run()
    at.number_input(key="sites_limit").set_value(7).run()  # a limit of its own: not the cached plan
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert t("sites_time_limit_note", "zh", k=3, gain=40000, bound=40500) in warnings
    compare = next(f.value for f in at.dataframe if t("places_gap", "zh") in f.value.columns)
    assert compare[t("places_solve_status", "zh")].tolist()[0] == t("sites_status_time_limit", "zh")
    assert compare[t("places_bound", "zh")].tolist()[:2] == [22500, 31500]
