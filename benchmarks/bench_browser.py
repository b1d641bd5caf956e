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
`click` is the warm view as a viewer moving around the dashboard sees it: in the same tab, from the glossary, a click
on the page's link in the sidebar (no page load: the app asks the server for the page's run and draws it), timed from
the click to the page done. Its floors: the same click between the framework-alone pages in one app, and to a page of
six such charts.
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
# drawn, not only sent: no element still a placeholder (charts and tables load their code lazily), every chart drawn
DRAWN = (f"!document.querySelector('{DRAWING}') && [...document.querySelectorAll('[data-testid=stPlotlyChart]')]"
         ".every(c => c.querySelector('.main-svg'))")


async def _timed_goto(page, url: str) -> tuple[float, float]:  # noqa: ANN001
    """Seconds from the navigation to the page's title and to the page done."""
    started = time.perf_counter()
    await page.goto(url)
    await page.wait_for_selector("h1", timeout=TIMEOUT * 1000)  # the page's own script runs
    first = time.perf_counter() - started
    await page.wait_for_selector(DONE, timeout=TIMEOUT * 1000)
    await page.wait_for_function(DRAWN, timeout=TIMEOUT * 1000)
    return first, time.perf_counter() - started


_TITLES = "[...document.querySelectorAll('h1')].map(h => h.textContent).join('|')"
# the old page's elements go at the click, before the new page's run starts: an empty title is not the new page
_FINISHED = "document.querySelector('[data-testid=stApp]').getAttribute('data-test-script-state') === 'notRunning'"
_CLICKED_DONE = f"!['', window.__was].includes({_TITLES}) && {DRAWN} && {_FINISHED}"


async def _timed_click(page, path: str) -> float | None:  # noqa: ANN001
    """Seconds from a click on the sidebar's link to `path` to the page done; None when no link goes there."""
    link = page.locator(f'[data-testid="stPageLink-NavLink"][href="{path}"]')
    if await link.count() == 0:
        return None
    # the page's title before the click: the new page is there when its own title is (every page has its own)
    await page.evaluate(f"() => {{ window.__was = {_TITLES} }}")
    started = time.perf_counter()
    await link.first.click()
    await page.wait_for_function(_CLICKED_DONE, timeout=TIMEOUT * 1000)
    return time.perf_counter() - started


async def view(browser, url: str, cookie: str | None, shot: Path | None = None,  # noqa: ANN001
               again: bool = False, click: tuple[str, str] | None = None) -> tuple:
    """Seconds to the page's title and to the page done; failed?; with `again`, seconds to the page done when the
    same browser opens it once more (its static files in the browser's cache, as a returning viewer has them); with
    `click` (another page, this page), seconds from a click on this page's link, made from the other page, to the
    page done."""
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
        clicked = None
        if click and await _timed_click(page, click[0]) is not None:
            clicked = await _timed_click(page, click[1])
        return first, done, failed, cached, clicked
    finally:
        await context.close()


# The two framework-alone pages in one app, for the click between them (bench_pages.FLOORS, as pages), and a page of
# six such charts (as many as the loans page draws above its tabs).
FLOOR_APP = """import plotly.express as px
import streamlit as st

bar = st.cache_resource(lambda: px.bar(x=[f'B{i:04d}' for i in range(15)], y=list(range(15))))
pages = [st.Page(lambda: (st.title('floor: bare'), st.metric('loans', 1234)), title='bare', url_path='bare'),
         st.Page(lambda: (st.title('floor: chart'), st.plotly_chart(bar())), title='chart', url_path='chart'),
         st.Page(lambda: (st.title('floor: six'), [st.plotly_chart(bar(), key=f'c{i}') for i in range(6)]),
                 title='six', url_path='six')]
home = st.Page(lambda: st.title('home'), title='home', url_path='home', default=True, visibility='hidden')
navigation = st.navigation([home, *pages], position='hidden')
for page in pages:
    st.sidebar.page_link(page)
navigation.run()
"""


def _floor_server(work: Path, name: str, text: str) -> tuple[subprocess.Popen, int]:
    script = work / f"floor_{name}.py"
    script.write_text(text, encoding="utf-8")
    port = free_port()
    code = (f"from streamlit.starlette import App; App({str(script)!r}).run(config={{'server.port': {port}, "
            "'server.headless': True, 'server.fileWatcherType': 'none'})")
    proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, "-c", code], cwd=work,
                            stdout=(work / f"{script.stem}.log").open("wb"), stderr=subprocess.STDOUT)
    wait_health(f"http://127.0.0.1:{port}")
    return proc, port


async def floors(browser, work: Path) -> None:  # noqa: ANN001
    """The same views of pages made of the framework alone, one server each, pinned like ours; the click between
    them in one app of both."""
    proc, port = _floor_server(work, "app", FLOOR_APP)
    try:  # the second click each way is the one kept (the first runs each page once)
        for _ in range(2):
            *_, to_chart = await view(browser, f"http://127.0.0.1:{port}/chart", None, click=("bare", "chart"))
        *_, to_bare = await view(browser, f"http://127.0.0.1:{port}/bare", None, click=("chart", "bare"))
        for _ in range(2):
            *_, to_six = await view(browser, f"http://127.0.0.1:{port}/six", None, click=("bare", "six"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    for (label, text), clicked in zip(FLOORS.items(), (to_bare, to_chart), strict=True):
        proc, port = _floor_server(work, label.replace(" ", "_"), text)
        try:
            server = psutil.Process(proc.pid)
            runs = []
            for _ in ("first", "warm"):
                cpu = server.cpu_times()
                first, done, _, cached, _ = await view(browser, f"http://127.0.0.1:{port}/", None, again=True)
                runs.append((first, done, sum(server.cpu_times()[:2]) - sum(cpu[:2]), cached))
            _row(f"[{label}]", runs, clicked)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"{'[six charts]':<12} {'':>81}{to_six:>8.2f}", flush=True)


def _row(name: str, runs: list[tuple], clicked: float | None) -> None:
    (f1, d1, c1, _), (f2, d2, c2, again) = runs
    print(f"{name:<12} {f1:>14.2f} {d1:>7.2f} {c1:>6.2f}   {f2:>13.2f} {d2:>7.2f} {c2:>6.2f}   {again:>10.2f}"
          f"   {'—' if clicked is None else f'{clicked:.2f}':>8}", flush=True)


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
                  f"{'warm: title s':>13} {'done s':>7} {'CPU s':>6}   {'again s':>10}   {'click s':>8}", flush=True)
            for name in args.pages.split(","):
                url = f"{base}/{name}" + (f"?branch={args.branch}" if name == "branch" else "")
                runs, errors = [], 0
                for run in ("first", "warm"):
                    cpu = server.cpu_times()
                    click = ("glossary", name) if run == "warm" and name != "glossary" else None
                    first, done, failed, again, clicked = await view(browser, url, cookie, again=True, click=click)
                    runs.append((first, done, sum(server.cpu_times()[:2]) - sum(cpu[:2]), again))
                    errors += int(failed)
                _row(name, runs, clicked)
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
