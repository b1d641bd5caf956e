"""Publishing benchmark: a 10,000-event import into a big database, its publish against the old full copy.

    python benchmarks/bench_publish.py --db /path/to/10M/microbranch.duckdb --data /work/bigdata/csv

`--db` is a database the importer has loaded (e.g. with the 10M-event files of `benchmarks/make_big.py`); it is
copied into a scratch folder (never written). The 10,000 events are the last 10,000 of `<data>/events.csv`
with new ids, 150 days later. Prints, in one run:
* the old design's publish: a copy of the whole writer file (what every import paid before);
* the import of the 10,000 events, whole, and its publish step (the log beside the hard-linked base);
* the second reader's first open of the new version (DuckDB replays the log) and `kpis` on it;
* a fold (checkpoint + full copy), which runs once the log passes its threshold.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from microbranch import queries, storage
from microbranch.ingest import import_file
from microbranch.storage import publishing
from microbranch.storage.locations import wal_of


def small_events(data: Path, out: Path, n: int = 10_000) -> Path:
    events = pl.read_csv(data / "events.csv", infer_schema=False).tail(n)
    later = pl.duration(days=150)
    events = events.with_columns(
        ("N" + pl.col("event_id").str.slice(1)).alias("event_id"),
        (pl.col("occurred_at").str.to_datetime("%Y-%m-%d %H:%M:%S") + later).dt.strftime("%Y-%m-%d %H:%M:%S"),
        (pl.col("due_at").str.to_date() + later).dt.strftime("%Y-%m-%d"),
    )
    path = out / "events_10k.csv"
    events.write_csv(path)
    return path


def timed(fn) -> float:  # noqa: ANN001
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def p50_ms(con, name: str, runs: int = 7) -> float:  # noqa: ANN001
    return statistics.median(timed(lambda: queries.run(con, name)) for _ in range(runs)) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="a loaded database (copied, never written)")
    ap.add_argument("--data", type=Path, required=True, help="the folder of the big CSV files (events.csv)")
    ap.add_argument("--scratch", type=Path, default=None, help="where to copy it (default: a temporary folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.scratch) as tmp:
        folder = Path(tmp)
        db = folder / "data" / "microbranch.duckdb"
        db.parent.mkdir()
        setup = timed(lambda: shutil.copyfile(args.db, db))
        print(f"writer file: {db.stat().st_size / 1e6:,.0f} MB (copied into the scratch folder in {setup:.2f} s)")
        first = timed(lambda: storage.recover(db))
        print(f"first publish of the copy (fold: checkpoint + full copy): {first:.2f} s")
        old = timed(lambda: shutil.copyfile(db, folder / "old-design-copy.duckdb"))
        (folder / "old-design-copy.duckdb").unlink()
        print(f"old design's publish, a full copy of the writer file: {old:.2f} s")
        events = small_events(args.data, folder)

        marks: dict[str, float] = {}
        result = import_file(db, events, user="bench",
                             progress=lambda step, _f: marks.setdefault(step, time.perf_counter()))
        publish = marks["done"] - marks["publishing"]
        version = storage.current_version(db)
        path = storage.path_of(db, version)
        wal = wal_of(path)
        print(f"10,000-event import: {result.seconds:.2f} s whole ({result.accepted} accepted), of which publishing "
              f"{publish * 1000:.0f} ms: {version}, log {wal.stat().st_size / 1e6:.1f} MB beside the linked base "
              f"(target: publish well under 1 s, whole import <= 1 s)")
        print(f"publish against the old design: {publish * 1000:.0f} ms vs {old * 1000:.0f} ms ({old / publish:.0f}x)")

        opened = timed(lambda: storage.reader(db).close())
        con = storage.reader(db)
        with_log = p50_ms(con, "kpis")
        con.close()
        fold = timed(lambda: storage.fold(db))
        con = storage.reader(db)
        folded = p50_ms(con, "kpis")
        con.close()
        print(f"a reader's first open of the new version (replays the log): {opened * 1000:.0f} ms; kpis p50 "
              f"{with_log:.0f} ms on it, {folded:.0f} ms after folding")
        print(f"fold (checkpoint + full copy, once the log passes {publishing.FOLD_AT:.0%} of the base or "
              f"{publishing.FOLD_MIN >> 20} MB): {fold:.2f} s")
        print(f"cpu count {os.cpu_count()}; other work on the machine makes absolute times noisy, ratios carry")


if __name__ == "__main__":
    main()
