"""Coverage benchmark (a benchmark, not a test: it prints figures).

    python benchmarks/bench_coverage.py [--data DIR] [--runs 20] [--keep] [--no-pages]

* p50/p95 of every geography named query (coverage_by_community, coverage_by_threshold, served_by_branch,
  uncovered_by_community, walk_by_town, penetration_by_community and kpis, whose residents part is the walks)
  at 5,000 communities and 1,000 branches (the big synthetic set's branches.csv and communities.csv), on the
  data's last day and on a day when fewer branches were open, target p95 <= 1 s (issue 20: 100 ms);
* the time to rebuild the stored walks (``microbranch.walks.refresh``, run at each import or undo of branches or
  communities) and how many pairs and spans it keeps;
* the greedy next-site choice (``microbranch.coverage.next_sites``) for k = 1, 5, 10 at 5, 10, 15 minutes;
* the server side of the two places pages (AppTest) on the Nansha sample data, cold (caches cleared) and
  warm, target <= 1 s.

``--data DIR`` takes branches.csv and communities.csv from DIR (e.g. /tmp/big10m) and generates them there
when missing (``sample_data/make_big.py`` with few events: only branches and communities are imported).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from microbranch import coverage, queries, storage, walks  # noqa: E402
from microbranch.ingest import import_file  # noqa: E402

TARGET_S = 1.0
DAY = date(2025, 12, 31)
EARLIER = date(2019, 6, 30)  # fewer branches open: other nearest branches, longer walks
COVERAGE_QUERIES = {
    "coverage_by_community": {"date_to": DAY, "walk_minutes": 15},
    "coverage_by_threshold": {"date_to": DAY},
    "walk_by_town": {"date_to": DAY, "walk_minutes": 15},
    "served_by_branch": {"date_to": DAY, "walk_minutes": 15},
    "uncovered_by_community": {"date_to": DAY, "walk_minutes": 15},
    "branches_by_loans": {"date_to": DAY, "walk_minutes": 15},
    "penetration_by_community": {"date_to": DAY},
    "kpis": {"date_to": DAY, "walk_minutes": 15},
}


def timings(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """p50 and p95 in seconds of `runs` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def big_places(data: Path | None, work: Path) -> Path:
    """A database with the big set's branches and communities only."""
    folder = data or work / "big"
    if not all((folder / f"{k}.csv").exists() for k in ("branches", "communities")):
        from sample_data.make_big import make_big

        print(f"generating the big set's branches and communities into {folder} …", flush=True)
        make_big(folder, 10_000)
    os.environ.setdefault("MICROBRANCH_KEY_FILE", str(work / "secret" / "microbranch.key"))
    db = work / "cov" / "db.duckdb"
    for kind in ("branches", "communities"):
        result = import_file(db, folder / f"{kind}.csv", user="bench")
        print(f"  imported {kind}: {result.accepted:,} rows")
    return db


def bench_queries(db: Path, runs: int) -> bool:
    con = storage.reader(db)
    counts = queries.run(con, "coverage_by_threshold", date_to=DAY)
    branches = queries.run(con, "served_by_branch", date_to=DAY)
    print(f"\ncoverage queries: {counts['residents_total'][0]:,} residents in "
          f"{queries.run(con, 'coverage_by_community', date_to=DAY).height:,} communities, "
          f"{branches.height:,} branches open on {DAY} ({runs} runs each)")
    print(f"  {'query':28} {'p50 ms':>9} {'p95 ms':>9}")
    ok = True
    for day in (DAY, EARLIER):
        print(f"  on {day}:")
        for name, params in COVERAGE_QUERIES.items():
            params = {**params, "date_to": day}
            p50, p95 = timings(lambda n=name, p=params: queries.run(con, n, **p), runs)
            ok &= p95 <= TARGET_S
            print(f"  {name:28} {p50 * 1000:9.1f} {p95 * 1000:9.1f}{'' if p95 <= TARGET_S else '  > target'}")
    print(f"\ngreedy next sites (coverage.next_sites) on the same {runs} runs:")
    print(f"  {'walk':>4} {'k':>3} {'p50 ms':>9} {'p95 ms':>9}  residents added")
    for walk in (5, 10, 15):
        communities = queries.run(con, "coverage_by_community", date_to=DAY, walk_minutes=walk)
        for k in (1, 5, 10):
            p50, p95 = timings(lambda c=communities, k=k, w=walk: coverage.next_sites(c, k, w), runs)
            sites = coverage.next_sites(communities, k, walk)
            ok &= p95 <= TARGET_S
            print(f"  {walk:4} {k:3} {p50 * 1000:9.1f} {p95 * 1000:9.1f}  {int(sites['gain'].sum()):,}")
    con.close()
    return ok


def bench_refresh(db: Path) -> None:
    """The rebuild of the stored walks, as an import of branches or communities runs it (rolled back here)."""
    import duckdb

    con = duckdb.connect(str(storage.path_of(db, storage.current_version(db))), read_only=False)
    try:
        times = []
        for _ in range(3):
            con.begin()
            t0 = time.perf_counter()
            walks.refresh(con)
            times.append(time.perf_counter() - t0)
            pairs, spans = (con.sql(f"select count(*) from {t}").fetchall()[0][0]
                            for t in ("walk_pairs", "community_nearest"))
            con.rollback()
    finally:
        con.close()
    print(f"\nstored walks rebuilt (at an import or undo of branches or communities): best {min(times):.2f} s, "
          f"worst {max(times):.2f} s of 3; {pairs:,} pairs within {walks.PAIRS_MINUTES:g} min, {spans:,} spans")


def bench_pages(work: Path, runs: int) -> bool:
    """Server side of the two pages on the sample data, through Streamlit's AppTest."""
    import streamlit as st
    from streamlit.logger import set_log_level
    from streamlit.testing.v1 import AppTest

    set_log_level("error")  # AppTest outside `streamlit run` warns about the missing runtime on every run

    db = work / "sample" / "microbranch.duckdb"
    os.environ["MICROBRANCH_DB"] = str(db)
    from microbranch import sample
    from sample_data.generate import generate

    print("\nloading the Nansha sample data for the pages …", flush=True)
    sample.load(db, generate)
    ok = True
    print(f"pages on the sample data ({runs} runs each; cold = caches cleared):")
    print(f"  {'page':22} {'cold p50':>9} {'cold p95':>9} {'warm p50':>9} {'warm p95':>9}  (ms)")
    for page in ("app_pages/branch_map.py", "app_pages/residents.py"):
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        at.switch_page(page)
        at.run()  # imports and the first connection
        if at.exception:
            print(f"  {page}: exception {at.exception[0].value}")
            return False

        def cold(at: AppTest = at) -> None:
            st.cache_data.clear()
            at.run()

        c50, c95 = timings(cold, runs)
        w50, w95 = timings(at.run, runs)
        ok &= c95 <= TARGET_S
        print(f"  {page:22} {c50 * 1000:9.0f} {c95 * 1000:9.0f} {w50 * 1000:9.0f} {w95 * 1000:9.0f}"
              f"{'' if c95 <= TARGET_S else '  > target'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="folder with the big set's branches.csv and communities.csv")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    ap.add_argument("--no-pages", action="store_true", help="skip the page timings")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_coverage_"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
    try:
        db = big_places(args.data, work)
        ok = bench_queries(db, args.runs)
        bench_refresh(db)
        if not args.no_pages:
            ok &= bench_pages(work, max(5, args.runs // 2))
        print(f"\nall within {TARGET_S:.0f} s: {'yes' if ok else 'NO'}")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
