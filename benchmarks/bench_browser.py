"""Every page in a real browser: what a user waits for. Prints figures; not a test.

    python benchmarks/bench_browser.py [--db PATH] [--pages overview,loans] [--shots DIR] [--branch B0001]

One dashboard server (server.py, as `python -m microbranch serve` runs it) on the database (`--db`, read-only
through a viewing folder, see bench_pages.py; without it the Nansha sample), signed in as a manager through the
form. Each page is opened in Debian chromium (Playwright with executable_path) in a new browser context, twice: the
first view (nothing of it computed yet on this server) and the warm view (a new viewer once it has been computed),
timed from the navigation to the page's title (its script has started) and to the page done: Streamlit's
script-finished mark after it and no element still drawn as a placeholder. The server's CPU seconds for each view
are printed beside it; the load average before and after. A new browser context fetches every static file again
(a returning viewer's browser has them cached), so the warm view's CPU includes serving them; `again` is the warm
context opening the page once more, its static files cached, as a returning viewer's browser does.
The floors (unless `--no-floors`): the same views of two pages made of the framework alone (a title and a metric;
a title and one small plotly chart), each on a server of its own served the same way (st.App on uvicorn, pinned to
the same core): what a page of this dashboard cannot beat in this browser on this machine.
With `--shots DIR`, a full-page screenshot of each page in Chinese and in English after its views
(`DIR/<page>_<lang>.png`), 1400 × 3400 px.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_load import (
    DONE,
    FAILED,
    PASSWORD,
    TIMEOUT,
    USER,
    free_port,
    load,
    sign_in,
    start_servers,  # noqa: E402
    wait_health,
)
from benchmarks.bench_pages import FLOORS, viewing_folder  # noqa: E402

PAGES = ("overview", "loans", "chains", "stock", "readers", "branch_map", "residents", "scorecards", "report",
         "glossary", "branch")
CHROMIUM = "/usr/bin/chromium"
DRAWING = '[data-testid="stSkeleton"]'


async def _timed_goto(page, url: str) -> tuple[float, float]:  # noqa: ANN001
    """Seconds from the navigation to the page's title and to the page done."""
    started = time.perf_counter()
    await page.goto(url)
    await page.wait_for_selector("h1", timeout=TIMEOUT * 1000)  # the page's own script runs
    first = time.perf_counter() - started
    await page.wait_for_selector(DONE, timeout=TIMEOUT * 1000)
    # drawn, not only sent: no element still a placeholder (charts and tables load their code lazily)
    await page.wait_for_function(f"!document.querySelector('{DRAWING}')", timeout=TIMEOUT * 1000)
    return first, time.perf_counter() - started


async def view(browser, url: str, cookie: str | None, shot: Path | None = None,  # noqa: ANN001
               again: bool = False) -> tuple[float, float, bool, float | None]:
    """Seconds to the page's title and to the page done; failed?; with `again`, seconds to the page done when the
    same browser opens it once more (its static files in the browser's cache, as a returning viewer has them)."""
    # Streamlit's page scrolls inside its own container: a screenshot holds what a tall window shows
    context = await browser.new_context(viewport={"width": 1400, "height": 3400 if shot else 1000})
    host = url.split("//", 1)[1].split("/", 1)[0].split(":")[0]
    if cookie:
        await context.add_cookies([{"name": "microbranch_session", "value": cookie, "domain": host, "path": "/"}])
    page = await context.new_page()
    try:
        first, done = await _timed_goto(page, url)
        failed = await page.locator(FAILED).count() > 0
        if shot:
            await page.screenshot(path=str(shot))
        cached = (await _timed_goto(page, url))[1] if again else None
        return first, done, failed, cached
    finally:
        await context.close()


async def floors(browser, work: Path) -> None:  # noqa: ANN001
    """The same three views of pages made of the framework alone, one server each, pinned like ours."""
    for label, text in FLOORS.items():
        script = work / f"floor_{label.replace(' ', '_')}.py"
        script.write_text(text, encoding="utf-8")
        port = free_port()
        code = (f"from streamlit.starlette import App; App({str(script)!r}).run(config={{'server.port': {port}, "
                "'server.headless': True, 'server.fileWatcherType': 'none'})")
        proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", code], cwd=work,
                                stdout=(work / f"{script.stem}.log").open("wb"), stderr=subprocess.STDOUT)
        try:
            wait_health(f"http://127.0.0.1:{port}")
            server = psutil.Process(proc.pid)
            runs = []
            for _ in ("first", "warm"):
                cpu = server.cpu_times()
                first, done, _, cached = await view(browser, f"http://127.0.0.1:{port}/", None, again=True)
                runs.append((first, done, sum(server.cpu_times()[:2]) - sum(cpu[:2]), cached))
            _row(f"[{label}]", runs)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _row(name: str, runs: list[tuple]) -> None:
    (f1, d1, c1, _), (f2, d2, c2, again) = runs
    print(f"{name:<12} {f1:>14.2f} {d1:>7.2f} {c1:>6.2f}   {f2:>13.2f} {d2:>7.2f} {c2:>6.2f}   {again:>10.2f}",
          flush=True)


async def bench(args: argparse.Namespace, db: Path, env: dict[str, str], work: Path) -> None:
    from playwright.async_api import async_playwright

    procs, ports = start_servers(1, db, env, work, [0])
    server = psutil.Process(procs[0].pid)
    base = f"http://127.0.0.1:{ports[0]}"
    try:
        cookie = sign_in(base)
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM)
            print(f"{'page':<12} {'first: title s':>14} {'done s':>7} {'CPU s':>6}   "
                  f"{'warm: title s':>13} {'done s':>7} {'CPU s':>6}   {'again s':>10}  errors", flush=True)
            for name in args.pages.split(","):
                url = f"{base}/{name}" + (f"?branch={args.branch}" if name == "branch" else "")
                runs, errors = [], 0
                for _ in ("first", "warm"):
                    cpu = server.cpu_times()
                    first, done, failed, again = await view(browser, url, cookie, again=True)
                    runs.append((first, done, sum(server.cpu_times()[:2]) - sum(cpu[:2]), again))
                    errors += int(failed)
                _row(name, runs)
                if errors:
                    print(f"  {name}: {errors} view(s) showed an error", flush=True)
                if args.shots:
                    args.shots.mkdir(parents=True, exist_ok=True)
                    for language in ("zh", "en"):
                        sep = "&" if "?" in url else "?"
                        await view(browser, url + (f"{sep}lang=en" if language == "en" else ""), cookie,
                                   args.shots / f"{name}_{language}.png")
            if args.floors:
                await floors(browser, work)
            await browser.close()
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path)
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--branch", default="B0001", help="the branch of the one-branch page")
    parser.add_argument("--shots", type=Path, help="save full-page screenshots (zh and en) here")
    parser.add_argument("--no-floors", dest="floors", action="store_false",
                        help="skip the floors (pages of the framework alone)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_browser_") as tmp:
        folder = Path(tmp)
        if args.db:
            key = args.db.resolve().with_name("microbranch.key")
            db = viewing_folder(args.db.resolve(), folder)
        else:
            db, key = folder / "data" / "microbranch.duckdb", folder / "k" / "microbranch.key"
        env = {**os.environ, "MICROBRANCH_DB": str(db),
               "MICROBRANCH_KEY_FILE": os.environ.get("MICROBRANCH_KEY_FILE") or str(key)}
        if args.db is None:
            subprocess.run([sys.executable, "-m", "sample_data", "--db", str(db)], env=env, check=True,
                           capture_output=True, cwd=Path(__file__).resolve().parent.parent)
        os.environ.update({k: env[k] for k in ("MICROBRANCH_DB", "MICROBRANCH_KEY_FILE")})
        from microbranch import auth

        if USER not in auth.users(db)["name"].to_list():
            auth.add(USER, "manager", PASSWORD, db=db)
        print(f"database {args.db or 'Nansha sample'}; {load()}", flush=True)
        asyncio.run(bench(args, db, env, folder))
        print(load())


if __name__ == "__main__":
    main()
