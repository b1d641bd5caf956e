"""Where the next micro-branches should go: the maximal covering location problem, solved exactly.

Given today's walks (the named query `coverage_by_community` on the day whose open branches count), the
residents beyond the walking threshold can be reached by new sites. Candidate sites are the community
centres, and optionally addresses an official supplies (name, lat, lon). For k new sites:

    maximise   sum_i population_i * y_i          over the uncovered communities i
    subject to y_i <= sum_{j reaching i} x_j      (a community counts once a chosen site reaches it)
               sum_j x_j <= k,   x_j in {0, 1},   0 <= y_i <= 1

solved by CBC (bundled with PuLP) within a time limit, starting from the greedy answer, which is computed
here too over the same candidates so that the two can be set side by side with the gap between them.
When the limit is reached, the best set found is kept with CBC's bound on the best possible.
"""

from __future__ import annotations

import math
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pulp
from pulp.apis import coin_api

from microbranch import coverage, geo

CBC = coin_api.pulp_cbc_path  # the CBC binary that ships inside the PuLP wheel
SOLVERS = 2  # exact solves run at once (each CBC process single-threaded)

CANDIDATE_COLUMNS = ("site_id", "name", "lat", "lon")
_SCHEMA = {"site_id": pl.String, "name": pl.String, "lat": pl.Float64, "lon": pl.Float64}


class CandidateError(ValueError):
    """An uploaded candidate file that cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Solution:
    """One answer for k sites: the chosen candidates (rows of `Problem.candidates`) and the residents
    they bring within the walk; `bound` is the most any k sites could bring (equal to `gain` when the
    answer is proved best). `status`: optimal | time_limit | greedy."""

    k: int
    picks: tuple[int, ...]
    gain: int
    bound: int
    status: str
    seconds: float


def candidates_from_communities(communities: pl.DataFrame) -> pl.DataFrame:
    return communities.select(
        pl.col("community_code").alias("site_id"), pl.col("name"), pl.col("lat"), pl.col("lon")
    ).cast(_SCHEMA)  # type: ignore[arg-type]


def read_candidates_csv(data: bytes) -> pl.DataFrame:
    """Candidate addresses from an uploaded CSV (UTF-8, with or without BOM, or GB18030)."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise CandidateError("the candidate file is neither UTF-8 nor GB18030 text")
    try:
        frame = pl.read_csv(text.encode("utf-8"), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        msg = f"the candidate file could not be read as CSV: {exc}"
        raise CandidateError(msg) from exc
    return read_candidates(frame)


def read_candidates(frame: pl.DataFrame) -> pl.DataFrame:
    """Candidate addresses from an uploaded table: `name`, `lat`, `lon` and optionally `site_id` and
    `coord_system` (wgs84 | gcj02 | bd09; web maps in China give GCJ-02). Raises CandidateError."""
    cols = {c.strip().lower(): c for c in frame.columns}
    missing = [c for c in ("name", "lat", "lon") if c not in cols]
    if missing:
        msg = f"the candidate file needs the columns name, lat, lon; missing: {', '.join(missing)}"
        raise CandidateError(msg)
    out = frame.select(
        pl.col(cols["name"]).cast(pl.String).alias("name"),
        pl.col(cols["lat"]).cast(pl.Float64, strict=False).alias("lat"),
        pl.col(cols["lon"]).cast(pl.Float64, strict=False).alias("lon"),
        (pl.col(cols["site_id"]).cast(pl.String) if "site_id" in cols else pl.lit(None, pl.String)).alias("site_id"),
        (pl.col(cols["coord_system"]).cast(pl.String) if "coord_system" in cols else pl.lit("wgs84"))
        .alias("coord_system"),
    )
    bad = out.filter(pl.col("lat").is_null() | pl.col("lon").is_null() | ~pl.col("lat").is_between(-90, 90)
                     | ~pl.col("lon").is_between(-180, 180))
    if bad.height:
        msg = f"{bad.height} candidate row(s) have no usable lat/lon (decimal degrees), e.g. {bad['name'][0]!r}"
        raise CandidateError(msg)
    moved = [geo.to_wgs84(a, o, (s or "wgs84").lower().replace("-", ""))
             for a, o, s in zip(out["lat"], out["lon"], out["coord_system"], strict=True)]
    return out.with_columns(
        pl.Series("lat", [m[0] for m in moved]), pl.Series("lon", [m[1] for m in moved]),
        pl.col("site_id").fill_null(pl.format("U{}", pl.int_range(1, pl.len() + 1))),
    ).select(CANDIDATE_COLUMNS)


class Problem:
    """The uncovered communities, the candidate sites and which site reaches which community.

    `communities`: rows of `coverage_by_community` (walk_minutes empty = no open public branch);
    `candidates`: rows with CANDIDATE_COLUMNS (default: the community centres)."""

    def __init__(self, communities: pl.DataFrame, walk_minutes: float = 15.0,
                 candidates: pl.DataFrame | None = None) -> None:
        self.walk_minutes = walk_minutes
        frame = communities.sort("community_code")
        walk = frame["walk_minutes"].fill_null(math.inf).to_numpy().astype(float)
        pop = frame["population"].fill_null(0).to_numpy().astype(np.int64)
        todo = np.flatnonzero((walk > walk_minutes) & (pop > 0))
        self.covered_today = int(pop[walk <= walk_minutes].sum())
        self.residents_total = int(pop.sum())
        self.communities = frame[todo]
        self.weights = pop[todo]
        cands = candidates_from_communities(frame) if candidates is None else candidates.select(CANDIDATE_COLUMNS)
        self.candidates = cands.cast(_SCHEMA)  # type: ignore[arg-type]
        site, reach = coverage._within(
            self.candidates["lat"].to_numpy().astype(float), self.candidates["lon"].to_numpy().astype(float),
            self.communities["lat"].to_numpy().astype(float), self.communities["lon"].to_numpy().astype(float),
            walk_minutes)
        order = np.lexsort((reach, site))
        self.site, self.reach = site[order], reach[order]

    def reaches(self) -> dict[int, np.ndarray]:
        """Candidate index -> the uncovered communities (indices) it reaches; only candidates reaching some."""
        if not len(self.site):
            return {}
        cut = np.flatnonzero(np.diff(self.site)) + 1
        return {int(part[0]): self.reach[s:e] for part, s, e in zip(
            np.split(self.site, cut), np.r_[0, cut], np.r_[cut, len(self.site)], strict=True)}

    def gain(self, picks: tuple[int, ...] | list[int]) -> int:
        hit = np.isin(self.site, list(picks))
        return int(self.weights[np.unique(self.reach[hit])].sum())

    def greedy(self, k: int) -> Solution:
        """Each step the candidate that adds the most residents not yet reached (ties: the first
        candidate); stops early when no candidate adds anyone."""
        t0 = time.perf_counter()
        remaining = self.weights.astype(float)
        picks: list[int] = []
        for _ in range(max(int(k), 0)):
            if not len(self.site):
                break
            gains = np.bincount(self.site, weights=remaining[self.reach], minlength=self.candidates.height)
            best = int(np.argmax(gains))
            if gains[best] <= 0:
                break
            remaining[self.reach[self.site == best]] = 0
            picks.append(best)
        gain = self.gain(picks)
        return Solution(k, tuple(picks), gain, gain, "greedy", time.perf_counter() - t0)

    def exact(self, k: int, time_limit: float = 20.0, start: Solution | None = None) -> Solution:
        """The best k sites, proved by CBC; within `time_limit` seconds, else the best found and the bound."""
        t0 = time.perf_counter()
        reaches = self.reaches()
        if k <= 0 or not reaches:
            return Solution(k, (), 0, 0, "optimal", time.perf_counter() - t0)
        # Candidates reaching the same communities are interchangeable: keep the first of each.
        distinct: dict[bytes, int] = {}
        for j, comms in reaches.items():
            distinct.setdefault(comms.tobytes(), j)
        kept = sorted(distinct.values())
        if len(kept) <= k:  # room for every distinct site: all residents within reach are covered
            gain = self.gain(kept)
            return Solution(k, tuple(kept), gain, gain, "optimal", time.perf_counter() - t0)
        prob = pulp.LpProblem("next_sites", pulp.LpMaximize)
        x = {j: prob.add_variable(f"x{j}", cat="Binary") for j in kept}
        reached_by: dict[int, list[int]] = {}
        for j in kept:
            for i in reaches[j].tolist():
                reached_by.setdefault(i, []).append(j)
        y = {i: prob.add_variable(f"y{i}", 0, 1) for i in reached_by}
        prob += pulp.lpSum(int(self.weights[i]) * y[i] for i in reached_by)
        prob += pulp.lpSum(x.values()) <= k
        for i, js in reached_by.items():
            prob += y[i] <= pulp.lpSum(x[j] for j in js)
        start = start or self.greedy(k)
        chosen = {reaches_key(reaches, j, distinct) for j in start.picks}
        for j, var in x.items():
            var.setInitialValue(1 if j in chosen else 0)
        with tempfile.TemporaryDirectory(prefix="microbranch_cbc_") as tmp:
            log = Path(tmp) / "cbc.log"
            solver = pulp.COIN_CMD(path=CBC, msg=False, timeLimit=time_limit, warmStart=True, threads=1,
                                   logPath=str(log), keepFiles=False)
            prob.solve(solver)
            text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        picks = tuple(sorted(j for j, var in x.items() if (var.value() or 0) > 0.5))
        gain = self.gain(picks)
        if gain < start.gain:  # stopped before CBC improved on the start
            picks, gain = start.picks, start.gain
        bound = max(_bound(text, gain), gain) if _stopped_on_time(text) else gain
        return Solution(k, picks, gain, bound, "time_limit" if bound > gain else "optimal",
                        time.perf_counter() - t0)

    def picked(self, solution: Solution) -> pl.DataFrame:
        """The chosen candidates in the order given, with the residents each adds after the ones before."""
        rows, seen = [], np.zeros(len(self.weights), dtype=bool)
        covered = self.covered_today
        for step, j in enumerate(solution.picks, start=1):
            reach = self.reach[self.site == j]
            new = reach[~seen[reach]]
            seen[new] = True
            gain = int(self.weights[new].sum())
            covered += gain
            rows.append({"step": step, **self.candidates.row(j, named=True), "gain": gain,
                         "communities_gained": len(new), "residents_covered": covered,
                         "coverage_rate": covered / self.residents_total if self.residents_total else None})
        schema = {"step": pl.Int64, **_SCHEMA, "gain": pl.Int64, "communities_gained": pl.Int64,
                  "residents_covered": pl.Int64, "coverage_rate": pl.Float64}
        return pl.DataFrame(rows, schema=schema)


def reaches_key(reaches: dict[int, np.ndarray], j: int, distinct: dict[bytes, int]) -> int:
    """The kept candidate standing for candidate `j` (the first with the same reach)."""
    return distinct[reaches[j].tobytes()] if j in reaches else j


def _stopped_on_time(log: str) -> bool:
    return bool(re.search(r"Stopped on time|time limit", log, re.IGNORECASE))


def _bound(log: str, found: int) -> int:
    """CBC's best possible objective from its log (it minimises the negated objective: the sign flips)."""
    values = [abs(float(v)) for v in re.findall(r"best possible (-?[\d.e+]+)", log)]
    values += [abs(float(v)) for v in re.findall(r"(?:Lower|Upper) bound:\s+(-?[\d.e+]+)", log)]
    return int(math.floor(min(values) + 1e-6)) if values else found


@dataclass(frozen=True)
class Plan:
    """What the pages and the report show of the next sites: `compare` (one row per k) and, for each
    k = 1..len, the exact and the greedy sites (rows of `Problem.picked`)."""

    compare: pl.DataFrame
    exact: list[pl.DataFrame]
    greedy: list[pl.DataFrame]


def plan(communities: pl.DataFrame, walk_minutes: float = 15.0, candidates: pl.DataFrame | None = None,
         only_candidates: bool = False, time_limit: float = 20.0, k_max: int = 10) -> Plan:
    """The next sites for k = 1..k_max: candidates are the community centres plus `candidates` (or only
    those when `only_candidates`)."""
    sites = candidates_from_communities(communities.sort("community_code"))
    if candidates is not None:
        sites = candidates.select(CANDIDATE_COLUMNS) if only_candidates else pl.concat(
            [sites, candidates.select(CANDIDATE_COLUMNS)])
    problem = Problem(communities, walk_minutes, sites)
    rows, exact, greedy = [], [], []
    starts = [problem.greedy(k) for k in range(1, k_max + 1)]
    # CBC runs in a process of its own per solve: two at a time use both cores.
    with ThreadPoolExecutor(max_workers=SOLVERS) as pool:
        solved = list(pool.map(lambda g: problem.exact(g.k, time_limit, start=g), starts))
    for g, e in zip(starts, solved, strict=True):
        k = g.k
        exact.append(problem.picked(e))
        greedy.append(problem.picked(g))
        rows.append({"k": k, "greedy_gain": g.gain, "exact_gain": e.gain, "gap": e.gain - g.gain, "bound": e.bound,
                     "status": e.status, "seconds": e.seconds,
                     "residents_covered": problem.covered_today + e.gain,
                     "coverage_rate": ((problem.covered_today + e.gain) / problem.residents_total
                                       if problem.residents_total else None)})
    return Plan(pl.DataFrame(rows, schema=_COMPARE), exact, greedy)


_COMPARE = {"k": pl.Int64, "greedy_gain": pl.Int64, "exact_gain": pl.Int64, "gap": pl.Int64, "bound": pl.Int64,
            "status": pl.String, "seconds": pl.Float64, "residents_covered": pl.Int64, "coverage_rate": pl.Float64}
