"""District report and next-site benchmark (a benchmark, not a test: it prints figures).

    flock /work/bench.lock python benchmarks/bench_report.py --data /work/bigdata/csv [--month 2025-11]
    flock /work/bench.lock python benchmarks/bench_report.py --db /tmp/copy/microbranch.duckdb   # imported already

* imports the big set (branches, communities, readers, items, events) into a temporary database, or takes a
  database this version has imported (`--db`, a copy: the report's pieces are written beside it);
* the district report for one month through the command line (`python -m microbranch report`), HTML and
  PDF, Chinese and English, in a child process each: cold (no piece kept: queries, next-site solves, figures,
  printing) and warm (the pieces kept for this data version), targets HTML <= 3 s, PDF <= 10 s; wall time,
  the peak resident memory of the largest process of the run (GNU time's %M) and the load average before and
  after each run;
* where a cold report's time goes, in this process: the named queries, the next-site solves, the figures,
  the HTML, and chromium's start, page load (plotly draws the charts) and printing;
* with --small FILE (events, e.g. /work/bigdata/cur/events_small.csv): the first report after an import. The
  import through the command line (its answer), the latest whole month's report made in the background beside it
  (`report-pieces`, both languages; seconds until its pieces are kept), then that month's HTML report asked for;
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

from microbranch import mapfigure, queries, report, settings, sites, storage  # noqa: E402
from microbranch.ingest import import_file  # noqa: E402

KINDS = ("branches", "communities", "readers", "items", "events")


def load(data: Path, db: Path) -> None:
    for kind in KINDS:
        t0 = time.perf_counter()
        result = import_file(db, data / f"{kind}.csv", user="bench")
        print(f"  imported {kind}: {result.accepted:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_report(db: Path, month: str, out: Path, env: dict[str, str]) -> None:
    pieces = storage.locations(db).cache / "report"
    print(f"\ndistrict report for {month} (python -m microbranch report, a child process each; cold: no piece kept, "
          "warm: kept for this data version; targets HTML 3 s, PDF 10 s):")
    print(f"  {'form':5} {'lang':4} {'run':5} {'seconds':>8} {'peak MB':>8} {'size MB':>8}  "
          "load average before / after")
    for lang in ("zh", "en"):
        for form in ("html", "pdf"):
            shutil.rmtree(pieces, ignore_errors=True)
            for run in ("cold", "warm"):
                target = out / f"report-{month}-{lang}.{form}"
                before = load_average()
                t0 = time.perf_counter()
                # GNU time's %M: the peak resident memory of the largest process of the run (KiB)
                done = subprocess.run(["/usr/bin/time", "-f", "%M", sys.executable, "-m", "microbranch", "--db",
                                       str(db), "report", "--month", month, "--lang", lang, "--format", form,
                                       "--out", str(target)],
                                      cwd=ROOT, env=env, capture_output=True, text=True, check=False)
                seconds = time.perf_counter() - t0
                if done.returncode:
                    print(f"  {form}: failed: {done.stderr.strip()[-500:]}")
                    continue
                peak = int(done.stderr.strip().splitlines()[-1])
                print(f"  {form:5} {lang:4} {run:5} {seconds:8.2f} {peak / 1024:8.0f} "
                      f"{target.stat().st_size / 1e6:8.1f}  {before} / {load_average()}", flush=True)


def bench_after_import(db: Path, small: Path, env: dict[str, str]) -> None:
    cache = storage.locations(db).cache / "report"
    shutil.rmtree(cache, ignore_errors=True)
    print(f"\nthe first report after an import of {small.name} (load average {load_average()}):")
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(db), "import", str(small)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    answered = time.perf_counter() - t0
    if done.returncode:
        print(f"  import failed: {done.stderr.strip()[-500:]}")
        return
    print(f"  import answered in {answered:.2f} s (its report is made in the background)", flush=True)
    while len(list(cache.glob("html-*.pickle"))) < 2 and time.perf_counter() - t0 < 900:
        time.sleep(0.1)
    print(f"  the latest whole month's report kept (zh and en) {time.perf_counter() - t0:.2f} s after the import "
          f"began; load average {load_average()}", flush=True)
    con = storage.reader(db)
    month = report.latest_month(con)
    con.close()
    for lang in ("zh", "en"):
        target = cache.parent / f"after-import-{lang}.html"
        t1 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(db), "report", "--month", month,
                               "--lang", lang, "--format", "html", "--out", str(target)],
                              cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        print(f"  then the HTML report for {month}, {lang}: {time.perf_counter() - t1:.2f} s"
              + (f" (failed: {done.stderr.strip()[-300:]})" if done.returncode else "") + f"; {load_average()}",
              flush=True)
        target.unlink(missing_ok=True)


def profile(db: Path, month: str, lang: str) -> None:
    """One cold report in this process, timed by part."""
    from playwright.sync_api import sync_playwright

    spent: dict[str, float] = {}

    def timed(part: str, fn):  # noqa: ANN001, ANN202 - wraps any callable
        def wrapper(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[part] = spent.get(part, 0.0) + time.perf_counter() - t0
        return wrapper

    originals = {(queries, "run"): queries.run, (sites, "plan"): sites.plan, (report, "_html"): report._html,
                 **{(mapfigure, n): getattr(mapfigure, n) for n in ("branch_map", "trend_chart", "walk_by_town_chart")}}
    parts = {"run": "named queries", "plan": "next-site solves (10 exact)", "_html": "figures to HTML",
             "branch_map": "figures built", "trend_chart": "figures built", "walk_by_town_chart": "figures built"}
    for (module, name), fn in originals.items():
        setattr(module, name, timed(parts[name], fn))
    try:
        con = storage.reader(db)
        t0 = time.perf_counter()
        built = report.collect(con, report.Period.month(month), lang, pieces=report.Pieces())
        spent["collect (all of the above)"] = time.perf_counter() - t0
        con.close()
    finally:
        for (module, name), fn in originals.items():
            setattr(module, name, fn)
    t0 = time.perf_counter()
    html = report.render_html(built)
    spent["HTML rendered"] = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        page_file = Path(tmp) / "report.html"
        page_file.write_text(html, encoding="utf-8")
        t0 = time.perf_counter()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(settings.current().chromium), args=report.CHROMIUM_ARGS)
            spent["chromium started"] = time.perf_counter() - t0
            page = browser.new_page(viewport={"width": 760, "height": 1100})
            t0 = time.perf_counter()
            page.goto(page_file.as_uri(), wait_until="load")
            spent["page loaded (plotly draws)"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            page.emulate_media(media="print")
            page.pdf(path=str(Path(tmp) / "report.pdf"), format="A4", print_background=True)
            spent["printed"] = time.perf_counter() - t0
            browser.close()
    print(f"\nwhere a cold report's time goes ({lang}, {month}, in this process; load average {load_average()}):")
    for part, seconds in spent.items():
        print(f"  {part:32} {seconds:7.2f} s")


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
    ap.add_argument("--db", type=Path, help="a database this version imported (a copy): no import")
    ap.add_argument("--month", default=None, help="YYYY-MM (default: the data's last whole month)")
    ap.add_argument("--small", type=Path, help="events to import into --db (a copy) for the report after an import")
    ap.add_argument("--only-after-import", action="store_true", help="with --small: nothing else")
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per exact solve")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench_report_"))
    env = {**os.environ, "MICROBRANCH_KEY_FILE": os.environ.get("MICROBRANCH_KEY_FILE")
           or str(work / "secret" / "microbranch.key")}
    os.environ.update(env)
    try:
        print(f"load average at the start: {load_average()}", flush=True)
        db = args.db or work / "data" / "microbranch.duckdb"
        if not args.db:
            print(f"importing {args.data} …", flush=True)
            load(args.data, db)
        if args.small and args.db:
            bench_after_import(db, args.small, env)
            if args.only_after_import:
                return 0
        con = storage.reader(db)
        last = queries.run(con, "data_status").row(0, named=True)["as_of"]
        month = args.month or report.latest_month(con)
        con.close()
        bench_report(db, month, work, env)
        profile(db, month, "zh")
        bench_sites(db, last, args.time_limit)
        print(f"\nload average at the end: {load_average()}")
        return 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
