"""The precomputed walks (microbranch.walks) against the direct computation, on hand-made geography (that of
test_places: branches opening, closing, not public, micro and not) and on random points: after the first import,
after branches and communities are imported again, and after those imports are undone."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pytest

from microbranch import queries, storage
from microbranch.ingest.undo import undo_import
from tests.conftest import load
from tests.test_places import build

# The walks as the macro community_walks worked them out before they were stored: every community against every
# open public branch that day, no table but branches and communities read.
DIRECT_WALKS = """
create or replace temp macro direct_walks(on_day) as table
with open_branches as (
    select branch_id, kind, lat, lon,
    from branches
    where public_access and opened_on <= on_day and (closed_on is null or closed_on > on_day)
),
nearest_other as (
    select
        c.community_code,
        arg_min(b.branch_id, (walk_minutes(c.lat, c.lon, b.lat, b.lon), b.branch_id)) as branch_id,
        min(walk_minutes(c.lat, c.lon, b.lat, b.lon)) as minutes,
    from communities as c, open_branches as b
    where b.kind <> 'micro'
    group by c.community_code
),
without_micro as (
    select c.community_code, c.lat, c.lon, o.branch_id, o.minutes,
    from communities as c
    left join nearest_other as o using (community_code)
),
candidates as (
    select community_code, branch_id, minutes,
    from without_micro
    where branch_id is not null
    union all
    select w.community_code, b.branch_id, walk_minutes(w.lat, w.lon, b.lat, b.lon),
    from without_micro as w, open_branches as b
    where b.kind = 'micro'
      and (w.minutes is null or (
          -- degrees of latitude walked in w.minutes (80 m a minute over 1.3 times the distance), and of longitude
          abs(b.lat - w.lat) <= w.minutes * 80 / 1.3 / 111195 * 1.001
          and abs(b.lon - w.lon) <= w.minutes * 80 / 1.3 / 111195 * 1.1 / cos(radians(w.lat))))
),
nearest as (
    select
        community_code,
        arg_min(branch_id, (minutes, branch_id)) as nearest_branch_id,
        min(minutes) as walk_minutes,
    from candidates
    group by community_code
)
select
    c.community_code, c.name, c.town_code, c.population, c.lat, c.lon,
    n.nearest_branch_id, n.walk_minutes,
    w.branch_id as nearest_branch_without_micro, w.minutes as walk_minutes_without_micro,
from communities as c
left join nearest as n using (community_code)
left join without_micro as w using (community_code)
"""

# served_by_branch's pairs within the walk, worked out from the coordinates.
DIRECT_WITHIN = """
select b.branch_id, count(*) as communities_within_walk, sum(c.population)::bigint as residents_within_walk,
from branches as b, communities as c
where b.public_access and b.opened_on <= $day and (b.closed_on is null or b.closed_on > $day)
  and walk_minutes(c.lat, c.lon, b.lat, b.lon) <= $walk
group by b.branch_id
order by b.branch_id
"""

CHANGED_BRANCHES = """branch_id,name,kind,host_type,town_code,lat,lon,coord_system,opened_on,closed_on,public_access
M1,Micro community,micro,community,440115001,22.8100,113.50,wgs84,2024-01-01,2024-05-15,yes
M2,Micro school,micro,school,440115002,22.860,113.50,wgs84,2024-01-01,,yes
M6,Micro new,micro,other,440115002,22.8885,113.50,wgs84,2024-03-01,,yes
B7,New branch,branch,,440115003,22.7460,113.50,wgs84,2024-04-01,,yes
"""
CHANGED_COMMUNITIES = """community_code,name,town_code,population,lat,lon
440115001003,K3,440115001,3100,22.8120,113.50
440115003004,K10,440115003,900,22.7040,113.50
"""


def days(con: duckdb.DuckDBPyConnection) -> list[date]:
    """Every day a branch opens or closes, the days on either side, and days before and after all of them."""
    edges = {d for (d,) in con.sql("select opened_on from branches union select closed_on from branches "
                                   "where closed_on is not null").fetchall()}
    out = {date(2000, 1, 1), date(2030, 1, 1)}
    for d in edges:
        out |= {d - timedelta(days=1), d, d + timedelta(days=1)}
    return sorted(out)


def assert_walks_are_direct(db: Path) -> None:
    con = storage.reader(db)
    con.sql(DIRECT_WALKS)
    checked = 0
    for day in days(con):
        stored = con.sql("select * from community_walks($d) order by community_code", params={"d": day}).fetchall()
        direct = con.sql("select * from direct_walks($d) order by community_code", params={"d": day}).fetchall()
        assert stored == direct, day
        checked += sum(row[6] is not None for row in stored)
        for walk in (5, 10, 15, 20):
            served = queries.run(con, "served_by_branch", date_to=day, walk_minutes=walk)
            got = {r["branch_id"]: (r["communities_within_walk"], r["residents_within_walk"])
                   for r in served.iter_rows(named=True) if r["communities_within_walk"]}
            want = {b: (n, p) for b, n, p in con.sql(DIRECT_WITHIN, params={"day": day, "walk": walk}).fetchall()}
            assert got == want, (day, walk)
    assert checked > 0  # some community has a nearest branch on some day
    con.close()


@pytest.fixture
def places(db: Path, tmp_path: Path) -> Path:
    build(db, tmp_path)
    return db


def test_stored_walks_equal_the_direct_computation(places):
    assert_walks_are_direct(places)


def test_stored_walks_follow_branches_and_communities_imported_again_and_undone(places, tmp_path):
    con = storage.reader(places)
    before = con.sql("select * from community_nearest order by all").fetchall()
    con.close()
    branches = load(places, tmp_path, "branches2.csv", CHANGED_BRANCHES)
    communities = load(places, tmp_path, "communities2.csv", CHANGED_COMMUNITIES)
    assert branches.status == communities.status == "imported"
    assert_walks_are_direct(places)
    con = storage.reader(places)
    assert con.sql("select * from community_nearest order by all").fetchall() != before
    con.close()
    for result in (communities, branches):
        assert undo_import(places, result.import_id, confirm=True).status == "undone"
        assert_walks_are_direct(places)
    con = storage.reader(places)
    assert con.sql("select * from community_nearest order by all").fetchall() == before
    con.close()


def test_stored_walks_equal_the_direct_computation_on_random_points(db, tmp_path):
    # Many branches opening and closing on many days, ties at equal distance (two branches on the same spot).
    rng = np.random.default_rng(11)
    n = 60
    lat, lon = 22.8 + rng.uniform(0, 0.1, n), 113.5 + rng.uniform(0, 0.1, n)
    rows = []
    for i in range(n):
        kind = ("micro", "branch", "central")[i % 3] if i else "central"
        opened = date(2020, 1, 1) + timedelta(days=int(rng.integers(0, 1500)))
        closed = opened + timedelta(days=int(rng.integers(1, 900))) if rng.random() < 0.3 else ""
        public = "no" if rng.random() < 0.1 else "yes"
        la, lo = (lat[i - 1], lon[i - 1]) if i % 10 == 9 else (lat[i], lon[i])
        rows.append(f"R{i:03d},R{i},{kind},{la:.5f},{lo:.5f},{opened},{closed},{public}")
    branches = "branch_id,name,kind,lat,lon,opened_on,closed_on,public_access\n" + "\n".join(rows) + "\n"
    communities = "community_code,name,town_code,population,lat,lon\n" + "".join(
        f"{440115000000 + i},C{i},440115000,{100 + i},{la:.5f},{lo:.5f}\n"
        for i, (la, lo) in enumerate(zip(22.8 + rng.uniform(0, 0.1, 200), 113.5 + rng.uniform(0, 0.1, 200),
                                         strict=True)))
    assert load(db, tmp_path, "communities.csv", communities).rejected == 0
    assert load(db, tmp_path, "branches.csv", branches).rejected == 0
    assert_walks_are_direct(db)


def test_a_database_made_by_older_code_gets_its_walks_when_brought_up_to_date(places):
    # An older release had no stored walks: the tables come with the schema, filled from its branches and communities.
    with storage.writer(places) as con:
        con.sql("drop table walk_pairs; drop table community_nearest")
        con.sql("update meta set value = 'old' where key = 'schema'")
    storage.upgrade(places)
    con = storage.reader(places)
    assert con.sql("select count(*) from community_nearest").fetchall()[0][0] > 0
    con.close()
    assert_walks_are_direct(places)
