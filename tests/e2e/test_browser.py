"""The dashboard in a real browser: every page per role, the language switch, an upload, roles, the map offline.

Screenshots go to tests/e2e/screenshots/ (git-ignored); look at them after a run.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from microbranch.i18n import t

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
SHOTS = HERE / "screenshots"
UPLOAD_FILE = HERE / "data" / "events_gb18030.csv"  # 8 good rows + 2 bad ones (file lines 10 and 11)
BAD_VALUE = "2024-13-45 25:99:00"  # the impossible timestamp on line 10
LOCAL_HOSTS = ("127.0.0.1", "localhost")

# page -> a role that sees it
PAGES = {
    "overview": "manager",
    "loans": "manager",
    "chains": "manager",
    "stock": "manager",
    "readers": "manager",
    "branch_map": "manager",
    "residents": "manager",
    "glossary": "manager",
    "upload": "staff",
}


# --- helpers -------------------------------------------------------------------------------------------------

def wait_for_app(page: Page, timeout: float = 60_000) -> None:
    """Wait until the app is connected and its script run has finished (as Streamlit's own e2e tests do)."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)
    expect(page.get_by_test_id("stStatusWidgetRunningIcon")).to_have_count(0, timeout=timeout)
    # The frontend keeps drawing for a moment after the run ends (and a "page not found" starts a second run):
    # wait until the elements stop changing, then check the run is still over.
    page.evaluate("() => { window.__e2eSettle = null; }")
    page.wait_for_function(
        """() => {
            const sig = document.querySelectorAll('[data-testid]').length + ':'
                + document.querySelectorAll('[data-stale="true"]').length;
            const now = Date.now(), w = window.__e2eSettle || (window.__e2eSettle = {sig: '', since: now});
            if (w.sig !== sig) { w.sig = sig; w.since = now; }
            return now - w.since > 500;
        }""",
        polling=100, timeout=timeout,
    )
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout)


def open_page(page: Page, url: str, *, not_found_ok: bool = False) -> None:
    """Open a URL and wait for the run; fail on Streamlit's "Page not found" dialog unless expected."""
    page.goto(url, wait_until="domcontentloaded")
    expect(page.get_by_test_id("stApp")).to_be_visible()
    wait_for_app(page)
    if not not_found_ok:
        assert_found(page, url)


def assert_found(page: Page, url: str) -> None:
    """No "Page not found" dialog: Streamlit shows it for a url path that is no page (and runs the default)."""
    page.wait_for_timeout(300)  # the dialog comes with the first run's page info
    dialogs = page.get_by_role("dialog").filter(has_text="Page not found").all_inner_texts()
    assert not dialogs, f"{url} shows Streamlit's dialog: {' '.join(' '.join(dialogs).split())}"


EXCEPTION_CHROME = {"Copy", "Ask Google", "Ask ChatGPT"}  # the buttons under a Streamlit exception


def assert_no_exception(page: Page, where: str) -> None:
    errors = ["\n".join(line for line in text.splitlines() if line.strip() not in EXCEPTION_CHROME)
              for text in page.get_by_test_id("stException").all_inner_texts()]
    assert not errors, f"{where}: the page shows {len(errors)} exception(s):\n" + "\n---\n".join(errors)


def title(page: Page) -> Locator:
    return page.get_by_test_id("stMain").locator("h1").first


def shoot(page: Page, name: str) -> Path:
    """A screenshot of the whole page: Streamlit scrolls inside its main block, so grow the viewport to fit."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1400, "height": 1000}
    height = page.evaluate(
        """() => Math.max(document.body.scrollHeight, ...Array.from(
            document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"], '
                                      + '[data-testid="stSidebarContent"]'), e => e.scrollHeight))"""
    )
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 8000)})
        page.wait_for_timeout(600)  # charts re-layout on resize
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def assert_shell(page: Page, lang: str = "zh") -> None:
    """dashboard.py ran around the page: its language button is in the sidebar."""
    button = page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile(t("language_switch", lang)))
    expect(button, "no language button in the sidebar: the page ran without dashboard.py (Streamlit's multipage "
           "v1 mode for a pages/ folder, no roles, no language)").to_be_visible()


def sidebar_paths(page: Page) -> set[str]:
    """The url paths of the pages listed in the sidebar navigation."""
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav).to_be_visible()
    hrefs = nav.get_by_test_id("stSidebarNavLink").evaluate_all("links => links.map(a => a.href)")
    return {urlparse(h).path.rstrip("/").rsplit("/", 1)[-1] or "overview" for h in hrefs}


def count_pattern(words: str, n: int) -> re.Pattern[str]:
    """`<word> ... n` or `n ... <word>`, with no other digit between: a labelled count in any layout."""
    num = rf"(?<!\d){n}(?!\d)"
    return re.compile(rf"(?:{words})[^0-9]{{0,40}}{num}|{num}[^0-9]{{0,40}}(?:{words})", re.IGNORECASE)


ACCEPTED = "接收|接受|已导入|成功导入|导入成功|通过|有效|accepted|imported"
REJECTED = "拒收|拒绝|被拒|退回|不合格|无效|rejected"


# --- tests ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "role"), [("loans", "official"), ("chains", "official"), ("upload", "official"),
                                          ("upload", "manager")])
def test_deep_link_respects_role(page: Page, server: str, name: str, role: str) -> None:
    """A bookmarked page the role may not see must not open. First in the file, so it meets a fresh server:
    with a pages/ folder beside dashboard.py, Streamlit runs pages/*.py directly (multipage v1, no roles)
    until some session has opened / and dashboard.py has called st.navigation."""
    open_page(page, f"{server}/{name}?role={role}", not_found_ok=True)
    assert_no_exception(page, f"{name}?role={role}")
    expect(title(page)).to_be_visible()
    expect(title(page)).not_to_contain_text(t(f"page_{name}", "zh"))
    assert name not in sidebar_paths(page)


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders(page: Page, server: str, name: str) -> None:
    role = PAGES[name]
    path = "" if name == "overview" else name  # the default page lives at /
    url = f"{server}/{path}?role={role}"
    open_page(page, url, not_found_ok=True)
    shoot(page, name)  # before the checks, so a failing page is seen too
    assert_no_exception(page, f"{name}?role={role}")
    assert_shell(page)
    assert_found(page, url)
    expect(title(page)).to_be_visible()
    expect(title(page)).to_contain_text(t(f"page_{name}", "zh"))


def test_language_switch(page: Page, server: str) -> None:
    open_page(page, f"{server}/?role=manager")  # the default page lives at /
    expect(title(page)).to_contain_text(t("page_overview", "zh"))
    page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile(t("language_switch", "zh"))).click()
    expect(page).to_have_url(re.compile(r"[?&]lang=en(&|$)"))
    expect(title(page)).to_contain_text(t("page_overview", "en"))
    wait_for_app(page)
    assert_no_exception(page, "overview?lang=en")
    sidebar = page.get_by_test_id("stSidebar")
    shoot(page, "overview_en")
    expect(sidebar.get_by_role("button", name=re.compile(t("language_switch", "en")))).to_be_visible()
    expect(sidebar.get_by_test_id("stSidebarNav")).to_contain_text(t("page_loans", "en"))
    # The role picker switches too (a widget keeps its old labels when only its format_func changes).
    expect(sidebar.get_by_test_id("stSelectbox").locator("input"),
           "the sidebar role picker still shows the old language").to_have_value(t("role_manager", "en"))


def test_official_sees_no_reader_pages(page: Page, server: str) -> None:
    open_page(page, f"{server}/?role=official")
    assert_no_exception(page, "/?role=official")
    listed = sidebar_paths(page)
    assert {"overview", "branch_map", "residents", "glossary"} <= listed, listed
    hidden = {"upload", "loans", "chains"}
    assert not listed & hidden, f"an official sees {sorted(listed & hidden)}"
    shoot(page, "overview_official")


def test_branch_map_offline(page: Page, server: str) -> None:
    blocked: list[str] = []

    def only_local(route: Route) -> None:
        host = urlparse(route.request.url).hostname or ""
        if host in LOCAL_HOSTS or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    page.route("**/*", only_local)
    open_page(page, f"{server}/branch_map?role=manager")
    assert_no_exception(page, "branch_map offline")
    expect(title(page)).to_contain_text(t("page_branch_map", "zh"))
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible()
    expect(chart.locator(".maplibregl-canvas, .js-plotly-plot").first).to_be_visible()
    page.wait_for_timeout(1500)  # let the map draw what it can without tiles
    assert_no_exception(page, "branch_map offline, after drawing")
    shoot(page, "branch_map_offline")
    print(f"blocked {len(blocked)} outside request(s): {sorted({urlparse(u).hostname for u in blocked})}")


def test_upload_events_as_staff(page: Page, server: str) -> None:
    open_page(page, f"{server}/upload?role=staff")
    assert_no_exception(page, "upload?role=staff")
    main = page.get_by_test_id("stMain")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(UPLOAD_FILE)  # then a profile's

    # The preview: kind and encoding recognised before anything is written.
    expect(title(page)).to_contain_text(t("page_upload", "zh"))
    expect(main).to_contain_text(re.compile(r"流通记录|events", re.IGNORECASE))
    expect(main).to_contain_text(re.compile(r"gb18030", re.IGNORECASE))
    wait_for_app(page)
    assert_no_exception(page, "upload preview")
    shoot(page, "upload_preview")

    # The first real import asks about the sample data; keep it (other tests read it).
    keep = main.get_by_test_id("stRadio").get_by_text(t("imp_ui_sample_keep", "zh"))
    if keep.count():
        keep.click()
        wait_for_app(page)
    buttons = main.locator('[data-testid="stButton"] button, [data-testid="stFormSubmitButton"] button')
    start = buttons.filter(has_text=re.compile(r"^导入 \d+ 个文件|^import \d+", re.IGNORECASE))
    expect(start).to_have_count(1)
    start.click()
    expect(main).to_contain_text(count_pattern(ACCEPTED, 8), timeout=60_000)
    expect(main).to_contain_text(count_pattern(REJECTED, 2))
    wait_for_app(page)
    assert_no_exception(page, "upload result")
    shoot(page, "upload_result")

    # The rejected rows, downloaded as CSV for Excel. Several download buttons may show: take the one
    # labelled as rejects, else try them from the last up until one holds the bad rows.
    downloads = main.get_by_test_id("stDownloadButton")
    expect(downloads.first).to_be_visible()
    labelled = downloads.filter(has_text=re.compile(r"拒|reject", re.IGNORECASE))
    candidates = [labelled.first] if labelled.count() else list(reversed(downloads.all()))
    found: bytes | None = None
    tried = []
    for button in candidates:
        with page.expect_download() as info:
            button.locator("button").click()
        raw = Path(info.value.path()).read_bytes()
        tried.append(f"{info.value.suggested_filename}: {raw[:80]!r}")
        if BAD_VALUE.encode() in raw:
            found = raw
            break
        wait_for_app(page)
    assert found is not None, "no download holds the rejected rows; downloaded:\n" + "\n".join(tried)
    assert found.startswith(b"\xef\xbb\xbf"), f"the rejects CSV has no UTF-8 BOM, Excel would garble it: {found[:40]!r}"
    rows = list(csv.reader(io.StringIO(found.decode("utf-8-sig"))))
    assert len(rows) >= 3, rows  # header + the two bad lines
    cells = {c for r in rows[1:] for c in r}
    assert {"10", "11"} <= cells, f"the rejects CSV should name file lines 10 and 11: {rows}"
    assert any(BAD_VALUE in r for r in rows[1:]), rows
    wait_for_app(page)
    assert_no_exception(page, "upload after download")
