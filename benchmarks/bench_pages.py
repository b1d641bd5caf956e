"""Server-side run time of every dashboard page (AppTest), after the first load. Prints figures.

    python benchmarks/bench_pages.py [--db PATH] [--runs N]

Without --db the Nansha sample is loaded into a temporary database. Targets: 1 s a page on the sample
data, 2 s at 10 million events.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = {"overview": "manager", "loans": "manager", "chains": "manager", "branch_map": "manager",
         "residents": "manager", "upload": "staff", "glossary": "manager"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "microbranch.duckdb"
    os.environ["MICROBRANCH_DB"] = str(db)
    os.environ.setdefault("MICROBRANCH_KEY_FILE", str(Path(tmp.name) / "microbranch.key"))
    from streamlit.testing.v1 import AppTest

    from microbranch import sample, storage
    from sample_data.generate import generate

    if storage.current_version(db) is None:
        sample.load(db, generate)
    print(f"database {db}, {args.runs} runs a page after one warm-up run")
    print(f"{'page':<12}{'first s':>9}{'p50 s':>8}{'max s':>8}")
    for page, role in PAGES.items():
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
        at.query_params["role"] = role
        at.switch_page(f"app_pages/{page}.py")
        started = time.perf_counter()
        at.run()
        first = time.perf_counter() - started
        assert not at.exception, [e.value for e in at.exception]
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - started)
        print(f"{page:<12}{first:>9.2f}{statistics.median(times):>8.2f}{max(times):>8.2f}")


if __name__ == "__main__":
    main()
