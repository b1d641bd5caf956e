"""deploy/nginx.conf tried for real: Debian's nginx in front of the test server, with a self-signed certificate on
loopback, changed only where docs/operations.md says an operator changes it (the upstream's ports, the listen
ports, the certificate's paths, the name). Plain HTTP redirects to HTTPS; over HTTPS a browser signs in, the
page's websocket goes through the proxy, and both cookies are Secure."""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, expect

from microbranch.i18n import t
from tests.e2e.conftest import PASSWORD, ROOT, free_port
from tests.e2e.test_browser import title, wait_for_app

pytestmark = pytest.mark.e2e

NGINX = Path("/usr/sbin/nginx")


def site(upstream: int, http_port: int, https_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx.conf with an operator's edits for this machine."""
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    edits = {
        "    server 127.0.0.1:8601;   # SERVERS\n    server 127.0.0.1:8602;\n": f"    server 127.0.0.1:{upstream};\n",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "listen [::]:443 ssl;": "",
        "/etc/ssl/certs/microbranch.pem": str(cert),
        "/etc/ssl/private/microbranch.key": str(key),
        "dashboard.library.example": "localhost",
    }
    for old, new in edits.items():
        assert old in text, f"deploy/nginx.conf no longer has {old!r}: update docs/operations.md and this test"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def proxy(server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """nginx on two free loopback ports (HTTP, HTTPS) in front of the test server; stopped after the module."""
    if not NGINX.is_file() or not shutil.which("openssl"):
        pytest.fail("Debian's nginx and openssl are needed (`make browser` installs them)")
    work = tmp_path_factory.mktemp("nginx")
    (work / "logs").mkdir()
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    http_port, https_port = free_port(), free_port()
    conf = work / "nginx.conf"
    conf.write_text("worker_processes 1;\npid nginx.pid;\nerror_log logs/error.log;\nevents {}\nhttp {\n"
                    "access_log logs/access.log;\n" + site(urlparse(server).port, http_port, https_port, cert, key)
                    + "\n}\n")
    check = subprocess.run([str(NGINX), "-t", "-p", str(work), "-c", str(conf)], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([str(NGINX), "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (work / "logs" / "error.log").read_text()
                time.sleep(0.2)
        yield http_port, https_port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_plain_http_redirects_to_https(proxy: tuple[int, int]) -> None:
    http_port, _ = proxy
    con = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
    try:
        con.request("GET", "/loans?from=2024-07-01", headers={"Host": "localhost"})
        answer = con.getresponse()
        answer.read()
    finally:
        con.close()
    assert answer.status == 301
    assert answer.getheader("location") == "https://localhost/loans?from=2024-07-01"


def test_signed_in_over_https_through_the_proxy(proxy: tuple[int, int], browser: Browser) -> None:
    _, https_port = proxy
    ctx = browser.new_context(ignore_https_errors=True, locale="zh-CN", viewport={"width": 1400, "height": 1000})
    try:
        page = ctx.new_page()
        page.goto(f"https://localhost:{https_port}/loans?from=2024-07-01", wait_until="domcontentloaded")
        expect(page.locator("h1")).to_have_text(t("access_sign_in_title", "zh"))
        page.get_by_label(t("access_name", "zh"), exact=True).fill("manager")
        page.get_by_label(t("access_password", "zh"), exact=True).fill(PASSWORD)
        page.get_by_role("button", name=t("access_sign_in", "zh")).click()
        wait_for_app(page)  # the websocket came through the proxy
        expect(title(page)).to_contain_text(t("page_loans", "zh"))
        expect(page.get_by_test_id("stMetric").first).to_be_visible()
        assert page.url == f"https://localhost:{https_port}/loans?from=2024-07-01"
        cookies = {c["name"]: c for c in ctx.cookies()}
        for name in ("microbranch_session", "microbranch_route"):
            assert cookies[name]["secure"] and cookies[name]["httpOnly"], cookies[name]
    finally:
        ctx.close()
