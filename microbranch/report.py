"""The district report: one period (a month, or any span), in Chinese or English, as a self-contained HTML
file (interactive charts, plotly.js inlined, works offline) or an A4 PDF (charts as images, fonts embedded)
printed from the same HTML by Debian's chromium.

Every number comes from the named queries the pages use, for the same period and walking threshold; no
reader-level row is read, and reader counts are shown as an official may see them (microbranch.access).
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

import duckdb
import jinja2
import plotly.io as pio
import plotly.offline
import polars as pl

from microbranch import access, mapfigure, numbers, periods, queries, scorecard, settings, sites
from microbranch.i18n import LANGS, metrics, t
from microbranch.periods import Period

TEMPLATE = Path(__file__).with_name("report.html.j2")
HEADLINE = ("branches_open", "micro_branches_open", "loans", "checkouts", "transfers", "transfer_share",
            "returns_avoided", "active_readers", "residents_covered", "coverage_rate", "mean_walk_minutes",
            "mean_walk_minutes_without_micro")
# Counted from the events: an earlier period the events do not wholly hold shows "—", not a zero.
FROM_EVENTS = ("loans", "checkouts", "transfers", "transfer_share", "returns_avoided", "active_readers")
READER = "official"  # the report is written for the district: what an official may see (microbranch.access)
SITES_SHOWN = 3  # the exact sites listed and drawn for this many new micro-branches


class ReportError(RuntimeError):
    """The report cannot be made; the message says what to do."""


@dataclass
class Report:
    """What the template shows; numbers as the queries gave them, words and formats added by the template."""

    period: Period
    lang: str
    walk_minutes: float
    as_of: date | None
    headline: list[dict] = field(default_factory=list)
    thresholds: list[dict] = field(default_factory=list)
    cards: list[dict] = field(default_factory=list)
    uncovered: list[dict] = field(default_factory=list)
    compare: list[dict] = field(default_factory=list)
    picked: list[dict] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    targets: scorecard.Targets = field(default_factory=scorecard.Targets)


def _kpis(con: duckdb.DuckDBPyConnection, p: Period, walk: float) -> dict:
    row = queries.run(con, "kpis", date_from=p.date_from, date_to=p.date_to, walk_minutes=walk).row(0, named=True)
    return {**row, "returns_avoided": row["transfers"]}  # metrics.md: returns avoided = transfers


def collect(con: duckdb.DuckDBPyConnection, period: Period, lang: str = "zh", walk_minutes: float = 15,
            time_limit: float = 10.0) -> Report:
    """Run the named queries for the period and its two comparisons, and draw the figures."""
    if lang not in LANGS:
        msg = f"the report is written in {' or '.join(LANGS)}, not {lang!r}"
        raise ReportError(msg)
    walk = float(walk_minutes)
    status = queries.run(con, "data_status").row(0, named=True)
    earlier = (period.previous(), period.year_earlier())  # the pages' comparisons (microbranch.periods)
    now, before, year = (_kpis(con, p, walk) for p in (period, *earlier))
    held = [periods.held(p.date_from, p.date_to, status["first_day"], status["as_of"])[0] == "whole" for p in earlier]
    report = Report(period, lang, walk, status.get("as_of"), targets=scorecard.targets())
    for key in HEADLINE:
        values = [now[key], *(v if whole or key not in FROM_EVENTS else None
                              for v, whole in zip((before[key], year[key]), held, strict=True))]
        if key in access.READER_COUNTS:
            values = [access.count_shown(v, READER) for v in values]
        report.headline.append({"key": key, "now": values[0], "before": values[1], "year": values[2]})

    day = {"date_to": period.date_to}
    report.thresholds = queries.run(con, "coverage_by_threshold", **day).to_dicts()
    district = queries.run(con, "walk_by_town", **day, walk_minutes=walk)
    towns = district.filter(~pl.col("is_district"))

    cards = queries.run(con, "scorecard_by_branch", **day, **report.targets.params())
    report.cards = [{**row, "readers": access.count_shown(row["readers"], READER)} for row in cards.to_dicts()]
    report.uncovered = queries.run(con, "uncovered_by_community", **day, walk_minutes=walk).head(10).to_dicts()

    communities = queries.run(con, "coverage_by_community", **day, walk_minutes=walk)
    plan = sites.plan(communities, walk, time_limit=time_limit)
    report.compare = plan.compare.to_dicts()
    shown = plan.exact[min(SITES_SHOWN, len(plan.exact)) - 1] if plan.exact else pl.DataFrame()
    report.picked = shown.to_dicts()

    branches = queries.run(con, "branches_by_loans", date_from=period.date_from, **day, walk_minutes=walk)
    draw = partial(mapfigure.branch_map, walk_minutes=walk, height=760, width_hint=700, lang=lang)
    after = sites.coverage.walks_with_sites(communities, shown, walk) if shown.height else communities
    report.figures = {
        "map": _html(draw(branches, communities, rings=[int(walk)]), "map"),
        "sites_map": _html(draw(branches, after, sites=shown if shown.height else None), "sites_map"),
        "walk": _html(mapfigure.walk_by_town_chart(towns, lang=lang), "walk"),
    }
    return report


def _html(fig: object, div_id: str) -> str:
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=f"figure-{div_id}",
                       config={"displaylogo": False, "responsive": True, "scrollZoom": False})


def _format(lang: str, key: str, value: object) -> str:
    """A number as the pages show it (`microbranch.numbers`), minutes with their unit."""
    text = numbers.text(key, value)
    return t("report_minutes", lang, value=text) if value is not None and metrics().get(key, {}).get("unit") == \
        "minutes" and not isinstance(value, str) else text


def _change(lang: str, key: str, now: object, before: object) -> str:
    return numbers.change(key, now, before, lang) or "—"


def summary(report: Report) -> str:
    """One paragraph saying the period's headline in words (the body of the report's mail), in the report's
    language; reader counts as suppressed in the report."""
    row = {h["key"]: h for h in report.headline}

    def now(key: str) -> str:
        return _format(report.lang, key, row[key]["now"])

    return t("report_summary", report.lang, date_from=report.period.date_from, date_to=report.period.date_to,
             loans=now("loans"), change=_change(report.lang, "loans", row["loans"]["now"], row["loans"]["before"]),
             transfers=now("transfers"), share=now("transfer_share"), readers=now("active_readers"),
             branches=now("branches_open"), micro=now("micro_branches_open"), coverage=now("coverage_rate"),
             walk=f"{report.walk_minutes:g}", as_of=report.as_of or "—")


def render_html(report: Report) -> str:
    """The report as one self-contained HTML file: styles and plotly.js inside, no network needed."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    lang = report.lang
    return env.get_template(TEMPLATE.name).render(
        r=report, w=lambda key, **fmt: t(key, lang, **fmt),
        fmt=partial(_format, lang), change=partial(_change, lang),
        town=lambda code: t(f"town_{code}", lang) if code else "—",
        plotly_js=plotly.offline.get_plotlyjs(),
    )


# Swap every chart for a PNG of itself (the PDF's charts are images), then say so.
_TO_IMAGES = """async () => {
  for (const div of Array.from(document.querySelectorAll('.js-plotly-plot'))) {
    const width = div._fullLayout.width, height = div._fullLayout.height;
    const url = await Plotly.toImage(div, {format: 'png', width: width, height: height, scale: 2});
    const img = document.createElement('img');
    img.src = url; img.width = width; img.height = height; img.className = 'chart-image';
    div.replaceWith(img);
  }
  await Promise.all(Array.from(document.images).map(i => i.decode()));
  return document.images.length;
}"""


def render_pdf(html: str, out: Path) -> None:
    """Print the HTML to an A4 PDF with Debian's chromium (charts as images, fonts embedded).

    Playwright's sync API refuses to start in a thread that runs an asyncio loop (a server's, or another
    Playwright's), so the printing runs in a thread of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_print_pdf, html, out).result()


def _print_pdf(html: str, out: Path) -> None:
    chromium = settings.current().chromium
    if not chromium.exists():
        msg = (f"the PDF report needs chromium at {chromium} (Debian: apt-get install chromium fonts-noto-cjk), "
               "or write the HTML form with --format html")
        raise ReportError(msg)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="microbranch_report_") as tmp:
        page_file = Path(tmp) / "report.html"
        page_file.write_text(html, encoding="utf-8")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium),
                                         args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                page = browser.new_page(viewport={"width": 760, "height": 1100})
                page.goto(page_file.as_uri(), wait_until="load")
                page.evaluate(_TO_IMAGES)
                page.emulate_media(media="print")
                page.pdf(path=str(out), format="A4", print_background=True,
                         margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
                         display_header_footer=True, header_template="<span></span>",
                         footer_template=('<div style="font-size:8px;width:100%;text-align:center;color:#666">'
                                          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'))
            finally:
                browser.close()


def write(con: duckdb.DuckDBPyConnection, period: Period, out: Path, lang: str = "zh", fmt: str = "html",
          walk_minutes: float = 15, time_limit: float = 10.0) -> Path:
    """Collect, render and write the report to `out` (html or pdf)."""
    if fmt not in ("html", "pdf"):
        msg = f"the report is written as html or pdf, not {fmt!r}"
        raise ReportError(msg)
    html = render_html(collect(con, period, lang, walk_minutes, time_limit))
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        out.write_text(html, encoding="utf-8")
    else:
        render_pdf(html, out)
    return out
