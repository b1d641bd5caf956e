"""The chains' queries and the long lists at scale (a benchmark, not a test: it prints figures).

    python benchmarks/bench_lists.py DB [NAME ...] [--runs 7] [--macros]

Opens the database file DB read-only (a published snapshot, or a writer file copied aside and brought up to this
schema) and times the named queries of the chains' page and the long lists (or the NAMEs given), with default
parameters and, for the paged lists, every order: p50/p95 over `--runs` runs after one warm-up, the rows returned,
and `uptime`'s load average before and after (the figures mean something only on a quiet machine). `--macros`
creates this checkout's shared macros (queries/_*.sql) on the connection as temporary macros, so a database made by
other code with the same tables is timed with this checkout's queries without being rebuilt.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_import import QUERY_P95_TARGET_MS, _percentile, _timed, _uptime  # noqa: E402

from microbranch import queries  # noqa: E402

# Each query with default parameters, and the paged ones once per order they offer.
CASES: list[tuple[str, dict]] = [
    ("chains", {}),
    ("chains", {"sort": "holders"}),
    ("chains", {"sort": "latest"}),
    ("chains", {"sort": "transfers"}),
    ("chains", {"skip": 100_000}),
    ("chains_full", {}),
    ("chain_kpis", {}),
    ("chains_longest", {}),
    ("chains_adrift", {}),
    ("chains_by_holders", {}),
    ("chains_by_days_per_holder", {}),
    ("orphans_by_import", {}),
    ("dead_stock_by_item", {}),
    ("dead_stock_by_item", {"sort": "branch"}),
    ("dead_stock_by_item", {"sort": "call_number"}),
    ("dead_stock_by_item_full", {}),
    ("items_never_borrowed", {}),
    ("items_never_borrowed", {"sort": "branch"}),
    ("items_never_borrowed", {"sort": "call_number"}),
    ("items_never_borrowed_full", {}),
    ("moves_by_item", {}),
    ("moves_by_item", {"sort": "longest"}),
    ("moves_by_item_full", {}),
    ("moves_by_branch", {}),
]


def run(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> object:
    """A named query on this connection itself (its temporary macros are not seen by a cursor)."""
    values = {p: params.get(p) for p in queries.params_of(name)}
    return con.sql(queries.text(name), params=values or None).pl()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db", type=Path)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("names", nargs="*", help="only these queries")
    ap.add_argument("--macros", action="store_true", help="this checkout's macros, as temporary macros")
    args = ap.parse_args(argv)
    print(f"load at the start: {_uptime()}", flush=True)
    con = duckdb.connect(str(args.db), read_only=True)
    if args.macros:
        for path in queries.MACROS:
            con.sql(path.read_text(encoding="utf-8").replace("create or replace macro", "create or replace temp macro"))
    print(f"  {'query':<28} {'params':<22} {'rows':>9} {'p50 ms':>8} {'p95 ms':>8}")
    for name, params in CASES:
        if args.names and name not in args.names:
            continue
        frame = run(con, name, **params)
        runs = _timed(lambda name=name, params=params: run(con, name, **params), args.runs)
        p95 = _percentile(runs, 0.95)
        flag = "" if p95 <= QUERY_P95_TARGET_MS else "  OVER"
        shown = ",".join(f"{k}={v}" for k, v in params.items())
        print(f"  {name:<28} {shown:<22} {frame.height:>9,} {_percentile(runs, 0.5):>8.1f} {p95:>8.1f}{flag}",
              flush=True)
    con.close()
    print(f"load at the end: {_uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
