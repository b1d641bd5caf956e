"""Residents per branch counted both ways, on a hand-made street where a town library and a micro-branch
share their residents.

On the meridian 113.50 E (0.001 degree = 1.807 walk minutes):

    P4 22.7900 (4,000)   P3 22.7990 (500)   T1 town library 22.8000   P1 22.8040 (1,000)
    M micro-branch 22.8060                  P2 22.8080 (2,000)

             to T1      to M       nearest
    P1       7.23 min   3.61 min   M
    P2      14.46       3.61       M
    P3       1.81      12.65       T1
    P4      18.07      28.91       T1, beyond every walk below

Within 15 minutes T1 reaches P1, P2, P3 (3,500 residents) but is the nearest only for P3 (500); M reaches
the same three (3,500) and is the nearest for P1 and P2 (3,000). Within 5 minutes: T1 P3 (500), M P1 and
P2 (3,000), and the two ways agree.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from polars.testing import assert_frame_equal

from microbranch import queries, storage
from tests.conftest import load

BRANCHES = """branch_id,name,kind,host_type,town_code,lat,lon,opened_on,public_access,volumes
T1,Town library,branch,,440115001,22.8000,113.50,2015-01-01,yes,5000
M,Micro,micro,community,440115001,22.8060,113.50,2024-01-01,yes,300
"""
COMMUNITIES = """community_code,name,town_code,population,lat,lon
440115001001,P1,440115001,1000,22.8040,113.50
440115001002,P2,440115001,2000,22.8080,113.50
440115001003,P3,440115001,500,22.7990,113.50
440115001004,P4,440115001,4000,22.7900,113.50
"""


def served(db, walk: int) -> pl.DataFrame:
    con = storage.reader(db)
    try:
        return queries.run(con, "served_by_branch", date_to=date(2024, 6, 30), walk_minutes=walk).select(
            "branch_id", "communities_within_walk", "residents_within_walk", "served_communities",
            "served_residents")
    finally:
        con.close()


def test_residents_within_the_walk_and_for_whom_it_is_the_nearest(db, tmp_path):
    for name, text in (("branches.csv", BRANCHES), ("communities.csv", COMMUNITIES)):
        assert load(db, tmp_path, name, text).rejected == 0
    expected = pl.DataFrame({
        "branch_id": ["M", "T1"],
        "communities_within_walk": [3, 3],
        "residents_within_walk": [3500, 3500],
        "served_communities": [2, 1],
        "served_residents": [3000, 500],
    })
    assert_frame_equal(served(db, 15), expected, check_dtypes=False)
    at_5 = served(db, 5)
    assert at_5.rows() == [("M", 2, 3000, 2, 3000), ("T1", 1, 500, 1, 500)]
    # the nearest way adds up to the covered residents; the within way counts P1, P2, P3 twice
    assert served(db, 15)["served_residents"].sum() == 3500
    assert served(db, 15)["residents_within_walk"].sum() == 7000
