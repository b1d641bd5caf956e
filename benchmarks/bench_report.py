"""District report and next-site benchmark (a benchmark, not a test: it prints figures).

    flock /work/bench.lock python benchmarks/bench_report.py --data /work/bigdata/csv [--month 2025-11]

* imports the big set (branches, communities, readers, items, events) into a temporary database;
* the district report for one month through the command line (`python -m microbranch report`), HTML and
  PDF, in a child process each: wall time and the peak resident memory of the largest process of the
  run (GNU time's %M);
* the next-site plan on the big set's 5,000 communities and 1,000 branches: for k = 1..10 the greedy and
  the exact (CBC) solve, seconds per k, residents added and the gap, at 15 and 10 minutes.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from microbranch import queries, sites, storage  # noqa: E402
from microbranch.ingest import import_file  # noqa: E402

KINDS = ("branches", "communities", "readers", "items", "events")


def load(data: Path, db: Path) -> None:
    for kind in KINDS:
        t0 = time.perf_counter()
        result = import_file(db, data / f"{kind}.csv", user="bench")
        print(f"  imported {kind}: {result.accepted:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)


def bench_report(db: Path, month: str, out: Path, env: dict[str, str]) -> None:
    print(f"\ndistrict report for {month} (python -m microbranch report, a child process each):")
    print(f"  {'form':6} {'lang':4} {'seconds':>8} {'peak MB':>8} {'size MB':>8}")
    for form, lang in (("html", "zh"), ("pdf", "zh"), ("pdf", "en")):
        target = out / f"report-{month}-{lang}.{form}"
        t0 = time.perf_counter()
        # GNU time's %M: the peak resident memory of the largest process of the run (KiB)
        done = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "microbranch", "--db", str(db),
                               "report", "--month", month, "--lang", lang, "--format", form, "--out", str(target)],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - t0
        if done.returncode:
            print(f"  {form}: failed: {done.stderr.strip()[-500:]}")
            continue
        peak = int(done.stderr.strip().splitlines()[-1])
        print(f"  {form:6} {lang:4} {seconds:8.1f} {peak / 1024:8.0f} {target.stat().st_size / 1e6:8.1f}", flush=True)


def bench_sites(db: Path, day: date, time_limit: float) -> None:
    con = storage.reader(db)
    for walk in (15, 10):
        communities = queries.run(con, "coverage_by_community", date_to=day, walk_minutes=walk)
        t0 = time.perf_counter()
        problem = sites.Problem(communities, walk)
        setup = time.perf_counter() - t0
        branches = queries.run(con, "served_by_branch", date_to=day, walk_minutes=walk).height
        print(f"\nnext sites at {walk} min: {communities.height:,} communities, {branches:,} branches open on {day}, "
              f"{len(problem.weights):,} uncovered, {len(problem.site):,} site-community pairs "
              f"(set up in {setup:.2f} s); time limit {time_limit:g} s per solve")
        print(f"  {'k':>3} {'greedy s':>9} {'exact s':>8} {'greedy':>10} {'exact':>10} {'gap':>7} "
              f"{'bound':>10}  status")
        for k in range(1, 11):
            t0 = time.perf_counter()
            greedy = problem.greedy(k)
            g_s = time.perf_counter() - t0
            exact = problem.exact(k, time_limit, start=greedy)
            print(f"  {k:3} {g_s:9.3f} {exact.seconds:8.2f} {greedy.gain:10,} {exact.gain:10,} "
                  f"{exact.gain - greedy.gain:7,} {exact.bound:10,}  {exact.status}", flush=True)
    con.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("/work/bigdata/csv"))
    ap.add_argument("--month", default=None, help="YYYY-MM (default: the data's last whole month)")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per exact solve")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_report_"))
    env = {**os.environ, "MICROBRANCH_KEY_FILE": str(work / "secret" / "microbranch.key")}
    os.environ.update(env)
    try:
        db = work / "data" / "microbranch.duckdb"
        print(f"importing {args.data} …", flush=True)
        load(args.data, db)
        con = storage.reader(db)
        last = queries.run(con, "data_status").row(0, named=True)["as_of"]
        con.close()
        month = args.month or (f"{last.year}-{last.month - 1:02d}" if last.month > 1 else f"{last.year - 1}-12")
        bench_report(db, month, work, env)
        bench_sites(db, last, args.time_limit)
        return 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
