"""Every page at its own address with its filters, /overview included, and the one-branch page at
/branch?branch=<id>, in Debian chromium against a real server (tests/e2e/conftest.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from microbranch import access, queries, storage
from microbranch.i18n import t
from tests.e2e.test_browser import assert_no_exception, sign_in, title, wait_for_app

PAGES = [p for p in access.PAGES if access.may_open("manager", p)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_at_its_own_address_keeps_its_filters(page: Page, server: str, lang: str) -> None:
    sign_in(page, f"{server}/overview?lang={lang}", "manager")
    for name in PAGES:
        page.goto(f"{server}/{name}?from=2024-07-01&lang={lang}", wait_until="domcontentloaded")
        wait_for_app(page)
        expect(title(page)).to_contain_text(t(f"page_{name}", lang), timeout=60_000)
        assert_no_exception(page, name)
        where = urlparse(page.url)
        assert where.path == f"/{name}", page.url
        assert parse_qs(where.query).get("from") == ["2024-07-01"], page.url
        assert not page.get_by_text("Page not found").count(), name


def test_the_one_branch_page_at_its_address(page: Page, server: str, e2e_dir) -> None:  # noqa: ANN001
    branches = queries.run(storage.reader(e2e_dir / "data" / "microbranch.duckdb"), "branch_list")
    micro = branches.filter(branches["kind"] == "micro").row(0, named=True)
    sign_in(page, f"{server}/branch?branch={micro['branch_id']}", "official")
    expect(title(page)).to_contain_text(t("page_branch", "zh"))
    expect(page.locator("h2").filter(has_text=micro["name"])).to_be_visible(timeout=60_000)
    assert_no_exception(page, "branch")
    assert parse_qs(urlparse(page.url).query).get("branch") == [micro["branch_id"]]
    expect(page.get_by_test_id("stMetric").first).to_be_visible()


def test_a_paged_list_downloads_the_whole_list(page: Page, server: str) -> None:
    """The weeding list is paged on the server; its download is made when asked for, and holds every row."""
    import csv
    import io
    import re

    sign_in(page, f"{server}/loans", "manager")
    page.get_by_role("tab", name=t("circ_never_borrowed", "zh")).click()
    wait_for_app(page)
    said = page.get_by_text(re.compile(r"共 [\d,]+ 行")).first
    expect(said).to_be_visible(timeout=60_000)
    total = int(re.search(r"共 ([\d,]+) 行", said.inner_text()).group(1).replace(",", ""))
    button = page.get_by_test_id("stDownloadButton").filter(has_text=t("download_csv", "zh")).last
    with page.expect_download() as got:
        button.click()
    rows = list(csv.DictReader(io.StringIO(got.value.path().read_text(encoding="utf-8-sig"))))
    assert len(rows) == total and t("circ_col_item_id", "zh") in rows[0]
