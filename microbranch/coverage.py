"""Where residents walk to: walking circles and town areas for the map, and the next sites to open.

Walk minutes are the metrics' definition (great-circle metres x 1.3 detour, walked at 80 m a minute:
`microbranch.geo.walk_minutes`, the same formula as the SQL macro `walk_minutes`), here vectorised with
numpy. The residents numbers of today come from the named queries; this module only adds what SQL
expresses badly: geometry to draw, and the greedy choice of new sites.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence

import numpy as np
import polars as pl

from microbranch import geo

# The straight-line metres one walking minute reaches: 80 m of street / 1.3 detour = 61.5 m.
METRES_PER_MINUTE = geo.WALK_M_PER_MIN / geo.DETOUR
SITE_COLUMNS = ("community_code", "name", "town_code", "population", "lat", "lon", "walk_minutes")


def walk_radius_m(minutes: float) -> float:
    """Radius in metres of the circle a walk of `minutes` reaches (minutes x 80 / 1.3)."""
    return minutes * METRES_PER_MINUTE


def walk_minutes_matrix(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Walk minutes from every point 1 (rows) to every point 2 (columns); the formula of `geo.walk_minutes`."""
    p1, p2 = np.radians(lat1)[:, None], np.radians(lat2)[None, :]
    dl = np.radians(lon2)[None, :] - np.radians(lon1)[:, None]
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    metres = 2 * geo.EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return metres * geo.DETOUR / geo.WALK_M_PER_MIN


def circle(lat: float, lon: float, radius_m: float, points: int = 64) -> list[tuple[float, float]]:
    """A closed ring of (lat, lon) points at `radius_m` great-circle metres around a centre."""
    phi, lam = math.radians(lat), math.radians(lon)
    delta = radius_m / geo.EARTH_RADIUS_M
    theta = np.linspace(0.0, 2 * math.pi, points + 1)
    lat2 = np.arcsin(math.sin(phi) * math.cos(delta) + math.cos(phi) * math.sin(delta) * np.cos(theta))
    lon2 = lam + np.arctan2(np.sin(theta) * math.sin(delta) * math.cos(phi),
                            math.cos(delta) - math.sin(phi) * np.sin(lat2))
    ring = list(zip(np.degrees(lat2).tolist(), np.degrees(lon2).tolist(), strict=True))
    ring[-1] = ring[0]
    return ring


def convex_hull(points: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull of (lat, lon) points, counter-clockwise on the map, closed (first point repeated).

    Andrew's monotone chain on (lon, lat): fine for a town-sized area. Fewer than three distinct points
    give them back as they are (closed).
    """
    pts = sorted({(lon, lat) for lat, lon in points})
    if len(pts) < 3:
        return [(lat, lon) for lon, lat in pts] + [(lat, lon) for lon, lat in pts[:1]]

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    hull = lower[:-1] + upper[:-1]
    return [(lat, lon) for lon, lat in hull + hull[:1]]


def town_areas(communities: pl.DataFrame, pad_m: float = 500.0) -> dict[str, list[tuple[float, float]]]:
    """An area per town for the map: the convex hull of its community centres, widened by `pad_m` metres
    (so a town of one or two communities still has an area). A sketch, not the official boundary. Worked out
    once per set of places (`_town_areas`): every map of the same places draws the same areas."""
    return dict(_town_areas(tuple(communities.select("town_code", "lat", "lon").iter_rows()), pad_m))


@functools.lru_cache(maxsize=8)
def _town_areas(places: tuple[tuple[object, float, float], ...], pad_m: float) -> dict[str, list[tuple[float, float]]]:
    points: dict[str, list[tuple[float, float]]] = {}
    for town, lat, lon in places:
        if town is not None:
            points.setdefault(str(town), []).extend(circle(lat, lon, pad_m, 16))
    return {town: convex_hull(pts) for town, pts in sorted(points.items())}


def _within(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray, minutes: float,
            chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (i, j) with walk(point1 i, point2 j) <= minutes, as two index arrays.

    Points 1 are taken in latitude order, a chunk at a time, and compared only with the points 2 in the
    chunk's latitude band widened by the walk's reach (a walk cannot cover more latitude than distance)."""
    reach = walk_radius_m(minutes) / (geo.EARTH_RADIUS_M * math.pi / 180) * 1.0001  # degrees of latitude
    order1, order2 = np.argsort(lat1, kind="stable"), np.argsort(lat2, kind="stable")
    sorted2 = lat2[order2]
    rows, cols = [], []
    for start in range(0, len(order1), chunk):
        idx1 = order1[start:start + chunk]
        lo = np.searchsorted(sorted2, lat1[idx1].min() - reach, side="left")
        hi = np.searchsorted(sorted2, lat1[idx1].max() + reach, side="right")
        if hi <= lo:
            continue
        idx2 = order2[lo:hi]
        i, j = np.nonzero(walk_minutes_matrix(lat1[idx1], lon1[idx1], lat2[idx2], lon2[idx2]) <= minutes)
        rows.append(idx1[i])
        cols.append(idx2[j])
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows), np.concatenate(cols)


def next_sites(communities: pl.DataFrame, k: int, walk_minutes: float = 15.0) -> pl.DataFrame:
    """Greedy maximal covering: where `k` new branches would bring the most residents within the walk.

    `communities` has one row per community with its centre, population and today's walk minutes (the
    named query `coverage_by_community`; empty walk = no open public branch). The candidate sites are the
    community centres. Each step takes the site whose circle holds the most residents not yet covered
    (today's branches and the sites already taken count as covering), ties going to the smaller
    community code; it stops early when no site adds anyone.

    Returns one row per pick: step, the site's community, `gain` (residents newly covered),
    `communities_gained`, and the running `residents_covered` and `coverage_rate`.
    """
    missing = [c for c in SITE_COLUMNS if c not in communities.columns]
    if missing:
        msg = f"next_sites needs columns {list(SITE_COLUMNS)}; missing {missing}"
        raise ValueError(msg)
    frame = communities.sort("community_code")
    lat = frame["lat"].to_numpy().astype(float)
    lon = frame["lon"].to_numpy().astype(float)
    pop = frame["population"].fill_null(0).to_numpy().astype(np.int64)
    walk = frame["walk_minutes"].fill_null(math.inf).to_numpy().astype(float)
    uncovered = np.flatnonzero((walk > walk_minutes) & (pop > 0))
    total = int(pop.sum())
    covered = int(pop[walk <= walk_minutes].sum())
    site, reach = _within(lat, lon, lat[uncovered], lon[uncovered], walk_minutes)
    remaining = pop[uncovered].astype(float)
    picks: list[dict[str, object]] = []
    for step in range(1, max(int(k), 0) + 1):
        if not len(site):
            break
        gains = np.bincount(site, weights=remaining[reach], minlength=frame.height)
        best = int(np.argmax(gains))  # the first maximum: the smallest community code
        if gains[best] <= 0:
            break
        newly = reach[site == best]
        newly = newly[remaining[newly] > 0]
        gain = int(remaining[newly].sum())
        remaining[newly] = 0
        covered += gain
        row = frame.row(best, named=True)
        picks.append({
            "step": step,
            **{c: row[c] for c in SITE_COLUMNS},
            "gain": gain,
            "communities_gained": len(newly),
            "residents_covered": covered,
            "coverage_rate": covered / total if total else None,
        })
    schema = {
        "step": pl.Int64, "community_code": pl.String, "name": pl.String, "town_code": pl.String,
        "population": pl.Int64, "lat": pl.Float64, "lon": pl.Float64, "walk_minutes": pl.Float64,
        "gain": pl.Int64, "communities_gained": pl.Int64, "residents_covered": pl.Int64,
        "coverage_rate": pl.Float64,
    }
    return pl.DataFrame(picks, schema=schema)


def walks_with_sites(communities: pl.DataFrame, sites: pl.DataFrame, walk_minutes: float = 15.0) -> pl.DataFrame:
    """The communities as if branches stood at `sites` too: walk minutes to the nearer of today's nearest
    branch and the nearest site, and `covered` again at the threshold."""
    new = communities["walk_minutes"].fill_null(math.inf).to_numpy().astype(float)
    if not sites.is_empty() and communities.height:
        to_sites = walk_minutes_matrix(
            communities["lat"].to_numpy().astype(float), communities["lon"].to_numpy().astype(float),
            sites["lat"].to_numpy().astype(float), sites["lon"].to_numpy().astype(float),
        ).min(axis=1)
        new = np.minimum(new, to_sites)
    walk = pl.Series("walk_minutes", np.where(np.isinf(new), np.nan, new), dtype=pl.Float64).fill_nan(None)
    return communities.with_columns(walk).with_columns(
        (pl.col("walk_minutes") <= walk_minutes).fill_null(False).alias("covered")
    )


def summary(communities: pl.DataFrame, walk_minutes: float = 15.0) -> dict[str, float | int | None]:
    """Residents total and covered, coverage rate and population-weighted mean walk of a set of
    communities (the same definitions as the named queries, for the "today + suggestions" side)."""
    known = communities.filter(pl.col("walk_minutes").is_not_null())
    total = int(communities["population"].sum() or 0)
    covered = int(communities.filter(pl.col("walk_minutes") <= walk_minutes)["population"].sum() or 0)
    weight = int(known["population"].sum() or 0)
    mean = float((known["walk_minutes"] * known["population"]).sum() / weight) if weight else None
    return {
        "residents_total": total,
        "residents_covered": covered,
        "coverage_rate": covered / total if total else None,
        "mean_walk_minutes": mean,
    }


def ring_paths(lats: Sequence[float], lons: Sequence[float], minutes: float,
               points: int = 48) -> tuple[list[float | None], list[float | None]]:
    """Walking circles around many centres as one path with gaps (None) between rings, for a line trace."""
    radius = walk_radius_m(minutes)
    out_lat: list[float | None] = []
    out_lon: list[float | None] = []
    for lat, lon in zip(lats, lons, strict=True):
        for p_lat, p_lon in circle(lat, lon, radius, points):
            out_lat.append(p_lat)
            out_lon.append(p_lon)
        out_lat.append(None)
        out_lon.append(None)
    return out_lat, out_lon
