"""Every named query as it was at an earlier commit against the query as it is now, on one database in one run (a
benchmark, not a test: it prints figures).

    python benchmarks/bench_before_after.py DB COMMIT [NAME ...] [--runs 7]

Opens the database file DB read-only (a published snapshot made by this checkout's code). The queries of COMMIT
(their `.sql` text from `git show`, and that commit's shared macros created as temporary macros on one connection) are
timed against this checkout's queries (the macros stored in DB, on a cursor of that connection, which does not see
temporary macros), one run of each in turn: p50/p95 over `--runs` runs after one warm-up each, and `uptime`'s load
average before and after. A query the older commit did not have is left out. The two sides share the machine's
window, so their ratio holds where figures of runs on other days do not.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_import import QUERY_P95_TARGET_MS, _percentile, _uptime  # noqa: E402

from microbranch import clock, queries  # noqa: E402
from microbranch.storage.read import reader  # noqa: E402


def _then(commit: str, path: str) -> str | None:
    """The file at `path` in `commit`, None when that commit had none."""
    done = subprocess.run(["git", "-C", str(ROOT), "show", f"{commit}:{path}"], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def _run(con, text: str) -> None:
    values = dict.fromkeys(queries.PARAM.findall(text))
    if "time_zone" in values:
        values["time_zone"] = clock.zone_name()
    con.sql(text, params=values or None).pl()


def _timed_pair(before, after, runs: int) -> tuple[list[float], list[float]]:
    """Milliseconds of `runs` runs of each, one of each in turn after one warm-up each, sorted."""
    before(), after()
    a, b = [], []
    for _ in range(runs):
        start = time.perf_counter()
        before()
        a.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        after()
        b.append((time.perf_counter() - start) * 1000)
    return sorted(a), sorted(b)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("commit")
    ap.add_argument("names", nargs="*", help="only these queries")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    print(f"load at the start: {_uptime()}", flush=True)
    old = reader(args.db)
    for path in queries.MACROS:
        text = _then(args.commit, f"queries/{path.name}")
        if text:
            old.sql(text.replace("create or replace macro", "create or replace temp macro"))
    new = old.cursor()
    print(f"  {'query':<32} {'before p50':>10} {'p95':>8} {'now p50':>9} {'p95':>8} {'ratio':>6}")
    timed = within_before = within_now = 0
    for name in args.names or queries.names():
        then = _then(args.commit, f"queries/{name}.sql")
        if then is None:
            continue
        now = queries.text(name)
        a, b = _timed_pair(lambda then=then: _run(old, then), lambda now=now: _run(new, now), args.runs)
        before95, now95 = _percentile(a, 0.95), _percentile(b, 0.95)
        timed += 1
        within_before += before95 <= QUERY_P95_TARGET_MS
        within_now += now95 <= QUERY_P95_TARGET_MS
        print(f"  {name:<32} {_percentile(a, 0.5):>10.1f} {before95:>8.1f} {_percentile(b, 0.5):>9.1f} {now95:>8.1f}"
              f" {_percentile(a, 0.5) / _percentile(b, 0.5):>5.2f}x", flush=True)
    print(f"within {QUERY_P95_TARGET_MS:g} ms p95: {within_now} of {timed} now, {within_before} before")
    print(f"load at the end: {_uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
