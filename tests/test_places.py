"""Residents served, coverage, next sites and suppression on a hand-made geography, worked out by hand.

Everything lies on the meridian 113.50 E, so a walk is an arc of latitude: 0.01 degree = 1,111.95 m,
x 1.3 detour / 80 m a minute = 18.07 minutes; 1 minute = 0.000553 degree. The offsets below sit just
inside or outside the 5 / 10 / 15-minute thresholds:

    0.0027 deg = 4.88 min    0.0050 deg = 9.03 min    0.0060 deg = 10.84 min    0.0080 deg = 14.46 min

Branches (on 2024-06-30):                 Communities (population):
    C0 central     22.800  open, public       K1 22.8027 (1,000)  4.88 min from C0
    M1 micro       22.830  open, public       K2 22.8050 (2,000)  9.03 min from C0
    M2 micro       22.860  open, NOT public   K3 22.8220 (3,000) 14.46 min from M1 (39.75 from C0)
    B3 branch      22.889  closed 2023-12-31  K4 22.8600 (4,000) on M2 (not public): 54.21 min to M1
    M4 micro (given in GCJ-02) = 22.920       K5 22.8890 (5,000) on B3 (closed): 56.01 min to M4
    M5 micro       22.700  opens 2024-09-01   K6 22.9227 (  600)  4.88 min from M4
                                              K7 22.7500 (2,100) } 10.84 min apart, both far from
                                              K8 22.7440 (2,000) } every branch (90.3 / 101.2 min)
                                              K9 22.7000 (3,500) on M5 (not open yet): 180.7 min to C0
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from microbranch import coverage, geo, queries, storage
from microbranch.access import COMPLEMENTARY, PRIMARY, rollup_sums, suppress_rollup, suppression
from microbranch.ingest import import_file
from tests.conftest import load

DAY = date(2024, 6, 30)
BEFORE_MICRO = date(2023, 6, 30)
GCJ_LAT, GCJ_LON = 22.9172325, 113.5052934  # WGS-84 (22.92, 113.50) shifted to GCJ-02

BRANCHES = f"""branch_id,name,kind,host_type,town_code,lat,lon,coord_system,opened_on,closed_on,public_access,\
host_population,volumes
C0,Central,central,,440115001,22.800,113.50,wgs84,2020-01-01,,yes,,10000
M1,Micro community,micro,community,440115001,22.830,113.50,wgs84,2024-01-01,,yes,,800
M2,Micro school,micro,school,440115002,22.860,113.50,wgs84,2024-01-01,,no,800,500
B3,Closed branch,branch,,440115002,22.889,113.50,wgs84,2015-01-01,2023-12-31,yes,,3000
M4,Micro enterprise,micro,enterprise,440115002,{GCJ_LAT},{GCJ_LON},gcj02,2024-02-01,,yes,2500,600
M5,Micro later,micro,other,440115003,22.700,113.50,wgs84,2024-09-01,,yes,,300
"""

COMMUNITIES = """community_code,name,town_code,population,lat,lon
440115001001,K1,440115001,1000,22.8027,113.50
440115001002,K2,440115001,2000,22.8050,113.50
440115001003,K3,440115001,3000,22.8220,113.50
440115002001,K4,440115002,4000,22.8600,113.50
440115002002,K5,440115002,5000,22.8890,113.50
440115002003,K6,440115002,600,22.9227,113.50
440115003001,K7,440115003,2100,22.7500,113.50
440115003002,K8,440115003,2000,22.7440,113.50
440115003003,K9,440115003,3500,22.7000,113.50
"""

# Loans in 2024-03-01 .. 2024-06-30: C0 one checkout + one transfer of its chain; M1 one checkout;
# M1's checkout on 2024-07-10 is after the period (and makes the data's default "as of" day 2024-07-10).
EVENTS = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id
1,2024-03-01 10:00,checkout,I1,R1,,C0
2,2024-03-05 10:00,transfer,I1,R2,R1,
3,2024-03-10 10:00,checkout,I2,R3,,M1
4,2024-06-30 10:00,return,I1,R2,,C0
5,2024-07-10 10:00,checkout,I3,R4,,M1
"""

# Registered readers per community: K1 12, K2 3, K3 25 | K4 0, K5 5, K6 0 | K7 30, K8 40, K9 50;
# plus two with no community and one in K7 registered after the day (not counted on 2024-06-30).
READER_COUNTS = {"440115001001": 12, "440115001002": 3, "440115001003": 25, "440115002002": 5,
                 "440115003001": 30, "440115003002": 40, "440115003003": 50}


def readers_csv() -> str:
    rows = ["reader_id,registered_on,home_branch_id,community_code"]
    n = 0
    for code, count in READER_COUNTS.items():
        for _ in range(count):
            n += 1
            rows.append(f"RD{n:05d},2023-05-01,C0,{code}")
    rows += ["RD90001,2023-05-01,C0,", "RD90002,2023-05-01,C0,", "RD90003,2024-08-01,C0,440115003001"]
    return "\n".join(rows) + "\n"


def minutes(degrees: float) -> float:
    """Walk minutes along a meridian: arc length R x angle, x 1.3 detour, at 80 m a minute."""
    return 6371008.8 * math.radians(degrees) * 1.3 / 80


def build(db: Path, folder: Path) -> None:
    for name, text in (("branches.csv", BRANCHES), ("communities.csv", COMMUNITIES),
                       ("readers.csv", readers_csv()), ("events.csv", EVENTS)):
        path = folder / name
        path.write_text(text, encoding="utf-8")
        result = import_file(db, path)
        assert result.status == "imported" and result.rejected == 0, result


@pytest.fixture(scope="module")
def places_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("places")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MICROBRANCH_KEY_FILE", str(folder / "secret" / "microbranch.key"))
        db = folder / "data" / "microbranch.duckdb"
        build(db, folder)
    return db


@pytest.fixture(scope="module")
def run(places_db: Path):
    con = storage.reader(places_db)

    def run_query(name: str, **params: object) -> pl.DataFrame:
        return queries.run(con, name, **params)

    yield run_query
    con.close()


# --- walking geometry ---------------------------------------------------------------------------------

def test_a_hundredth_of_a_degree_is_18_minutes():
    assert minutes(0.01) == pytest.approx(18.07, abs=0.005)
    assert geo.walk_minutes(22.80, 113.5, 22.81, 113.5) == pytest.approx(minutes(0.01), rel=1e-9)
    matrix = coverage.walk_minutes_matrix(pl.Series([22.80]).to_numpy(), pl.Series([113.5]).to_numpy(),
                                          pl.Series([22.8027, 22.805, 22.822]).to_numpy(),
                                          pl.Series([113.5, 113.5, 113.5]).to_numpy())
    assert matrix[0].tolist() == pytest.approx([minutes(0.0027), minutes(0.005), minutes(0.022)], rel=1e-9)


@pytest.mark.parametrize("walk", [5, 10, 15])
def test_walking_circle_radius_is_minutes_times_80_over_1_3(walk):
    assert coverage.walk_radius_m(walk) == pytest.approx(walk * 80 / 1.3)
    ring = coverage.circle(22.8, 113.5, coverage.walk_radius_m(walk), points=16)
    assert ring[0] == ring[-1] and len(ring) == 17
    for lat, lon in ring:
        assert geo.walk_minutes(22.8, 113.5, lat, lon) == pytest.approx(walk, rel=1e-9)


def test_town_area_is_the_padded_hull_of_its_community_centres():
    square = pl.DataFrame({"town_code": ["T"] * 5, "lat": [22.80, 22.80, 22.82, 22.82, 22.81],
                           "lon": [113.50, 113.52, 113.50, 113.52, 113.51]})
    area = coverage.town_areas(square, pad_m=100)["T"]
    assert area[0] == area[-1]
    lats, lons = [p[0] for p in area], [p[1] for p in area]
    pad = 100 / (6371008.8 * math.pi / 180)  # 100 m in degrees of latitude
    assert min(lats) == pytest.approx(22.80 - pad, abs=1e-7) and max(lats) == pytest.approx(22.82 + pad, abs=1e-7)
    assert min(lons) < 113.50 and max(lons) > 113.52
    # the centre point is inside, not on the hull
    assert (22.81, 113.51) not in area
    lone = coverage.town_areas(pl.DataFrame({"town_code": ["S"], "lat": [22.9], "lon": [113.4]}), pad_m=500)["S"]
    assert len(lone) > 3 and all(geo.walk_minutes(22.9, 113.4, a, o) <= 500 * 1.3 / 80 + 1e-9 for a, o in lone)


# --- import: GCJ-02 input --------------------------------------------------------------------------------

def test_a_branch_given_in_gcj02_is_stored_at_its_wgs84_point(run):
    m4 = run("branches_by_loans", date_to=DAY).filter(pl.col("branch_id") == "M4").row(0, named=True)
    assert m4["lat"] == pytest.approx(22.92, abs=1e-6) and m4["lon"] == pytest.approx(113.50, abs=1e-6)
    k6 = run("coverage_by_community", date_to=DAY).filter(pl.col("name") == "K6").row(0, named=True)
    assert k6["nearest_branch_id"] == "M4"
    assert k6["walk_minutes"] == pytest.approx(minutes(0.0027), abs=1e-3)


# --- coverage ---------------------------------------------------------------------------------------------

def test_walks_count_only_open_public_branches_with_and_without_micro(run):
    walks = run("coverage_by_community", date_to=DAY, walk_minutes=15).select(
        "name", "nearest_branch_id", "walk_minutes", "walk_minutes_without_micro", "covered")
    expected = pl.DataFrame({
        "name": ["K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9"],
        "nearest_branch_id": ["C0", "C0", "M1", "M1", "M4", "M4", "C0", "C0", "C0"],
        "walk_minutes": [minutes(d) for d in (0.0027, 0.005, 0.008, 0.03, 0.031, 0.0027, 0.05, 0.056, 0.1)],
        "walk_minutes_without_micro": [minutes(d) for d in (0.0027, 0.005, 0.022, 0.06, 0.089, 0.1227, 0.05,
                                                               0.056, 0.1)],
        "covered": [True, True, True, False, False, True, False, False, False],
    })
    assert_frame_equal(walks, expected, abs_tol=1e-3, check_exact=False)


def test_coverage_by_threshold(run):
    expected = pl.DataFrame({
        "walk_threshold": [5, 10, 15],
        "residents_total": [23200] * 3,
        "residents_covered": [1600, 3600, 6600],  # K1+K6 | +K2 | +K3
        "coverage_rate": [1600 / 23200, 3600 / 23200, 6600 / 23200],
        "residents_covered_without_micro": [1000, 3000, 3000],  # K1 | +K2 | K3 is 39.75 min from C0
        "coverage_rate_without_micro": [1000 / 23200, 3000 / 23200, 3000 / 23200],
        "residents_added_by_micro": [600, 600, 3600],
    }, schema_overrides={"walk_threshold": pl.Int32})
    assert_frame_equal(run("coverage_by_threshold", date_to=DAY), expected)


def test_coverage_before_the_micro_branches_counts_the_branch_open_then(run):
    # 2023-06-30: C0 and B3 (closed only at the end of 2023) are open; no micro-branch yet.
    rows = run("coverage_by_threshold", date_to=BEFORE_MICRO)
    assert rows["residents_covered"].to_list() == [6000, 8000, 8000]  # K1+K5 | +K2
    assert rows["residents_added_by_micro"].to_list() == [0, 0, 0]


def test_walk_by_town_means_are_population_weighted(run):
    rows = run("walk_by_town", date_to=DAY, walk_minutes=15)
    m = minutes
    t1 = (1000 * m(0.0027) + 2000 * m(0.005) + 3000 * m(0.008)) / 6000
    t1_without = (1000 * m(0.0027) + 2000 * m(0.005) + 3000 * m(0.022)) / 6000
    t2 = (4000 * m(0.03) + 5000 * m(0.031) + 600 * m(0.0027)) / 9600
    t2_without = (4000 * m(0.06) + 5000 * m(0.089) + 600 * m(0.1227)) / 9600
    t3 = (2100 * m(0.05) + 2000 * m(0.056) + 3500 * m(0.1)) / 7600
    all_with = (6000 * t1 + 9600 * t2 + 7600 * t3) / 23200
    all_without = (6000 * t1_without + 9600 * t2_without + 7600 * t3) / 23200
    expected = pl.DataFrame({
        "town_code": ["440115001", "440115002", "440115003", None],
        "is_district": [False, False, False, True],
        "communities": [3, 3, 3, 9],
        "residents_total": [6000, 9600, 7600, 23200],
        "residents_covered": [6000, 600, 0, 6600],
        "coverage_rate": [1.0, 600 / 9600, 0.0, 6600 / 23200],
        "residents_uncovered": [0, 9000, 7600, 16600],
        "communities_uncovered": [0, 2, 3, 5],
        "mean_walk_minutes": [t1, t2, t3, all_with],
        "mean_walk_minutes_without_micro": [t1_without, t2_without, t3, all_without],
        "walk_minutes_saved": [t1_without - t1, t2_without - t2, 0.0, all_without - all_with],
    })
    assert_frame_equal(rows, expected, abs_tol=1e-3, check_exact=False)


def test_walk_by_town_district_row_matches_the_kpis(run):
    district = run("walk_by_town", date_to=DAY, walk_minutes=10).filter(pl.col("is_district")).row(0, named=True)
    kpis = run("kpis", date_to=DAY, walk_minutes=10).row(0, named=True)
    for key in ("residents_total", "residents_covered", "coverage_rate", "mean_walk_minutes",
                "mean_walk_minutes_without_micro"):
        assert district[key] == pytest.approx(kpis[key]), key


def test_served_by_branch_counts_each_community_once_and_only_open_public_branches(run):
    expected = pl.DataFrame({
        "branch_id": ["C0", "M1", "M4", "M2"],  # B3 closed and M5 not yet open: not listed
        "name": ["Central", "Micro community", "Micro enterprise", "Micro school"],
        "kind": ["central", "micro", "micro", "micro"],
        "host_type": [None, "community", "enterprise", "school"],
        "public_access": [True, True, True, False],
        "communities_within_walk": [2, 1, 1, 0],  # here every reach is a nearest (see test_residents_within_walk)
        "residents_within_walk": [3000, 3000, 600, 0],
        "served_communities": [2, 1, 1, 0],
        "served_residents": [3000, 3000, 600, 0],  # K1+K2 | K3 | K6 | M2 is not public: K4 is not its
        "host_population": [None, None, 2500, 800],
    }, schema_overrides={"host_population": pl.Int32})
    served = run("served_by_branch", date_to=DAY, walk_minutes=15).cast({"communities_within_walk": pl.Int64})
    assert_frame_equal(served, expected)
    total = run("coverage_by_threshold", date_to=DAY).filter(pl.col("walk_threshold") == 15)["residents_covered"]
    assert served["served_residents"].sum() == total.item()
    only = run("served_by_branch", date_to=DAY, walk_minutes=5, branch_ids=["M4", "C0"])
    assert only.select("branch_id", "served_residents").rows() == [("C0", 1000), ("M4", 600)]


def test_uncovered_by_community_ranked_by_population(run):
    rows = run("uncovered_by_community", date_to=DAY, walk_minutes=15)
    assert rows.select("rank", "name", "population", "nearest_branch_id").rows() == [
        (1, "K5", 5000, "M4"), (2, "K4", 4000, "M1"), (3, "K9", 3500, "C0"), (4, "K7", 2100, "C0"),
        (5, "K8", 2000, "C0"),
    ]
    assert rows["walk_minutes"].to_list() == pytest.approx([minutes(d) for d in (0.031, 0.03, 0.1, 0.05, 0.056)],
                                                           abs=1e-3)
    assert rows["nearest_branch"].to_list() == ["Micro enterprise", "Micro community", "Central", "Central",
                                                "Central"]
    at_10 = run("uncovered_by_community", date_to=DAY, walk_minutes=10)
    assert at_10["name"].to_list() == ["K5", "K4", "K9", "K3", "K7", "K8"]


def test_branches_by_loans(run):
    rows = run("branches_by_loans", date_from=date(2024, 3, 1), date_to=DAY, walk_minutes=15)
    assert rows.select("branch_id", "status", "checkouts", "transfers", "loans", "served_residents").rows() == [
        ("C0", "open", 1, 1, 2, 3000),
        ("B3", "closed", 0, 0, 0, 0),
        ("M1", "open", 1, 0, 1, 3000),  # its checkout of 2024-07-10 is after the period
        ("M2", "not_public", 0, 0, 0, 0),
        ("M4", "open", 0, 0, 0, 600),
        ("M5", "not_open_yet", 0, 0, 0, 0),
    ]
    assert rows.filter(pl.col("branch_id") == "M1")["opened_on"].item() == date(2024, 1, 1)
    assert run("branches_by_loans", date_to=DAY, branch_ids=["M2"])["branch_id"].to_list() == ["M2"]


def test_penetration_by_community_rolls_up_to_towns_and_district(run):
    rows = run("penetration_by_community", date_to=DAY)
    assert rows.select("level", "town_code", "community_code", "population", "readers").rows() == [
        ("community", "440115001", "440115001001", 1000, 12),
        ("community", "440115001", "440115001002", 2000, 3),
        ("community", "440115001", "440115001003", 3000, 25),
        ("community", "440115002", "440115002001", 4000, 0),
        ("community", "440115002", "440115002002", 5000, 5),
        ("community", "440115002", "440115002003", 600, 0),
        ("community", "440115003", "440115003001", 2100, 30),  # the reader of 2024-08-01 not yet
        ("community", "440115003", "440115003002", 2000, 40),
        ("community", "440115003", "440115003003", 3500, 50),
        ("town", "440115001", None, 6000, 40),
        ("town", "440115002", None, 9600, 5),
        ("town", "440115003", None, 7600, 120),
        ("district", None, None, 23200, 165),
    ]
    assert rows["penetration"].to_list() == pytest.approx(
        [12.0, 1.5, 25 / 3, 0.0, 1.0, 0.0, 30 / 2.1, 20.0, 50 / 3.5, 40 / 6, 5 / 9.6, 120 / 7.6, 165 / 23.2])
    later = run("penetration_by_community", date_to=date(2024, 8, 1))
    assert later.filter(pl.col("community_code") == "440115003001")["readers"].item() == 31


# --- suppression ------------------------------------------------------------------------------------------

def test_counts_from_1_to_9_are_suppressed_zero_and_ten_are_not():
    assert suppression([0, 1, 9, 10, None], []) == [None, PRIMARY, PRIMARY, None, None]


def test_a_total_that_would_reveal_a_suppressed_cell_hides_the_next_smallest():
    # row: 12 + 3 + 25 = 40 published; 3 is suppressed, so 40 - 12 - 25 would give it away:
    # the next-smallest cell (12) is suppressed too, not 25.
    assert suppression([12, 3, 25, 40], [(3, [0, 1, 2])]) == [COMPLEMENTARY, PRIMARY, None, None]
    # without the total nothing else needs hiding
    assert suppression([12, 3, 25], []) == [None, PRIMARY, None]


def test_complementary_suppression_in_a_table_with_row_and_column_totals():
    #        c1  c2  c3 | row
    #   r1    3  20  30 |  53
    #   r2   15  12  40 |  67
    #   col  18  32  70 | 120
    # r1c1 = 3 is primary. Row r1 reveals it: hide r1c2 (20, next-smallest in the row). Column c1 reveals
    # it: hide r2c1 (15). Column c2 now reveals r1c2: hide r2c2 (12). Row r2 then has two hidden: done.
    cells = [3, 20, 30, 15, 12, 40]
    rows, cols, grand = [53, 67], [18, 32, 70], 120
    values = cells + rows + cols + [grand]
    r = {0: 6, 1: 7}
    c = {0: 8, 1: 9, 2: 10}
    sums = [(r[0], [0, 1, 2]), (r[1], [3, 4, 5]), (c[0], [0, 3]), (c[1], [1, 4]), (c[2], [2, 5]),
            (11, [6, 7]), (11, [8, 9, 10])]
    hidden = suppression(values, sums)
    assert hidden == [PRIMARY, COMPLEMENTARY, None, COMPLEMENTARY, COMPLEMENTARY, None,
                      None, None, None, None, None, None]
    for total, parts in sums:  # every published sum now hides none or at least two of its members
        assert sum(hidden[i] is not None for i in [total, *parts]) != 1


def test_rollup_sums():
    levels = ["community", "community", "community", "town", "town", "district"]
    groups = ["A", "A", "B", "A", "B", None]
    assert rollup_sums(levels, groups) == [(3, [0, 1]), (4, [2]), (5, [3, 4])]
    assert rollup_sums(["community", "community", "district"], ["A", "B", None]) == [(2, [0, 1])]


def test_penetration_for_the_official_suppresses_cells_and_the_totals_that_reveal_them(run):
    shown = suppress_rollup(run("penetration_by_community", date_to=DAY), "readers", {"penetration": "{:.1f}"})
    # K2 (3) and K5 (5) are primary, and so is the town total of 440115002 (5). Town 440115001's total 40
    # would reveal K2: its next-smallest cell K1 (12) goes too. The district total 165 would reveal town
    # 440115002's total: the next-smallest town total (40) goes too. K4 and K6 are 0 and stay visible:
    # town 440115002's total is hidden with K5, so it reveals nothing.
    assert shown["readers"].to_list() == [
        "x", "<10", "25", "0", "<10", "0", "30", "40", "50",
        "x", "<10", "120",
        "165",
    ]
    assert shown["penetration"].to_list() == [
        "x", "<10", "8.3", "0.0", "<10", "0.0", "14.3", "20.0", "14.3",
        "x", "<10", "15.8",
        "7.1",
    ]
    assert shown["population"].to_list()[:3] == [1000, 2000, 3000]  # residents are never suppressed


def test_suppress_rollup_says_what_is_missing():
    with pytest.raises(ValueError, match="column 'readers' is missing"):
        suppress_rollup(pl.DataFrame({"level": [], "town_code": []}), "readers")


# --- next sites -------------------------------------------------------------------------------------------

def test_next_sites_greedy_maximal_covering_at_15_minutes(run):
    communities = run("coverage_by_community", date_to=DAY, walk_minutes=15)
    sites = coverage.next_sites(communities, 5, 15)
    # Uncovered: K4 4000, K5 5000, K7 2100, K8 2000, K9 3500; only K7 and K8 are within 15 min of each
    # other. Gains of each centre: K5 5000, K7 4100 (K7+K8), K8 4100, K4 4000, K9 3500.
    # Step 1 K5; step 2 K7 (ties K8 at 4100: the smaller code), not K4 although K4 is the bigger
    # community; step 3 K4; step 4 K9; then nobody is left, so only 4 sites for k = 5.
    assert sites.select("step", "name", "gain", "communities_gained", "residents_covered").rows() == [
        (1, "K5", 5000, 1, 11600),
        (2, "K7", 4100, 2, 15700),
        (3, "K4", 4000, 1, 19700),
        (4, "K9", 3500, 1, 23200),
    ]
    assert sites["coverage_rate"].to_list() == pytest.approx([11600 / 23200, 15700 / 23200, 19700 / 23200, 1.0])


def test_next_sites_at_10_minutes_k8_is_out_of_reach_of_k7(run):
    communities = run("coverage_by_community", date_to=DAY, walk_minutes=10)
    sites = coverage.next_sites(communities, 4, 10)
    # Covered: K1, K2, K6 (3,600). K3 (14.46 min) is now uncovered; K7-K8 is 10.84 min: too far.
    assert sites.select("name", "gain", "residents_covered").rows() == [
        ("K5", 5000, 8600), ("K4", 4000, 12600), ("K9", 3500, 16100), ("K3", 3000, 19100),
    ]
    assert coverage.next_sites(communities, 0, 10).is_empty()


def test_walks_with_sites_and_summary_match_the_queries(run):
    communities = run("coverage_by_community", date_to=DAY, walk_minutes=15)
    today = coverage.summary(communities, 15)
    district = run("walk_by_town", date_to=DAY, walk_minutes=15).filter(pl.col("is_district")).row(0, named=True)
    assert today["residents_covered"] == district["residents_covered"] == 6600
    assert today["coverage_rate"] == pytest.approx(district["coverage_rate"])
    assert today["mean_walk_minutes"] == pytest.approx(district["mean_walk_minutes"])
    sites = coverage.next_sites(communities, 2, 15)
    after = coverage.walks_with_sites(communities, sites, 15)
    walks = dict(zip(after["name"], after["walk_minutes"], strict=True))
    assert walks["K5"] == 0 and walks["K7"] == 0
    assert walks["K8"] == pytest.approx(minutes(0.006), abs=1e-6)
    assert walks["K4"] == pytest.approx(minutes(0.029), abs=1e-3)  # the site at K5 is nearer than M1 (0.030)
    assert walks["K9"] == pytest.approx(minutes(0.05), abs=1e-3)  # the site at K7 is nearer than C0 (0.1)
    assert walks["K1"] == pytest.approx(minutes(0.0027), abs=1e-3)  # unchanged: C0 is still nearest
    assert coverage.summary(after, 15)["residents_covered"] == sites["residents_covered"][-1] == 15700


def test_next_sites_says_which_columns_it_needs():
    with pytest.raises(ValueError, match="missing"):
        coverage.next_sites(pl.DataFrame({"community_code": ["1"]}), 1)


# --- every new query prepares and says what a row is --------------------------------------------------------

@pytest.mark.parametrize("name", ["branches_by_loans", "coverage_by_threshold", "walk_by_town", "served_by_branch",
                                  "penetration_by_community", "uncovered_by_community"])
def test_query_header_states_the_grain_and_params(name):
    text = queries.text(name)
    assert text.startswith(f"-- {name}: one row per")
    described = queries.describe(name)
    for param in queries.params_of(name):
        assert f"${param}" in described, param


def test_pairs_within_a_walk_match_the_full_distance_matrix():
    rng = np.random.default_rng(3)
    lat1, lon1 = 22.8 + rng.uniform(-0.05, 0.05, 300), 113.5 + rng.uniform(-0.05, 0.05, 300)
    lat2, lon2 = 22.8 + rng.uniform(-0.05, 0.05, 200), 113.5 + rng.uniform(-0.05, 0.05, 200)
    for walk in (5, 10, 15):
        i, j = coverage._within(lat1, lon1, lat2, lon2, walk, chunk=32)
        full = np.argwhere(coverage.walk_minutes_matrix(lat1, lon1, lat2, lon2) <= walk)
        assert sorted(zip(i.tolist(), j.tolist(), strict=True)) == sorted(map(tuple, full.tolist()))
        assert len(full) > 0


@pytest.mark.parametrize("others", [120, 0])
def test_community_walks_match_the_full_distance_matrix_at_any_latitude(db, tmp_path, others):
    # The macro only tries the micro-branches within the walk to the nearest other branch; the full matrix
    # must agree, from the tropics to 70 degrees north (where a degree of longitude is short), and with no
    # other branch at all. Branches sit a few kilometres from the communities, micro-branches spread wider
    # east-west, so the nearest is often a micro-branch near the edge of the box.
    rng = np.random.default_rng(7 + others)
    n_comm = n_micro = 120
    c_lat, c_lon = rng.uniform(0, 70, n_comm), rng.uniform(100, 101, n_comm)
    b_lat = np.concatenate([c_lat[:others] + rng.uniform(-0.03, 0.03, others),
                            c_lat + rng.uniform(-0.03, 0.03, n_micro)])
    b_lon = np.concatenate([c_lon[:others] + rng.uniform(-0.03, 0.03, others),
                            c_lon + rng.uniform(-0.08, 0.08, n_micro)])
    kinds = ["branch"] * others + ["micro"] * n_micro
    ids = [f"X{i:03d}" for i in range(len(kinds))]
    branches = "branch_id,name,kind,lat,lon,opened_on\n" + "".join(
        f"{b},{b},{k},{la:.6f},{lo:.6f},2020-01-01\n" for b, k, la, lo in zip(ids, kinds, b_lat, b_lon, strict=True))
    communities = "community_code,name,town_code,population,lat,lon\n" + "".join(
        f"{440115000000 + i},C{i},440115000,100,{la:.6f},{lo:.6f}\n"
        for i, (la, lo) in enumerate(zip(c_lat, c_lon, strict=True)))
    for name, text in (("branches.csv", branches), ("communities.csv", communities)):
        assert load(db, tmp_path, name, text).rejected == 0
    got = storage.reader(db).sql(
        "select nearest_branch_id, walk_minutes, nearest_branch_without_micro, walk_minutes_without_micro "
        "from community_walks(date '2025-01-01') order by community_code").fetchall()

    lat, lon = np.round(c_lat, 6), np.round(c_lon, 6)
    matrix = coverage.walk_minutes_matrix(lat, lon, np.round(b_lat, 6), np.round(b_lon, 6))
    nearest = matrix.argmin(axis=1)
    assert [g[0] for g in got] == [ids[j] for j in nearest]
    assert [g[1] for g in got] == pytest.approx(matrix.min(axis=1).tolist())
    if others:
        other = matrix[:, :others].argmin(axis=1)
        assert [g[2] for g in got] == [ids[j] for j in other]
        assert [g[3] for g in got] == pytest.approx(matrix[:, :others].min(axis=1).tolist())
        assert sum(kinds[j] == "micro" for j in nearest) > n_comm // 4  # the micro-branches do win often
    else:
        assert all(g[2] is None and g[3] is None for g in got)
