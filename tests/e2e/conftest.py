"""End-to-end fixtures: the dashboard served by `python -m microbranch serve` on the sample data, and Debian chromium.

One server and one browser for the whole session; every test gets a fresh browser context (own cookies,
own Streamlit session). The database and its key live in a tmp dir, so the developer's data/ is never touched.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from microbranch import auth

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--host-resolver-rules=MAP evil.example 127.0.0.1",  # a name rebound to this machine (test_sessions_browser)
]
ROLES = auth.ROLES
PASSWORD = "e2e 密码 long enough"
START_TIMEOUT = 90  # seconds for the server to answer /_stcore/health


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def e2e_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def server(e2e_dir: Path) -> Iterator[str]:
    """The dashboard on the Nansha sample data at http://127.0.0.1:<port>, with an account per role (named after
    the role, password `PASSWORD`); stopped after the session."""
    db = e2e_dir / "data" / "microbranch.duckdb"
    env = {**os.environ, "MICROBRANCH_DB": str(db), "MICROBRANCH_KEY_FILE": str(e2e_dir / "secret" / "microbranch.key"),
           "PYTHONUNBUFFERED": "1",
           # Pages are edited while tests run: no file watcher, so no "source changed" reruns mid-test.
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    sample = subprocess.run([sys.executable, "-m", "sample_data", "--db", str(db)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    if sample.returncode != 0:
        pytest.fail(f"`python -m sample_data` failed ({sample.returncode}):\n{sample.stdout}\n{sample.stderr}")
    for role in ROLES:  # one account per role, named after it: the server runs with sign-in
        auth.add(role, role, PASSWORD, db=db)

    with serving(db, env, e2e_dir / "server.log") as base:
        yield base


@contextmanager
def serving(db: Path, env: dict[str, str], log: Path, address: str = "127.0.0.1", port: int | None = None,
            cwd: Path = ROOT) -> Iterator[str]:
    """`python -m microbranch --db DB serve` on a free port (or `port`), as `make run` starts it, from `cwd` (whose
    .streamlit/secrets.toml it reads); its base URL until the block ends, then stopped."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "microbranch", "--db", str(db), "serve", "--address", address, "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)}, stdout=out,
                                stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the server exited with {proc.returncode} before answering:\n{_tail(log)}")
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the server did not answer /_stcore/health within {START_TIMEOUT} s:\n{_tail(log)}")
            time.sleep(0.25)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's chromium, driven by Playwright. Missing chromium fails the run: these tests are not optional."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} not found: the e2e tests need Debian's chromium (`make browser`, or "
                    "`apt-get install chromium fonts-noto-cjk`). Do not run `playwright install`.")
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:
        pytest.fail(f"the playwright package is missing ({exc}); install the dev extras: pip install -e '.[dev]'")
    pw = sync_playwright().start()
    try:
        try:
            b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.fail(f"could not launch {CHROMIUM}: {exc}")
        yield b
        b.close()
    finally:
        pw.stop()


@pytest.fixture
def page(browser: Browser, server: str) -> Iterator[Page]:
    """A fresh context and tab per test: 1400x1000, zh-CN, downloads allowed."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()
