"""What the eye checks, in a real browser at the widths people use (1280 and 1600 px): the map's names never cover
each other and the scroll wheel scrolls the page past it; card titles and comparisons are written whole."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import assert_no_exception, sign_in

pytestmark = pytest.mark.e2e

WIDTHS = (1280, 1600)


def _boxes(page: Page) -> list[dict]:
    """The drawn box of every name on the map (branch labels, numbers, town names), in page pixels."""
    return page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stPlotlyChart"] .js-plotly-plot .textpoint text'))
        .filter(t => t.textContent.trim())
        .map(t => { const r = t.getBoundingClientRect();
                    return {text: t.textContent, x0: r.left, x1: r.right, y0: r.top, y1: r.bottom}; })""")


def _overlap(a: dict, b: dict, slack: float = 1.0) -> bool:
    return a["x0"] + slack < b["x1"] and b["x0"] + slack < a["x1"] and a["y0"] + slack < b["y1"] and \
        b["y0"] + slack < a["y1"]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_map_names_do_not_cover_each_other(page: Page, server: str, lang: str, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 1000})
    sign_in(page, f"{server}/branch_map?lang={lang}", "manager")
    assert_no_exception(page, f"branch_map {lang} {width}")
    expect(page.locator('[data-testid="stPlotlyChart"] .textpoint text').first).to_be_attached()
    page.wait_for_timeout(1000)
    boxes = _boxes(page)
    assert len(boxes) > 20  # town names and branch names are drawn
    clashes = [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:] if _overlap(a, b)]
    assert not clashes, f"names over each other at {width} px ({lang}): {clashes}"


def test_scroll_wheel_scrolls_the_page_over_the_map(page: Page, server: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, f"{server}/branch_map", "manager")
    chart = page.get_by_test_id("stPlotlyChart").first
    expect(chart).to_be_visible()
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    ranges = "() => { const g = document.querySelector('.js-plotly-plot')._fullLayout; " \
             "return [g.xaxis.range.slice(), g.yaxis.range.slice()]; }"
    scrolled = "() => document.querySelector('[data-testid=\"stMain\"]').scrollTop"
    before, top = page.evaluate(ranges), page.evaluate(scrolled)
    box = chart.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + min(box["height"], 600) / 2)
    page.mouse.wheel(0, 400)
    page.wait_for_timeout(800)
    assert page.evaluate(ranges) == before  # the map did not zoom
    assert page.evaluate(scrolled) > top  # the page moved on


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_card_words_are_whole_at_1280(page: Page, server: str, lang: str) -> None:
    """Six cards a row cut "Micro-branches open" to "Micro-branch…" and "较上期" to "较…": every title and
    comparison now fits its card (its text is not wider than its box)."""
    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, f"{server}/?lang={lang}&from=2024-09-01&to=2024-09-30", "manager")
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    cut = page.evaluate("""() => Array.from(document.querySelectorAll(
        '[data-testid="stMetricLabel"] p, [data-testid="stMetricDeltaDescription"] p, [data-testid="stMetricValue"] p'))
        .filter(p => p.scrollWidth > p.clientWidth + 1).map(p => p.textContent)""")
    assert not cut, f"cut at 1280 px ({lang}): {cut}"
