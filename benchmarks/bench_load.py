"""Many viewers at once. Prints figures; not a test.

    python benchmarks/bench_load.py [--db PATH] [--sessions 1,10,25,50] [--servers 1,2] [--pages overview,loans]
                                    [--browsers 3] [--server-cores 0] [--client-cores 1]

The dashboard is served as in production (server.py, as `python -m microbranch serve` runs it: sign-in, the guard),
each server process pinned with `taskset` to the cores given (default: one core, 0); with 2 servers, nginx with
deploy/nginx.conf (its `# TLS` lines left out) in front. The client runs on the other core.

The protocol-level client speaks Streamlit's own websocket messages, as the browser does, so a session costs the
client little CPU: it signs in once through server.py's form (`/signin`, its CSRF token and cookie) to see that it
works, then each simulated viewer gets a session of its own (as the form makes them, without the password's hashing,
so the server checks every viewer's session as it would for a real one: it trusts its last answer for a session id
for a few seconds), opens `/_stcore/stream` with its cookie, sends a `rerun_script` BackMsg naming
the page and its query string, and reads ForwardMsgs until `script_finished`. Timed from the request: the first
metric card (a `delta` whose new element is a metric) and the page done (`script_finished`).

For each setup: a fresh round (servers just started: first views, queries run), then warm rounds of 1, 10, 25, 50
concurrent new sessions. Each round prints p50/p95 seconds to the first metric and to the page done, pages with an
error, the servers' CPU seconds per view and their peak memory. Then `--browsers` real browser sessions (Debian
chromium through Playwright, the same cookie) as a check of what a user sees. The load average is printed.

With --db (e.g. the 10M database, read-only, maybe shared) the account is made in a viewing folder of its own
(see bench_pages.py): the database's own folder is never written. Without --db the Nansha sample is loaded into a
temporary database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CHROMIUM = "/usr/bin/chromium"
METRIC = '[data-testid="stMetric"]'
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
FAILED = '[data-testid="stException"], [data-testid="stAlertContentError"]'
USER, PASSWORD = "bench_manager", "bench load password 2024 基准"
TIMEOUT = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(base: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"{base} did not answer /_stcore/health")


def load() -> str:
    return "load average " + " ".join(f"{v:.2f}" for v in os.getloadavg())


def start_servers(n: int, db: Path, env: dict[str, str], work: Path, cores: list[int]) -> tuple[list, list[int]]:
    """n `python -m microbranch serve` processes, server i pinned to cores[i % len(cores)]."""
    procs, ports = [], []
    for i in range(n):
        port = free_port()
        log = (work / f"server{i}.log").open("wb")
        pin = ["taskset", "-c", str(cores[i % len(cores)])] if shutil.which("taskset") else []
        procs.append(subprocess.Popen(
            # server.py itself, as `python -m microbranch serve` runs it, but with the database path as given (serve
            # resolves links, and a viewing folder's database is a link beside accounts of its own)
            [*pin, sys.executable, "server.py", "--port", str(port)],
            cwd=ROOT, env={**env, "MICROBRANCH_DB": str(db), "PYTHONPATH": str(ROOT),
                           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"},
            stdout=log, stderr=subprocess.STDOUT))
        ports.append(port)
    try:
        for port in ports:
            wait_health(f"http://127.0.0.1:{port}")
    except SystemExit:
        for p in procs:
            p.terminate()
        raise
    return procs, ports


def start_proxy(ports: list[int], work: Path) -> tuple[subprocess.Popen, int]:
    """nginx with deploy/nginx.conf over plain HTTP (its lines marked `# TLS` left out), its upstream and listen
    port replaced by ours."""
    listen = free_port()
    site = [line for line in (ROOT / "deploy" / "nginx.conf").read_text().splitlines() if "# TLS" not in line]
    out, in_upstream = [], False
    for line in site:
        if line.strip().startswith("upstream "):
            in_upstream = True
        if in_upstream and line.strip().startswith("server 127.0.0.1:"):
            if "# SERVERS" in line:
                out += [f"    server 127.0.0.1:{p};" for p in ports]
            continue
        if in_upstream and line.strip() == "}":
            in_upstream = False
        out.append(f"    listen 127.0.0.1:{listen};" if "# LISTEN" in line else line)
    (work / "logs").mkdir(exist_ok=True)
    conf = work / "nginx.conf"
    conf.write_text("worker_processes 1;\npid nginx.pid;\nerror_log logs/error.log;\nevents {}\nhttp {\n"
                    "access_log off;\n" + "\n".join(out) + "\n}\n")
    proc = subprocess.Popen([shutil.which("nginx") or "/usr/sbin/nginx", "-p", str(work), "-c", str(conf),
                             "-g", "daemon off;"])
    wait_health(f"http://127.0.0.1:{listen}")
    return proc, listen


def sign_in(base: str) -> str:
    """Sign in through server.py's form, as a browser does; the session cookie's value."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/signin?next=/overview", timeout=60) as r:
        form, landed = r.read().decode("utf-8"), r.url
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    if not csrf:
        raise SystemExit(f"no sign-in form at {base}/signin (landed on {landed}): are there accounts?")
    body = urllib.parse.urlencode({"name": USER, "password": PASSWORD, "csrf": csrf.group(1), "next": "/overview"})
    request = urllib.request.Request(f"{base}/signin", data=body.encode(), headers={"Origin": base}, method="POST")
    with opener.open(request, timeout=60):
        pass
    found = {c.name: c.value for c in jar}
    if "microbranch_session" not in found:
        raise SystemExit("signing in gave no session cookie: is the account there?")
    return found["microbranch_session"]


class Meter:
    """CPU seconds and peak RSS of the server processes (and their children) while a round runs."""

    def __init__(self, procs: list[subprocess.Popen]) -> None:
        self.procs = [psutil.Process(p.pid) for p in procs]
        self.peak = 0
        self._stop = threading.Event()

    def _all(self) -> list[psutil.Process]:
        out = []
        for p in self.procs:
            out.append(p)
            out += p.children(recursive=True)
        return out

    def cpu(self) -> float:
        return sum(sum(p.cpu_times()[:2]) for p in self._all())

    def __enter__(self) -> Meter:
        self.start = self.cpu()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(p.memory_info().rss for p in self._all()))
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self.thread.join()
        self.used = self.cpu() - self.start


ERRORS: list[str] = []  # what the failed views said, printed after their round


async def protocol_view(base: str, cookie: str, page: str, query: str) -> tuple[float, float, bool]:
    """One new session viewing `page` over Streamlit's websocket: (seconds to the first metric, to the script
    finished, whether the page showed an error; its words are kept in ERRORS)."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    url = base.replace("http://", "ws://") + "/_stcore/stream"
    headers = {"Cookie": f"microbranch_session={cookie}", "Origin": base}
    async with websockets.connect(url, subprotocols=["streamlit"], additional_headers=headers, max_size=None,
                                  open_timeout=TIMEOUT) as ws:
        ask = BackMsg()
        ask.rerun_script.query_string = query
        ask.rerun_script.page_name = page
        started = time.perf_counter()
        await ws.send(ask.SerializeToString())
        first, failed = None, False
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await asyncio.wait_for(ws.recv(), TIMEOUT))
            kind = msg.WhichOneof("type")
            if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element.WhichOneof("type")
                if element == "metric" and first is None:
                    first = time.perf_counter() - started
                new = msg.delta.new_element
                if element == "exception" or (element == "alert" and new.alert.format == 1):
                    failed = True
                    ERRORS.append(f"{page}: {new.exception.message if element == 'exception' else new.alert.body}")
            elif kind == "page_not_found":
                failed = True
            elif kind == "script_finished":
                done = time.perf_counter() - started
                return (first if first is not None else done), done, failed


async def browser_view(browser, url: str, cookie: str) -> tuple[float, float, bool]:  # noqa: ANN001
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    host = urllib.parse.urlsplit(url)
    await context.add_cookies([{"name": "microbranch_session", "value": cookie, "domain": host.hostname,
                                "path": "/"}])
    page = await context.new_page()
    try:
        started = time.perf_counter()
        await page.goto(url)
        await page.wait_for_selector(METRIC, timeout=TIMEOUT * 1000)
        first = time.perf_counter() - started
        await page.wait_for_selector(DONE, timeout=TIMEOUT * 1000)
        await page.wait_for_selector(METRIC, timeout=TIMEOUT * 1000)  # done on the page itself, not on the shell
        done = time.perf_counter() - started
        failed = await page.locator(FAILED).count() > 0
        return first, done, failed
    finally:
        await context.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def line(setup: str, label: str, n: int, results: list[tuple[float, float, bool]], meter: Meter) -> str:
    firsts, dones = [r[0] for r in results], [r[1] for r in results]
    errors = sum(r[2] for r in results)
    return (f"{setup:<18} {label:<9} {n:>8} {pct(firsts, .5):>9.2f} /{pct(firsts, .95):>6.2f} "
            f"{pct(dones, .5):>9.2f} /{pct(dones, .95):>6.2f} {errors:>6} {meter.used / len(results):>12.3f} "
            f"{meter.peak / 1e6:>9.0f}")


async def bench(args: argparse.Namespace, db: Path, env: dict[str, str]) -> None:
    from microbranch import sessions

    sizes = [int(s) for s in args.sessions.split(",")]
    pages = args.pages.split(",")
    query = args.query
    print(f"{'setup':<18} {'round':<9} {'sessions':>8} {'metric p50/p95 s':>16} {'done p50/p95 s':>16} "
          f"{'errors':>6} {'CPU s / view':>12} {'RSS MB':>9}", flush=True)
    for servers in [int(s) for s in args.servers.split(",")]:
        work = Path(tempfile.mkdtemp(prefix="bench-load-"))
        procs, ports = start_servers(servers, db, env, work, [int(c) for c in args.server_cores.split(",")])
        proxy = None
        try:
            if servers > 1:
                proxy, port = start_proxy(ports, work)
            else:
                port = ports[0]
            base = f"http://127.0.0.1:{port}"
            setup = f"{servers} server" + ("s + nginx" if servers > 1 else "")
            sign_in(base)
            for label, n in [("fresh", max(sizes))] + [("warm", n) for n in sizes]:
                cookies = [sessions.start(USER, "manager", "127.0.0.1", "bench_load", db=db) for _ in range(n)]
                with Meter(procs) as meter:
                    results = await asyncio.gather(*(protocol_view(base, cookies[i], pages[i % len(pages)], query)
                                                     for i in range(n)))
                print(line(setup, label, n, results, meter), flush=True)
                for said in sorted(set(ERRORS)):
                    print(f"    error: {said[:200]}", flush=True)
                ERRORS.clear()
            if args.browsers:
                from playwright.async_api import async_playwright

                async with async_playwright() as pw:
                    browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
                    urls = [f"{base}/{pages[i % len(pages)]}" + (f"?{query}" if query else "")
                            for i in range(args.browsers)]
                    cookies = [sessions.start(USER, "manager", "127.0.0.1", "bench_load", db=db) for _ in urls]
                    with Meter(procs) as meter:
                        results = await asyncio.gather(*(browser_view(browser, u, c) for u, c in zip(urls, cookies,
                                                                                                      strict=True)))
                    print(line(setup, "browser", args.browsers, results, meter), flush=True)
                    await browser.close()
        finally:
            if proxy:
                proxy.terminate()
                proxy.wait()
            for p in procs:
                p.terminate()
                p.wait(timeout=30)
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path)
    parser.add_argument("--sessions", default="1,10,25,50")
    parser.add_argument("--servers", default="1,2")
    parser.add_argument("--pages", default="overview", help="pages the sessions open, in turn (comma-separated)")
    parser.add_argument("--query", default="", help="the query string of every view (filters), e.g. lang=en")
    parser.add_argument("--browsers", type=int, default=3, help="real browser sessions as a check (0: none)")
    parser.add_argument("--server-cores", default="0", help="cores the server processes are pinned to, in turn")
    parser.add_argument("--client-cores", default="1", help="cores this client runs on")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity") and args.client_cores:
        os.sched_setaffinity(0, {int(c) for c in args.client_cores.split(",")})
    tmp = tempfile.TemporaryDirectory(prefix="bench_load_")
    folder = Path(tmp.name)
    if args.db:
        from benchmarks.bench_pages import viewing_folder

        key = args.db.resolve().with_name("microbranch.key")
        db = viewing_folder(args.db.resolve(), folder)
    else:
        db, key = folder / "data" / "microbranch.duckdb", folder / "k" / "microbranch.key"
    env = {**os.environ, "MICROBRANCH_DB": str(db), "MICROBRANCH_KEY_FILE": os.environ.get("MICROBRANCH_KEY_FILE")
           or str(key)}
    if args.db is None:
        subprocess.run([sys.executable, "-m", "sample_data", "--db", str(db)], cwd=ROOT, env=env, check=True,
                       capture_output=True)
    os.environ.update({"MICROBRANCH_DB": env["MICROBRANCH_DB"], "MICROBRANCH_KEY_FILE": env["MICROBRANCH_KEY_FILE"]})
    from microbranch import auth

    if USER not in auth.users(db)["name"].to_list():
        auth.add(USER, "manager", PASSWORD, db=db)
    print(f"database {args.db or db}; {psutil.cpu_count()} cores; pages {args.pages}; {load()}", flush=True)
    asyncio.run(bench(args, db, env))
    print(load())


if __name__ == "__main__":
    main()
