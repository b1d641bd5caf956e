"""The identity-provider mode (st.login) end to end in a real browser, against a real OpenID Connect provider
started here: the npm package oidc-provider (tests/e2e/oidc, pinned; `make oidc` installs it), run with this
machine's Node.js. Sign-in at the provider, the role from the e-mail map in secrets.toml, sign-out, and an e-mail
without a role refused. The dashboard is `python -m microbranch serve` on the test's sample database, run from a
folder whose .streamlit/secrets.toml names the provider."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from microbranch import audit
from microbranch.i18n import t
from tests.e2e.conftest import ROOT, free_port, serving
from tests.e2e.test_browser import sidebar_paths, title, wait_for_app

pytestmark = pytest.mark.e2e

PROVIDER = ROOT / "tests" / "e2e" / "oidc"
ROLES = {"wang@library.example": "staff", "zhou@district.example": "official"}


@pytest.fixture(scope="module")
def provider_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """The provider on a free port, knowing the dashboard's port to come (its redirect URI)."""
    node = shutil.which("node")
    if node is None or not (PROVIDER / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("Node.js and the test provider are needed: `make oidc` (npm ci --prefix tests/e2e/oidc)")
    port, app_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([node, "provider.mjs", str(port), f"http://127.0.0.1:{app_port}/oauth2callback"],
                                cwd=PROVIDER, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        yield port, app_port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def idp_server(provider_port: tuple[int, int], server: str, e2e_dir: Path,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port, app_port = provider_port
    folder = tmp_path_factory.mktemp("idp")
    (folder / ".streamlit").mkdir()
    roles = "\n".join(f'"{email}" = "{role}"' for email, role in ROLES.items())
    (folder / ".streamlit" / "secrets.toml").write_text(f"""[auth]
redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"
cookie_secret = "a test cookie secret, long and random enough 8f3a"
client_id = "microbranch"
client_secret = "microbranch-test-secret"
server_metadata_url = "http://127.0.0.1:{port}/.well-known/openid-configuration"
client_kwargs = {{ prompt = "login" }}

[access.roles]
{roles}
""")
    env = {**os.environ, "MICROBRANCH_KEY_FILE": str(e2e_dir / "secret" / "microbranch.key"),
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    with serving(e2e_dir / "data" / "microbranch.duckdb", env, folder / "server.log", port=app_port,
                 cwd=folder) as base:
        yield base


def sign_in_at_the_provider(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/loans?from=2024-07-01", wait_until="domcontentloaded")
    wait_for_app(page)
    page.get_by_role("button", name=t("access_sign_in_idp", "zh")).click()
    expect(page.locator("input[name=login]")).to_be_visible()  # the provider's own page
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", "any password")
    page.locator("button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("Authorize")
    page.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(base)))
    wait_for_app(page)


def test_the_link_opened_signed_out_is_where_the_sign_in_returns(idp_server: str, browser: Browser) -> None:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        page = ctx.new_page()
        sign_in_at_the_provider(page, idp_server, "zhou@district.example")
        expect(page).to_have_url(f"{idp_server}/loans?from=2024-07-01")
        wait_for_app(page)
        expect(title(page)).to_contain_text(t("page_loans", "zh"))
        expect(page.get_by_test_id("stSidebar")).to_contain_text(t("role_official", "zh"))
    finally:
        ctx.close()


def test_sign_in_role_from_the_email_map_and_sign_out(idp_server: str, browser: Browser, e2e_dir: Path) -> None:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        page = ctx.new_page()
        sign_in_at_the_provider(page, idp_server, "wang@library.example")
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar).to_contain_text("wang@library.example")
        expect(sidebar).to_contain_text(t("role_staff", "zh"))
        expect(title(page)).to_contain_text(t("page_loans", "zh"))  # the link opened before signing in
        assert {"upload", "audit"} <= sidebar_paths(page)  # staff's pages
        trail = audit.trail(e2e_dir / "data" / "microbranch.duckdb", "sign_in")
        assert "staff (identity provider)" in trail.filter(trail["user_name"] == "wang@library.example")["detail"]
        sidebar.get_by_role("button", name=re.compile(t("access_sign_out", "zh"))).click()
        page.get_by_role("button", name="Yes, sign me out").click()  # the provider asks, and ends its session too
        expect(page.get_by_role("button", name=t("access_sign_in_idp", "zh"))).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("stPageLink-NavLink")).to_have_count(0)
        page.reload()  # signed out for good, not only in this page
        wait_for_app(page)
        expect(page.get_by_role("button", name=t("access_sign_in_idp", "zh"))).to_be_visible()
    finally:
        ctx.close()


def test_an_email_without_a_role_gets_no_page(idp_server: str, browser: Browser) -> None:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    try:
        page = ctx.new_page()
        sign_in_at_the_provider(page, idp_server, "stranger@elsewhere.example")
        expect(page.get_by_test_id("stAlert")).to_contain_text(
            t("access_no_role", "zh").format(email="stranger@elsewhere.example"))
        expect(page.get_by_test_id("stPageLink-NavLink")).to_have_count(0)
        expect(page.get_by_test_id("stMetric")).to_have_count(0)
    finally:
        ctx.close()
