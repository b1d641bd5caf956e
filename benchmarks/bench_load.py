"""Many viewers at once: real browser sessions (Debian chromium via Playwright) opening the overview together,
on one Streamlit server process and on two behind nginx (deploy/nginx.conf). Prints figures; not a test.

    python benchmarks/bench_load.py [--db PATH] [--sessions 1,10,25] [--servers 1,2]

For each setup: a fresh start (servers just started, every session a first one: counts pages with an error),
then rounds of 1, 10, 25 concurrent new sessions on warm servers. For each round: p50/p95 seconds to the first
metric card and to the page done (the script finished), and the servers' CPU seconds and peak memory (RSS,
all server processes). The browser runs on the same machine and takes CPU of its own: compare within a run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
METRIC = '[data-testid="stMetric"]'
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
FAILED = '[data-testid="stException"], [data-testid="stAlertContentError"]'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_health(base: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise SystemExit(f"{base} did not answer /_stcore/health")


def start_servers(n: int, env: dict[str, str], work: Path) -> tuple[list[subprocess.Popen], list[int]]:
    procs, ports = [], []
    for i in range(n):
        port = free_port()
        log = (work / f"server{i}.log").open("wb")
        procs.append(subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.headless", "true",
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env={**env, "STREAMLIT_SERVER_COOKIE_SECRET": "bench-shared-secret"}, stdout=log,
            stderr=subprocess.STDOUT))
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


async def one_session(browser, url: str) -> tuple[float, float, bool]:  # noqa: ANN001
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = await context.new_page()
    try:
        started = time.perf_counter()
        await page.goto(url)
        await page.wait_for_selector(METRIC, timeout=180_000)
        first = time.perf_counter() - started
        await page.wait_for_selector(DONE, timeout=180_000)
        await page.wait_for_selector(METRIC, timeout=180_000)  # done on the page itself, not on the shell
        done = time.perf_counter() - started
        failed = await page.locator(FAILED).count() > 0
        return first, done, failed
    finally:
        await context.close()


async def round_of(browser, url: str, n: int) -> list[tuple[float, float, bool]]:  # noqa: ANN001
    return await asyncio.gather(*(one_session(browser, url) for _ in range(n)))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


async def bench(args: argparse.Namespace, env: dict[str, str]) -> None:
    from playwright.async_api import async_playwright

    sizes = [int(s) for s in args.sessions.split(",")]
    print(f"{'setup':<22} {'round':<8} {'sessions':>8} {'first metric p50/p95 s':>23} {'page done p50/p95 s':>21} "
          f"{'errors':>6} {'server CPU s':>12} {'server RSS MB':>13}")
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for servers in [int(s) for s in args.servers.split(",")]:
            work = Path(tempfile.mkdtemp(prefix="bench-load-"))
            procs, ports = start_servers(servers, env, work)
            proxy = None
            try:
                if servers > 1:
                    proxy, port = start_proxy(ports, work)
                else:
                    port = ports[0]
                setup = f"{servers} server" + ("s + nginx" if servers > 1 else "")
                url = f"http://127.0.0.1:{port}/?role=manager"
                rounds = [("fresh", max(sizes))] + [("warm", n) for n in sizes]
                for label, n in rounds:
                    with Meter(procs) as meter:
                        results = await round_of(browser, url, n)
                    firsts, dones = [r[0] for r in results], [r[1] for r in results]
                    errors = sum(r[2] for r in results)
                    print(f"{setup:<22} {label:<8} {n:>8} {pct(firsts, .5):>11.2f} /{pct(firsts, .95):>6.2f}     "
                          f"{pct(dones, .5):>9.2f} /{pct(dones, .95):>6.2f}    {errors:>6} {meter.used:>12.1f} "
                          f"{meter.peak / 1e6:>13.0f}", flush=True)
            finally:
                if proxy:
                    proxy.terminate()
                    proxy.wait()
                for p in procs:
                    p.terminate()
                    p.wait(timeout=30)
                shutil.rmtree(work, ignore_errors=True)
        await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path)
    parser.add_argument("--sessions", default="1,10,25")
    parser.add_argument("--servers", default="1,2")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "data" / "microbranch.duckdb"
    env = {**os.environ, "MICROBRANCH_DB": str(db),
           "MICROBRANCH_KEY_FILE": os.environ.get("MICROBRANCH_KEY_FILE") or str(Path(tmp.name) / "k" / "key")}
    if args.db is None:
        subprocess.run([sys.executable, "-m", "sample_data", "--db", str(db)], cwd=ROOT, env=env,
                       check=True, capture_output=True)
    print(f"database: {db}; {psutil.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    asyncio.run(bench(args, env))


if __name__ == "__main__":
    main()
