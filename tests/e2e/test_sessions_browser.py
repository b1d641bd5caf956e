"""Sessions as people use them, in a real browser against `python -m microbranch serve`: a reload, a new tab and a
shared deep link stay signed in with their filters; the cookie is HttpOnly; disabling an account or giving it a new
password ends an open tab at its next click, and so does signing out in another tab; no side doors (a DNS-rebound
Host, a signed-out websocket's "clear cache", a table's own CSV download). Screenshots: sessions_*.png."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from microbranch import auth
from microbranch.i18n import t
from tests.e2e.conftest import PASSWORD, ROOT, serving
from tests.e2e.test_browser import assert_no_exception, shoot, sign_in, title, wait_for_app
from ui.signin import CHECK_SECONDS

pytestmark = pytest.mark.e2e

FILTERS = "from=2024-07-01&to=2024-09-30&branches=NS101"
CLEAR_CACHE = [40, 1]  # Streamlit's BackMsg {clear_cache: true}, as its "Clear cache" menu item sends it
SEND_ON_STREAM = """async ([bytes, wait]) => {
    const ws = new WebSocket(location.origin.replace(/^http/, "ws") + "/_stcore/stream", ["streamlit"]);
    ws.binaryType = "arraybuffer";
    const opened = await new Promise(done => { ws.onopen = () => done(true); ws.onerror = () => done(false);
                                                ws.onclose = () => done(false); });
    if (opened && bytes) { ws.send(new Uint8Array(bytes)); await new Promise(r => setTimeout(r, wait)); }
    ws.close();
    return opened;
}"""


@pytest.fixture
def context(browser: Browser, server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


def cli(e2e_dir: Path, *args: str, stdin: str = "") -> None:
    # a session of its own: no terminal, so a password prompt reads stdin
    done = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(e2e_dir / "data" / "microbranch.duckdb"),
                           *args], cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=120, check=False,
                          start_new_session=True)
    assert done.returncode == 0, done.stderr


def next_click(page: Page) -> None:
    """The tab's next interaction, after the few seconds a session check is trusted (ui.signin.CHECK_SECONDS)."""
    page.wait_for_timeout(CHECK_SECONDS * 1000 + 500)
    go_to = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink").first
    go_to.click()
    wait_for_app(page)


def assert_ended(page: Page) -> None:
    expect(page.get_by_test_id("stLinkButton")).to_contain_text(t("access_sign_in", "zh"))
    expect(page.get_by_test_id("stPageLink-NavLink")).to_have_count(0)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)


def test_signed_in_through_reload_new_tab_and_deep_link_with_filters(context: BrowserContext, server: str) -> None:
    page = context.new_page()
    page.goto(f"{server}/loans?lang=en&{FILTERS}", wait_until="domcontentloaded")
    expect(page.locator("h1")).to_have_text(t("access_sign_in_title", "en"))  # the link's language
    shoot(page, "sessions_sign_in_en")
    sign_in(page, f"{server}/loans?lang=en&{FILTERS}", "manager")
    assert urlparse(page.url).path == "/loans" and FILTERS in page.url
    expect(title(page)).to_contain_text(t("page_loans", "en"))
    shoot(page, "sessions_signed_in_loans_en")
    cookie = next(c for c in context.cookies() if c["name"] == "microbranch_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("microbranch_session") == -1  # not readable by scripts

    page.reload()
    wait_for_app(page)
    expect(page.get_by_test_id("stSidebar")).to_contain_text(t("role_manager", "en"))
    expect(title(page)).to_contain_text(t("page_loans", "en"))
    assert FILTERS in page.url

    tab = context.new_page()  # a bookmark or a shared link, in a new tab
    tab.goto(f"{server}/overview?{FILTERS}", wait_until="domcontentloaded")
    wait_for_app(tab)
    assert_no_exception(tab, "overview in a new tab")
    assert urlparse(tab.url).path == "/overview" and FILTERS in tab.url
    expect(title(tab)).to_contain_text(t("page_overview", "zh"))
    expect(tab.get_by_test_id("stSidebar")).to_contain_text(t("role_manager", "zh"))
    days = tab.get_by_test_id("stDateInput").locator("input[type=date]")
    expect(days.first).to_have_value("2024-07-01")
    expect(days.nth(1)).to_have_value("2024-09-30")
    expect(tab.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="南沙街道分馆")).to_have_count(1)
    shoot(tab, "sessions_signed_in_overview_new_tab")

    bare = context.new_page()  # the bare address opens the overview at its own name
    bare.goto(f"{server}/", wait_until="domcontentloaded")
    wait_for_app(bare)
    expect(title(bare)).to_contain_text(t("page_overview", "zh"))
    assert urlparse(bare.url).path == "/overview"


@pytest.mark.parametrize("change", ["disable", "passwd"])
def test_an_account_change_ends_an_open_tab_at_its_next_click(context: BrowserContext, server: str, e2e_dir: Path,
                                                               change: str) -> None:
    name = f"temp_{change}"
    auth.add(name, "staff", PASSWORD, db=e2e_dir / "data" / "microbranch.duckdb")
    page = context.new_page()
    sign_in_as(page, f"{server}/upload", name)
    expect(page.get_by_test_id("stFileUploaderDropzoneInput").first).to_be_attached()
    if change == "disable":
        cli(e2e_dir, "user", "disable", name)
    else:
        cli(e2e_dir, "user", "passwd", name, stdin="a brand new password\na brand new password\n")
    next_click(page)
    assert_ended(page)
    expect(page.get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(0)
    shoot(page, f"sessions_ended_{change}")


def sign_in_as(page: Page, url: str, name: str) -> None:
    """Sign in with the server's form as any account (the role shows in the sidebar)."""
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label(t("access_name", "zh"), exact=True).fill(name)
    page.get_by_label(t("access_password", "zh"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=t("access_sign_in", "zh")).click()
    expect(page.get_by_test_id("stSidebar")).to_contain_text(name, timeout=60_000)
    wait_for_app(page)


def test_sign_out_in_one_tab_ends_the_other(context: BrowserContext, server: str) -> None:
    first = context.new_page()
    sign_in(first, f"{server}/chains", "official")
    other = context.new_page()
    other.goto(f"{server}/loans", wait_until="domcontentloaded")
    wait_for_app(other)
    expect(title(other)).to_contain_text(t("page_loans", "zh"))
    first.get_by_test_id("stSidebar").get_by_role("button", name=re.compile(t("access_sign_out", "zh"))).click()
    wait_for_app(first)
    expect(first.get_by_test_id("stAlert")).to_contain_text(t("sessions_signed_out", "zh"))
    shoot(first, "sessions_signed_out")
    next_click(other)
    assert_ended(other)
    other.get_by_test_id("stLinkButton").locator("a").click()  # signing in again comes back to the page
    expect(other.locator("h1")).to_have_text(t("access_sign_in_title", "zh"))


def test_no_table_offers_its_own_download(page: Page, server: str) -> None:
    sign_in(page, f"{server}/chains", "staff")
    grids = page.get_by_test_id("stDataFrame")
    expect(grids.first).to_be_visible()
    shown = [grid for grid in grids.all() if grid.is_visible()]  # others wait in closed expanders
    assert shown
    for grid in shown:
        grid.hover()
        toolbar = grid.get_by_test_id("stElementToolbar")
        expect(toolbar.get_by_test_id("stElementToolbarButton").first).to_be_visible()  # search, fullscreen
        expect(toolbar.get_by_role("button", name=re.compile("download", re.IGNORECASE))).to_have_count(0)
    expect(page.get_by_test_id("stDownloadButton").first).to_be_visible()  # the kit's download is there


def _misses(page: Page, server: str) -> int:
    """Queries the dashboard has had to run rather than take from its cache so far (/_stcore/metrics, asked with this
    tab's staff cookie)."""
    text = page.request.get(f"{server}/_stcore/metrics").text()
    found = re.search(r'cache_lookups_total\{cache="ui\.data\._run",cache_type="st_cache_resource",'
                      r'result="miss"\} (\d+)', text)
    assert found, text[:500]
    return int(found.group(1))


def _view_again(page: Page) -> None:
    page.reload()
    wait_for_app(page)
    expect(title(page)).to_contain_text(t("page_overview", "zh"))


def test_a_signed_out_websocket_cannot_clear_the_cache(context: BrowserContext, browser: Browser,
                                                       server: str) -> None:
    """The overview viewed again takes every query from the cache, after a stranger's "clear cache" too; after
    staff's, it runs them again."""
    staff = context.new_page()
    sign_in(staff, f"{server}/overview", "staff")
    _view_again(staff)
    before = _misses(staff, server)
    _view_again(staff)
    assert _misses(staff, server) == before  # all from the cache
    stranger = browser.new_context()
    try:
        outside = stranger.new_page()
        outside.goto(f"{server}/signin")
        assert outside.evaluate(SEND_ON_STREAM, [CLEAR_CACHE, 1000]) is True  # the stream opened and was sent it
        assert outside.request.get(f"{server}/_stcore/metrics").status == 404
    finally:
        stranger.close()
    _view_again(staff)
    assert _misses(staff, server) == before  # still all from the cache
    assert staff.evaluate(SEND_ON_STREAM, [CLEAR_CACHE, 1000]) is True  # staff may: the same message clears it
    _view_again(staff)
    assert _misses(staff, server) > before


def test_a_dns_rebound_host_is_refused_in_single_user_mode(browser: Browser, tmp_path: Path) -> None:
    """The browser resolves evil.example to this machine (CHROMIUM_ARGS), as after DNS rebinding; the server has no
    accounts. The page and the websocket are refused under that name, and served under 127.0.0.1."""
    db = tmp_path / "data" / "microbranch.duckdb"
    env = {**os.environ, "MICROBRANCH_KEY_FILE": str(tmp_path / "data" / "key"),
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    with serving(db, env, tmp_path / "server.log") as base:
        port = urlparse(base).port
        ctx = browser.new_context()
        try:
            page = ctx.new_page()
            answer = page.goto(f"http://evil.example:{port}/overview")
            assert answer is not None and answer.status == 403
            expect(page.locator("body")).to_contain_text(t("sessions_single_refused", "zh"))
            shoot(page, "sessions_rebound_host_refused")
            assert page.evaluate(SEND_ON_STREAM, [None, 0]) is False
            page.goto(f"http://127.0.0.1:{port}/_stcore/health")
            assert page.evaluate(SEND_ON_STREAM, [None, 0]) is True
        finally:
            ctx.close()


def test_every_file_the_server_made_is_owner_only(e2e_dir: Path) -> None:
    """After the browser tests above: the database, snapshots, work folder, access file, key, server log."""
    made = [e2e_dir / "data", *(e2e_dir / "data").rglob("*")]
    assert len(made) > 5
    loose = {str(p): oct(stat.S_IMODE(p.stat().st_mode)) for p in made if stat.S_IMODE(p.stat().st_mode) & 0o077}
    assert not loose
