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
