"""The dashboard in a real browser: sign-in, every page per role, refused direct links, the language switch, an
upload, the map offline.

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
from tests.e2e.conftest import PASSWORD

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
SHOTS = HERE / "screenshots"
UPLOAD_FILE = HERE / "data" / "events_gb18030.csv"  # 8 good rows + 2 bad ones (file lines 10 and 11)
BAD_VALUE = "2024-13-45 25:99:00"  # the impossible timestamp on line 10
LOCAL_HOSTS = ("127.0.0.1", "localhost")

# role -> the pages in its navigation (the default page, overview, lives at /)
SEES = {
    "staff": ["overview", "loans", "chains", "stock", "readers", "branch_map", "residents", "scorecards", "report",
              "upload", "audit", "glossary", "branch"],
    "manager": ["overview", "loans", "chains", "stock", "readers", "branch_map", "residents", "scorecards", "report",
                "glossary", "branch"],
    "official": ["overview", "loans", "chains", "readers", "branch_map", "residents", "scorecards", "report",
                 "glossary", "branch"],
}
PSEUDONYM = re.compile(r"\bR[0-9a-f]{20}\b")


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


def sidebar_paths(page: Page, lang: str = "zh") -> set[str]:
    """The pages listed in the sidebar navigation (by their titles: the default page's link has no path)."""
    links = page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink")
    expect(links.first).to_be_visible()
    names = {t(f"page_{name}", lang): name for names in SEES.values() for name in names}
    titles = [text.strip().splitlines()[-1].strip() for text in links.all_inner_texts()]  # after the icon
    return {names.get(title, title) for title in titles}


def sign_in(page: Page, url: str, role: str, password: str = PASSWORD) -> None:
    """Open `url`, meet the server's sign-in form (in the link's language), sign in as the account named after
    `role`; the browser comes back to `url`."""
    lang = "en" if re.search(r"[?&]lang=en\b", url) else "zh"
    page.goto(url, wait_until="domcontentloaded")
    expect(page.locator("h1")).to_have_text(t("access_sign_in_title", lang))
    assert urlparse(page.url).path == "/signin", page.url
    page.get_by_label(t("access_name", lang), exact=True).fill(role)
    page.get_by_label(t("access_password", lang), exact=True).fill(password)
    page.get_by_role("button", name=t("access_sign_in", lang)).click()
    expect(page.get_by_test_id("stSidebar")).to_contain_text(t(f"role_{role}", lang), timeout=60_000)
    wait_for_app(page)


def go(page: Page, name: str, lang: str = "zh") -> None:
    """Open a page from the sidebar navigation (in the same session, as a user does)."""
    page.get_by_test_id("stSidebar").get_by_test_id("stPageLink-NavLink").filter(
        has_text=t(f"page_{name}", lang)).click()
    expect(title(page)).to_contain_text(t(f"page_{name}", lang), timeout=60_000)
    wait_for_app(page)


def count_pattern(words: str, n: int) -> re.Pattern[str]:
    """`<word> ... n` or `n ... <word>`, with no other digit between: a labelled count in any layout."""
    num = rf"(?<!\d){n}(?!\d)"
    return re.compile(rf"(?:{words})[^0-9]{{0,40}}{num}|{num}[^0-9]{{0,40}}(?:{words})", re.IGNORECASE)


ACCEPTED = "接收|接受|已导入|成功导入|导入成功|通过|有效|accepted|imported"
REJECTED = "拒收|拒绝|被拒|退回|不合格|无效|rejected"


# --- tests ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "role"), [("upload", "official"), ("upload", "manager")])
def test_direct_link_refused(page: Page, server: str, name: str, role: str) -> None:
    """A link to a page the role may not open: sign-in first, then a polite refusal naming the page and the role
    it needs, in the user's language. First in the file, so it meets a fresh server. A role in the URL means
    nothing."""
    sign_in(page, f"{server}/{name}?role=staff", role)
    shoot(page, f"refused_{name}_{role}")  # before the checks, so a failing page is seen too
    assert_no_exception(page, f"{name} as {role}")
    assert_shell(page)
    refusal = page.get_by_test_id("stAlert").filter(has_text=t(f"page_{name}", "zh"))
    expect(refusal).to_contain_text(t(f"role_{role}", "zh"))
    expect(refusal).to_contain_text(t("role_staff", "zh"))
    expect(page.get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(0)
    assert name not in sidebar_paths(page)
    assert "role=" not in page.url


@pytest.mark.parametrize("role", list(SEES))
def test_pages_per_role(page: Page, server: str, role: str) -> None:
    """Signed in as `role`: the navigation lists its pages and each one renders; an official's pages show no
    reader pseudonym."""
    sign_in(page, f"{server}/", role)
    assert sidebar_paths(page) == set(SEES[role])
    for name in SEES[role]:
        if name != "overview":
            go(page, name)
        assert_no_exception(page, f"{name} as {role}")
        assert_shell(page)
        expect(title(page)).to_contain_text(t(f"page_{name}", "zh"))
        shoot(page, f"{name}_{role}")
        if role == "official":
            found = PSEUDONYM.findall(page.get_by_test_id("stMain").inner_text())
            assert not found, f"{name}: an official sees pseudonyms {found[:3]}"


def test_language_switch(page: Page, server: str) -> None:
    sign_in(page, f"{server}/", "manager")
    expect(title(page)).to_contain_text(t("page_overview", "zh"))
    page.get_by_test_id("stSidebar").get_by_role("button", name=re.compile(t("language_switch", "zh"))).click()
    expect(page).to_have_url(re.compile(r"[?&]lang=en(&|$)"))
    expect(title(page)).to_contain_text(t("page_overview", "en"))
    wait_for_app(page)
    assert_no_exception(page, "overview?lang=en")
    sidebar = page.get_by_test_id("stSidebar")
    shoot(page, "overview_en")
    expect(sidebar.get_by_role("button", name=re.compile(t("language_switch", "en")))).to_be_visible()
    expect(sidebar).to_contain_text(t("page_loans", "en"))
    expect(sidebar).to_contain_text(t("role_manager", "en"))


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
    sign_in(page, f"{server}/branch_map", "manager")
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
    sign_in(page, f"{server}/upload", "staff")
    assert_no_exception(page, "upload as staff")
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
