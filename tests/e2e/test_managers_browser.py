"""The managers' views in a real browser, in both languages: overview, loans and stock to move at full length
(screenshots in tests/e2e/screenshots/managers_*), chart ticks and widget words in the page's language, the move
list downloaded as a CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import Page, expect

from microbranch.i18n import t
from tests.e2e.test_browser import assert_no_exception, shoot, sign_in, title

pytestmark = pytest.mark.e2e

ENGLISH_MONTHS = re.compile(r"\b(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b")


def ticks(page: Page) -> list[str]:
    return page.locator(".xtick text, .ytick text").all_text_contents()


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("name", ["overview", "loans", "stock"])
def test_managers_pages(page: Page, server: str, name: str, lang: str) -> None:
    path = "" if name == "overview" else name
    sign_in(page, f"{server}/{path}?lang={lang}&from=2024-07-01&to=2024-09-30", "manager")
    page.wait_for_timeout(1500)  # charts finish drawing
    shoot(page, f"managers_{name}_{lang}")
    assert_no_exception(page, f"{name} in {lang}")
    expect(title(page)).to_contain_text(t(f"page_{name}", lang))
    # Cards compare July-September with April-June (whole months), the year earlier is not in the data.
    expect(page.get_by_test_id("stMetricDelta").first).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text=t("mgr_vs_previous", lang)).first).to_be_visible()
    shown = ticks(page)
    assert shown
    if lang == "zh":
        assert not [x for x in shown if ENGLISH_MONTHS.search(x)], "English month names on a Chinese chart"
        assert not page.get_by_test_id("stSidebar").get_by_text(re.compile(r"\bmin\b")).count()
    # Branch labels drop the common prefix where space is short.
    assert not [x for x in shown if re.search(r"南沙图书馆[^\s→]", x)]


def test_move_list_download(page: Page, server: str) -> None:
    sign_in(page, f"{server}/stock", "manager")
    # the stock table's CSV, the van's stops, then the move list: every copy under its stop
    button = page.get_by_test_id("stDownloadButton").filter(has_text=t("download_csv", "zh")).nth(2)
    with page.expect_download() as got:
        button.click()
    text = got.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {t("circ_col_from_branch", "zh"), t("circ_col_to_branch", "zh")} <= set(rows[0])
    assert all(r[t("circ_col_from_branch", "zh")] != r[t("circ_col_to_branch", "zh")] for r in rows)
