"""The district report: one period (a month, or any span), in Chinese or English, as a self-contained HTML
file (interactive charts, plotly.js inlined, works offline) or an A4 PDF (charts as drawings, fonts embedded)
printed from the same HTML by Debian's chromium.

Every number comes from the named queries the pages use, for the same period and walking threshold; no
reader-level row is read, and reader counts are shown as an official may see them (microbranch.access).
"""

from __future__ import annotations

import calendar
import hashlib
import math
import os
import pickle
import tempfile
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import duckdb
import jinja2
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from microbranch import access, mapfigure, numbers, periods, queries, scorecard, settings, sites
from microbranch.i18n import CATALOGUE, LANGS, entries, metrics, t
from microbranch.periods import Period

TEMPLATE = Path(__file__).with_name("report.html.j2")
# plotly.js's basic bundle (npm plotly.js-basic-dist-min, MIT: plotly-basic.LICENSE), the version plotly writes for:
# the report draws scatter and bar traces only, and a quarter of the full bundle is a third of the file to forward
# and of chromium's load before printing.
PLOTLY_BASIC = Path(__file__).with_name("plotly-basic.min.js")
BASIC_TRACES = {"scatter", "bar", "pie"}
HEADLINE = ("branches_open", "micro_branches_open", "loans", "checkouts", "transfers", "transfer_share",
            "returns_avoided", "active_readers", "residents_covered", "coverage_rate", "mean_walk_minutes",
            "mean_walk_minutes_without_micro")
# Counted from the events: an earlier period the events do not wholly hold shows "—", not a zero.
FROM_EVENTS = ("loans", "checkouts", "transfers", "transfer_share", "returns_avoided", "active_readers")
READER = "official"  # the report is written for the district: what an official may see (microbranch.access)
SITES_SHOWN = 3  # the exact sites listed and drawn for this many new micro-branches
CARDS_SHOWN = 10  # the scorecards listed: this many best and this many weakest, and the new ones up to this many
PRINT_WIDTH = 700  # px: the width of A4 less its margins, so the charts' words print at the size they are drawn
MAP_HEIGHT = 760
TOWNS_SHOWN = 15  # the walk chart's towns: the ones with the longest walk without micro-branches (as it sorts them)
MAP_NAMES_MAX = mapfigure.NAMES_MAX  # branches named on the maps up to this many; beyond, the maps name the towns only
SITES_MAP_HEIGHT = 640


class ReportError(RuntimeError):
    """The report cannot be made; the message says what to do."""


# What the pieces are made by (code, template, words): a piece kept by older code is not used.
_MADE_BY = (*(Path(m.__file__) for m in (mapfigure, sites, scorecard, numbers, access)), Path(__file__), TEMPLATE,
            PLOTLY_BASIC, *sorted(CATALOGUE.glob("*.toml")))
_CODE = hashlib.sha256(b"".join(p.read_bytes() for p in _MADE_BY)).hexdigest()[:16]


class Pieces:
    """The report's pieces, made once per data version: the numbers and figures per period, language and walk
    (`collect`), the next-site plan per the communities' walks (the same plan for every period and language until
    branches or communities change), the HTML, and the PDF printed from it. Kept in memory for the process (the
    `MEMORY` entries most recently used) and, given a `folder` (owner-only, beside the database), across
    processes; the folder keeps the `FILES` most recently made."""

    MEMORY = 8
    FILES = 24

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self._memory: OrderedDict[str, object] = OrderedDict()

    def get(self, kind: str, key: object, make: Callable[[], object]) -> object:
        name = f"{kind}-{hashlib.sha256(repr((_CODE, key)).encode()).hexdigest()[:32]}"
        if name in self._memory:
            self._memory.move_to_end(name)
            return self._memory[name]
        path = self.folder / f"{name}.pickle" if self.folder else None
        if path is not None and path.exists():
            value = pickle.loads(path.read_bytes())  # noqa: S301 - written by this module into an owner-only folder
        else:
            value = make()
            if path is not None:
                self._store(path, value)
        self._memory[name] = value
        while len(self._memory) > self.MEMORY:
            self._memory.popitem(last=False)
        return value

    def _store(self, path: Path, value: object) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_bytes(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(path)
        kept = sorted(path.parent.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in kept[self.FILES:]:
            old.unlink(missing_ok=True)


PIECES = Pieces()  # the process's own, when the caller names no folder


def data_version(con: duckdb.DuckDBPyConnection) -> str:
    """What the data is: the database's marks (schema, key, "as of", the published generation) and every import
    with its undo. A new import or an undo gives a new version."""
    marks = con.sql("select key, value from meta order by key").fetchall()
    imports = con.sql("select import_id, sha256, status, undone_at from imports order by import_id").fetchall()
    return hashlib.sha256(repr((marks, imports)).encode()).hexdigest()


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
    cards_shown: list[dict] = field(default_factory=list)  # the rows listed (`shown_cards`)
    uncovered: list[dict] = field(default_factory=list)
    compare: list[dict] = field(default_factory=list)
    picked: list[dict] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)
    targets: scorecard.Targets = field(default_factory=scorecard.Targets)
    trend: list[dict] = field(default_factory=list)  # month, micro and other loans, whether the month is partial
    summary: str = ""
    numbered: list[tuple] = field(default_factory=list)  # branches named by a number on the map: (number, name)
    unnamed: int = 0  # branches drawn on the maps without their names (too many to name)
    towns_left_out: int = 0  # towns not in the walk chart (beyond TOWNS_SHOWN)


def _kpis(con: duckdb.DuckDBPyConnection, p: Period, walk: float) -> dict:
    row = queries.run(con, "kpis", date_from=p.date_from, date_to=p.date_to, walk_minutes=walk).row(0, named=True)
    return {**row, "returns_avoided": row["transfers"]}  # metrics.md: returns avoided = transfers


def _check_language(lang: str) -> None:
    if lang not in LANGS:
        msg = f"the report is written in {' or '.join(LANGS)}, not {lang!r}"
        raise ReportError(msg)


def _numbers(con: duckdb.DuckDBPyConnection, period: Period, lang: str, walk_minutes: float) -> Report:
    """The report's numbers without the next-site solves and the figures: the glance, the thresholds, the ranked
    scorecards with each micro-branch's loans in the period, the 12-month trend, and the summary in words."""
    _check_language(lang)
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
    cards = queries.run(con, "scorecard_by_branch", **day, **report.targets.params())
    lent = queries.run(con, "loans_by_branch_month", date_from=period.date_from, date_to=period.date_to)
    lent = dict(lent.group_by("branch_id").agg(pl.col("loans").sum()).iter_rows())
    central = next(iter(queries.run(con, "branch_list").filter(pl.col("kind") == "central")["name"]), None)
    report.cards = [{**row, "readers": access.count_shown(row["readers"], READER),
                     "loans": lent.get(row["branch_id"], 0), "short_name": mapfigure.short_name(row["name"], central)}
                    for row in cards.to_dicts()]
    report.cards_shown = shown_cards(report.cards)
    report.trend = _trend(con, period, status.get("as_of"))
    report.summary = summary(report)
    return report


def shown_cards(cards: list[dict], n: int = CARDS_SHOWN) -> list[dict]:
    """The scorecards a page can hold: the `n` best and the `n` weakest of those ranked, then the new ones when
    there are `n` or fewer; where some are left out, a row {"left_out": "ranked" | "new", "n": how many}. With
    1,000 branches the whole list is the scorecards page's download."""
    ranked = [c for c in cards if c.get("peer_rank")]
    new = [c for c in cards if not c.get("peer_rank")]
    shown = ranked if len(ranked) <= 2 * n else [*ranked[:n], {"left_out": "ranked", "n": len(ranked) - 2 * n},
                                                  *ranked[-n:]]
    return shown + (new if len(new) <= n else [{"left_out": "new", "n": len(new)}])


def _trend(con: duckdb.DuckDBPyConnection, period: Period, as_of: date | None) -> list[dict]:
    """Loans per month for the 12 months up to the period's end, micro-branches apart from the others; a month
    the data does not hold to its last day (the period or the data ends before) is marked partial."""
    end = period.date_to
    first_no = end.year * 12 + end.month - 1 - 11
    months = queries.run(con, "loans_by_branch_month", date_from=date(first_no // 12, first_no % 12 + 1, 1),
                         date_to=end)
    kinds = queries.run(con, "branch_list").select("branch_id", "kind")
    micro = pl.col("kind") == "micro"
    months = months.join(kinds, on="branch_id", how="left").group_by("month").agg(
        pl.col("loans").filter(micro).sum().alias("micro"),
        pl.col("loans").filter(~micro | pl.col("kind").is_null()).sum().alias("other")).sort("month")
    held_to = min(as_of or end, end)
    return [{**row, "partial": held_to < row["month"].replace(day=calendar.monthrange(row["month"].year,
                                                                                     row["month"].month)[1])}
            for row in months.to_dicts()]


def _standing(report: Report) -> str:
    """The micro-branches' standing and what they add to coverage, in words: the best and the weakest among those
    judged, how many are behind, how many are too new to judge."""
    lang = report.lang
    parts = []
    ranked = [c for c in report.cards if c.get("peer_rank")]
    if len(ranked) >= 2:
        best, weakest = ranked[0], ranked[-1]
        parts.append(t("report_summary_ranked", lang, judged=len(ranked), best=best["short_name"],
                       best_index=f"{best['peer_index']:.2f}", weakest=weakest["short_name"],
                       weakest_index=f"{weakest['peer_index']:.2f}",
                       behind=sum(c["status"] == "behind" for c in ranked)))
    new = sum(c["status"] == "new" for c in report.cards)
    if new:
        parts.append(t("report_summary_new", lang, n=new))
    walk = next((r for r in report.thresholds if r["walk_threshold"] == int(report.walk_minutes)), None)
    if walk and walk["residents_added_by_micro"]:
        parts.append(t("report_summary_added", lang, added=f"{walk['residents_added_by_micro']:,}",
                       minutes=f"{report.walk_minutes:g}"))
    return "".join(parts)


def summary_of(con: duckdb.DuckDBPyConnection, period: Period, lang: str = "zh", walk_minutes: float = 15) -> str:
    """The report's one-paragraph summary on its own (no next-site solves, no figures), e.g. for a mail's body."""
    return _numbers(con, period, lang, walk_minutes).summary


def collect(con: duckdb.DuckDBPyConnection, period: Period, lang: str = "zh", walk_minutes: float = 15,
            time_limit: float = 10.0, pieces: Pieces | None = None) -> Report:
    """Run the named queries for the period and its two comparisons, solve the next sites, draw the figures: once
    per data version, period, language and walk (`Pieces`)."""
    pieces = pieces or PIECES
    key = (data_version(con), period, lang, float(walk_minutes), time_limit, scorecard.targets())
    return pieces.get("report", key, partial(_collect, con, period, lang, walk_minutes, time_limit, pieces))


def _plan(communities: pl.DataFrame, walk: float, time_limit: float, pieces: Pieces) -> sites.Plan:
    """The next-site plan, solved once for the same communities' walks (they change only with branches or
    communities)."""
    inputs = communities.select("community_code", "name", "lat", "lon", "population", "walk_minutes")
    key = (hashlib.sha256(inputs.write_ipc(None).getvalue()).hexdigest(), walk, time_limit)
    return pieces.get("plan", key, partial(sites.plan, communities, walk, time_limit=time_limit))


def _collect(con: duckdb.DuckDBPyConnection, period: Period, lang: str, walk_minutes: float, time_limit: float,
             pieces: Pieces) -> Report:
    """The report's pieces. The next sites are solved (by the solver's own processes) while the numbers are read."""
    _check_language(lang)
    walk, day = float(walk_minutes), {"date_to": period.date_to}
    communities = queries.run(con, "coverage_by_community", **day, walk_minutes=walk)
    with ThreadPoolExecutor(max_workers=1) as pool:
        planned = pool.submit(_plan, communities, walk, time_limit, pieces)
        report = _numbers(con, period, lang, walk_minutes)
        towns = queries.run(con, "walk_by_town", **day, walk_minutes=walk).filter(~pl.col("is_district"))
        report.towns_left_out = max(towns.height - TOWNS_SHOWN, 0)
        towns = towns.sort("mean_walk_minutes_without_micro", descending=True, nulls_last=True).head(TOWNS_SHOWN)
        report.uncovered = queries.run(con, "uncovered_by_community", **day, walk_minutes=walk).head(10).to_dicts()
        branches = queries.run(con, "branches_by_loans", date_from=period.date_from, **day, walk_minutes=walk)
        draw = partial(mapfigure.branch_map, walk_minutes=walk, height=MAP_HEIGHT, width_hint=PRINT_WIDTH,
                       lang=report.lang, labels=None if branches.height <= MAP_NAMES_MAX else False,
                       squares=False)  # the report's plotly.js has no heatmap: its communities stay dots
        whole_map = draw(branches, communities, rings=[int(walk)])
        plan = planned.result()
    report.compare = plan.compare.to_dicts()
    shown = plan.exact[min(SITES_SHOWN, len(plan.exact)) - 1] if plan.exact else pl.DataFrame()
    report.picked = shown.to_dicts()
    after = sites.coverage.walks_with_sites(communities, shown, walk) if shown.height else communities
    report.numbered = [tuple(n) for n in whole_map.layout.meta["numbered"]]
    report.unnamed = branches.height if branches.height > MAP_NAMES_MAX else 0
    report.figures = {
        "trend": _html(mapfigure.trend_chart(report.trend, lang=report.lang), "trend"),
        "map": _html(whole_map, "map"),
        "sites_map": _html(draw(branches, after, sites=shown if shown.height else None, height=SITES_MAP_HEIGHT),
                           "sites_map"),
        "walk": _html(mapfigure.walk_by_town_chart(towns, lang=report.lang), "walk"),
    }
    return report


def _html(fig: go.Figure, div_id: str) -> str:
    if other := {trace.type for trace in fig.data} - BASIC_TRACES:
        msg = f"the report's plotly.js draws {sorted(BASIC_TRACES)} traces, not {sorted(other)} ({div_id})"
        raise ReportError(msg)
    return pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=f"figure-{div_id}",
                       default_width=f"{PRINT_WIDTH}px",
                       config={"displaylogo": False, "responsive": False, "scrollZoom": False})


def _format(lang: str, key: str, value: object) -> str:
    """A number as the pages show it (`microbranch.numbers`), minutes with their unit."""
    text = numbers.text(key, value)
    return t("report_minutes", lang, value=text) if value is not None and metrics().get(key, {}).get("unit") == \
        "minutes" and not isinstance(value, str) else text


def _change(lang: str, key: str, now: object, before: object) -> str:
    return numbers.change(key, now, before, lang) or "—"


def summary(report: Report) -> str:
    """One paragraph saying the period's headline in words (the body of the report's mail, the report's first
    lines), in the report's language; reader counts as suppressed in the report; then the micro-branches'
    standing (`_standing`)."""
    row = {h["key"]: h for h in report.headline}

    def now(key: str) -> str:
        return _format(report.lang, key, row[key]["now"])

    headline = t("report_summary", report.lang, date_from=report.period.date_from, date_to=report.period.date_to,
                 loans=now("loans"),
                 change=_change(report.lang, "loans", row["loans"]["now"], row["loans"]["before"]),
                 transfers=now("transfers"), share=now("transfer_share"), readers=now("active_readers"),
                 branches=now("branches_open"), micro=now("micro_branches_open"), coverage=now("coverage_rate"),
                 walk=f"{report.walk_minutes:g}", as_of=report.as_of or "—")
    standing = _standing(report)
    return f"{headline}{'' if report.lang == 'zh' else ' '}{standing}".strip() if standing else headline


def render_html(report: Report) -> str:
    """The report as one self-contained HTML file: styles and plotly.js inside, no network needed."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    lang = report.lang
    return env.get_template(TEMPLATE.name).render(
        r=report, w=lambda key, **fmt: t(key, lang, **fmt),
        fmt=partial(_format, lang), change=partial(_change, lang),
        town=lambda code: (t(f"town_{code}", lang) if f"town_{code}" in entries() else code) if code else "—",
        whole=lambda value: "—" if value is None else f"{math.ceil(value - 1e-9):,}",
        plotly_js=PLOTLY_BASIC.read_text(encoding="utf-8"),
        towns_shown=TOWNS_SHOWN,
    )


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def render_pdf(html: str, out: Path) -> None:
    """Print the HTML to an A4 PDF with Debian's chromium (charts as drawings, fonts embedded).

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
            browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 760, "height": 1100})
                # the charts print as plotly drew them: SVG, sharp at any zoom, their words text (found by search,
                # read back by pdftotext), at the size they were drawn
                page.goto(page_file.as_uri(), wait_until="load")
                page.emulate_media(media="print")
                page.pdf(path=str(out), format="A4", print_background=True,
                         margin={"top": "14mm", "bottom": "14mm", "left": "12mm", "right": "12mm"},
                         display_header_footer=True, header_template="<span></span>",
                         footer_template=('<div style="font-size:8px;width:100%;text-align:center;color:#666">'
                                          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'))
            finally:
                browser.close()


def pdf_bytes(html: str) -> bytes:
    """The PDF printed from the HTML (`render_pdf`), as bytes."""
    with tempfile.TemporaryDirectory(prefix="microbranch_report_") as tmp:
        out = Path(tmp) / "report.pdf"
        render_pdf(html, out)
        return out.read_bytes()


def write(con: duckdb.DuckDBPyConnection, period: Period, out: Path, lang: str = "zh", fmt: str = "html",
          walk_minutes: float = 15, time_limit: float = 10.0, pieces: Pieces | None = None) -> Path:
    """Collect, render and write the report to `out` (html or pdf); each piece made once per data version
    (`Pieces`: the process's own unless given)."""
    if fmt not in ("html", "pdf"):
        msg = f"the report is written as html or pdf, not {fmt!r}"
        raise ReportError(msg)
    pieces = pieces or PIECES
    html = _html_piece(con, period, lang, walk_minutes, time_limit, pieces)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "html":
        out.write_text(html, encoding="utf-8")
    else:
        digest = hashlib.sha256(html.encode("utf-8")).hexdigest()
        out.write_bytes(pieces.get("pdf", digest, partial(pdf_bytes, html)))
    return out


def _html_piece(con: duckdb.DuckDBPyConnection, period: Period, lang: str, walk_minutes: float, time_limit: float,
                pieces: Pieces) -> str:
    key = (data_version(con), period, lang, float(walk_minutes), time_limit, scorecard.targets())
    return pieces.get("html", key, lambda: render_html(collect(con, period, lang, walk_minutes, time_limit, pieces)))


def latest_month(con: duckdb.DuckDBPyConnection) -> str | None:
    """The latest month the data holds whole (its "as of" day the month's last, else the month before), YYYY-MM."""
    as_of = queries.run(con, "data_status")["as_of"][0]
    if as_of is None:
        return None
    if as_of.day != calendar.monthrange(as_of.year, as_of.month)[1]:
        as_of = as_of.replace(day=1) - timedelta(days=1)
    return f"{as_of:%Y-%m}"


def prepare(con: duckdb.DuckDBPyConnection, pieces: Pieces, month: str | None = None, walk_minutes: float = 15,
            time_limit: float = 10.0) -> str | None:
    """Make and keep the pieces of `month`'s report (default: the latest whole month) in every language, HTML, so
    the first report asked for on this data version is served from them (the PDF is printed from the kept HTML).
    Returns the month, None when there are no events."""
    month = month or latest_month(con)
    if month is not None:
        for lang in LANGS:
            _html_piece(con, Period.month(month), lang, walk_minutes, time_limit, pieces)
    return month
