"""The district report on the hand-made geography of test_places, for March 2024: its numbers are the named
queries' numbers for the same period, in both forms (HTML parsed; PDF read back with pdftotext from
poppler-utils); no reader pseudonym appears; reader counts from 1 to 9 are shown as <10; the PDF is A4,
holds Chinese text and embeds its fonts; the command line writes both forms.

March 2024 in that data: C0 lends I1 to R1 (checkout) who hands it to R2 (transfer), M1 lends I2 to R3:
2 checkouts + 1 transfer = 3 loans by 3 readers (shown <10); February 2024 and March 2023 lie before the
first event, so their loans are shown as unknown (—), not as 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from microbranch import mapfigure, queries, report, scorecard, storage
from tests.test_places import build

ROOT = Path(__file__).resolve().parent.parent
MARCH = report.Period.month("2024-03")


class Cells(HTMLParser):
    """Every cell marked with data-key, as {(key, when or branch or k or community): text}."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], str] = {}
        self._open: tuple[str, str] | None = None
        self.scripts_with_src: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts_with_src.append(a["src"] or "")
        if "data-key" in a:
            where = next(a[k] for k in ("data-when", "data-branch", "data-k", "data-community") if k in a)
            self._open = (a["data-key"] or "", where or "")
            self.cells[self._open] = ""

    def handle_data(self, data: str) -> None:
        if self._open:
            self.cells[self._open] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._open = None


@pytest.fixture(scope="module")
def report_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    key = folder / "secret" / "microbranch.key"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MICROBRANCH_KEY_FILE", str(key))
        db = folder / "data" / "microbranch.duckdb"
        build(db, folder)
    return db


@pytest.fixture(scope="module")
def con(report_db: Path):
    connection = storage.reader(report_db)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def html(con) -> str:
    return report.render_html(report.collect(con, MARCH, "zh", 15, time_limit=20))


@pytest.fixture(scope="module")
def pdf_text(html: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("pdf") / "report.pdf"
    report.render_pdf(html, out)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    return out, text


def pseudonyms(con) -> set[str]:
    rows = con.sql("select reader from readers union select reader from events "
                   "union select from_reader from events where from_reader is not null").fetchall()
    return {r[0] for r in rows}


def test_the_periods_compared_are_the_month_before_and_the_same_month_a_year_earlier():
    assert MARCH.date_to == date(2024, 3, 31)
    assert MARCH.previous() == report.Period(date(2024, 2, 1), date(2024, 2, 29))
    assert MARCH.year_earlier() == report.Period(date(2023, 3, 1), date(2023, 3, 31))
    span = report.Period(date(2024, 3, 10), date(2024, 3, 19))
    assert span.previous() == report.Period(date(2024, 2, 29), date(2024, 3, 9))
    with pytest.raises(ValueError, match="YYYY-MM"):
        report.Period.month("March")


def test_html_numbers_are_the_named_queries_numbers(con, html):
    parser = Cells()
    parser.feed(html)
    cells = parser.cells
    kpis = queries.run(con, "kpis", date_from=MARCH.date_from, date_to=MARCH.date_to, walk_minutes=15).row(
        0, named=True)
    assert (kpis["checkouts"], kpis["transfers"], kpis["loans"]) == (2, 1, 3)
    for key in ("branches_open", "micro_branches_open", "loans", "checkouts", "transfers", "residents_covered"):
        assert cells[(key, "now")] == f"{kpis[key]:,}", key
    assert cells[("returns_avoided", "now")] == f"{kpis['transfers']:,}"
    assert cells[("transfer_share", "now")] == f"{kpis['transfer_share']:.1%}" == "33.3%"
    assert cells[("mean_walk_minutes", "now")] == f"{kpis['mean_walk_minutes']:.1f} 分钟"
    # February 2024 and March 2023 lie before the first event (2024-03-01): their loans are unknown, not 0;
    # what the branch table says (branches open then) is still compared.
    before = queries.run(con, "kpis", date_from=date(2024, 2, 1), date_to=date(2024, 2, 29), walk_minutes=15)
    for key in ("loans", "checkouts", "transfers", "transfer_share", "returns_avoided", "active_readers"):
        assert cells[(key, "before")] == cells[(key, "year")] == "—", key
    assert cells[("branches_open", "before")] == f"{before['branches_open'].item():,}"
    for row in queries.run(con, "coverage_by_threshold", date_to=MARCH.date_to).iter_rows(named=True):
        minutes = str(row["walk_threshold"])
        assert cells[("residents_covered", minutes)] == f"{row['residents_covered']:,}"
        assert cells[("residents_covered_without_micro", minutes)] == f"{row['residents_covered_without_micro']:,}"
    cards = queries.run(con, "scorecard_by_branch", date_to=MARCH.date_to, **scorecard.targets().params())
    for row in cards.iter_rows(named=True):
        assert cells[("transfers", row["branch_id"])] == f"{row['transfers']:,}"
        assert cells[("status", row["branch_id"])] in ("已达标", "进度正常", "落后", "新开馆，暂不考核")
    uncovered = queries.run(con, "uncovered_by_community", date_to=MARCH.date_to, walk_minutes=15)
    for row in uncovered.iter_rows(named=True):
        assert cells[("population", row["community_code"])] == f"{row['population']:,}"
    assert cells[("exact_gain", "1")] and cells[("gap", "1")] == "0"
    assert not parser.scripts_with_src  # plotly.js is inside the file: it works offline
    assert "Plotly.newPlot" in html and html.count("plotly-graph-div") == 4  # trend, walk, two maps


def test_reader_counts_under_10_are_suppressed_and_no_pseudonym_is_shown(con, html, pdf_text):
    parser = Cells()
    parser.feed(html)
    assert parser.cells[("active_readers", "now")] == "<10"  # 3 readers in March
    assert parser.cells[("readers", "M1")] == "<10"  # R3
    _, text = pdf_text
    names = pseudonyms(con)
    assert len(names) > 160
    assert not [n for n in names if n in html or n in text]
    assert "RD00001" not in html and "R1" not in {w for w in text.split()}


def test_pdf_is_a4_with_chinese_text_embedded_fonts_and_the_same_numbers(con, pdf_text):
    out, text = pdf_text
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "595.92 x 842.88 pts (A4)" in info
    assert "南沙图书馆微分馆运营报告" in text and "网络概览" in text and "覆盖地图" in text
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)  # the "emb" column
    kpis = queries.run(con, "kpis", date_from=MARCH.date_from, date_to=MARCH.date_to, walk_minutes=15).row(
        0, named=True)
    loans_line = next(line for line in text.splitlines() if line.strip().startswith("借阅人次"))
    assert loans_line.split()[1] == f"{kpis['loans']:,}"
    covered = queries.run(con, "coverage_by_threshold", date_to=MARCH.date_to).filter(walk_threshold=15).row(
        0, named=True)
    assert f"{covered['residents_covered']:,}" in text
    assert "<10" in text
    # the charts are drawings whose words are text: the walk chart's axis title and the trend's legend
    assert "平均步行分钟" in text and "总馆与街镇分馆" in text


def test_the_english_report_has_every_word(con):
    html = report.render_html(report.collect(con, MARCH, "en", 15, time_limit=20))
    assert "The network at a glance" in html and "Coverage map" in html
    assert "report_" not in html.replace("microbranch_report", "") and "places_" not in html
    with pytest.raises(report.ReportError, match="zh or en"):
        report.collect(con, MARCH, "fr")


def test_the_command_line_writes_both_forms(report_db, tmp_path):
    env = {**os.environ, "MICROBRANCH_KEY_FILE": str(report_db.parent.parent / "secret" / "microbranch.key")}
    for form in ("pdf", "html"):
        out = tmp_path / f"report.{form}"
        done = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(report_db), "report", "--month",
                               "2024-03", "--lang", "zh", "--format", form, "--out", str(out), "--time-limit", "5"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == str(out)
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
    assert "南沙图书馆微分馆运营报告" in (tmp_path / "report.html").read_text(encoding="utf-8")
    bad = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(report_db), "report", "--month", "2024-13",
                          "--out", str(tmp_path / "x.pdf")], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=False)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr and "Traceback" not in bad.stderr


def test_the_report_page_offers_the_download_to_the_official(report_db, monkeypatch):
    from tests.accounts import signed_in

    monkeypatch.setenv("MICROBRANCH_DB", str(report_db))
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(report_db.parent.parent / "secret" / "microbranch.key"))
    at = signed_in(report_db, "official", "app_pages/report.py", timeout=300, to="2024-06-30")
    at.selectbox(key="report_month").set_value(date(2024, 3, 1))
    at.radio(key="report_form").set_value("html")
    at.button(key="report_make").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (download,) = at.get("download_button")
    assert download.proto.label == "下载报告"


def test_the_pdf_prints_from_a_thread_running_an_asyncio_loop(tmp_path):
    """A server's thread, or a session that already drives the browser, runs a loop: the PDF still prints."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    async def inside_a_loop() -> None:
        report.render_pdf("<html><body><p>南沙微分馆</p></body></html>", tmp_path / "loop.pdf")

    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread of its own: this one may run a loop already
        pool.submit(asyncio.run, inside_a_loop()).result()
    assert (tmp_path / "loop.pdf").read_bytes().startswith(b"%PDF")


def test_the_summary_says_in_words_what_changed_who_did_best_and_coverage(con, html):
    """March 2024 on the hand-made data: 3 loans, 1 of them a transfer (33.3%), coverage as the threshold query
    says; then the micro-branches' standing from the scorecards: the judged ones ranked by their index against
    their peers (best first, weakest last), how many are behind and how many too new to judge, and the residents
    the micro-branches bring within the walk. The same paragraph heads the report and comes from
    `report.summary_of` on its own (for a mail's body)."""
    text = report.summary_of(con, MARCH, "zh", 15)
    cards = queries.run(con, "scorecard_by_branch", date_to=MARCH.date_to, **scorecard.targets().params())
    ranked = cards.filter(cards["peer_rank"].is_not_null()).sort("peer_rank")
    covered = queries.run(con, "coverage_by_threshold", date_to=MARCH.date_to).filter(walk_threshold=15).row(
        0, named=True)
    assert text.startswith("2024-03-01 至 2024-03-31，全区分馆借阅 3 人次")
    assert "其中转借 1 次，占 33.3%" in text and f"{covered['coverage_rate']:.1%}" in text
    best, weakest = ranked["name"][0], ranked["name"][-1]
    assert f"{best} 表现最好（同类比较指数 {ranked['peer_index'][0]:.2f}）" in text
    assert f"{weakest} 最弱（{ranked['peer_index'][-1]:.2f}）" in text
    assert f"{(cards['status'] == 'new').sum()} 个微分馆开馆不久" in text
    assert f"微分馆让 {covered['residents_added_by_micro']:,} 名居民" in text
    assert escape(text) in html
    english = report.summary_of(con, MARCH, "en", 15)
    assert english.startswith("Between 2024-03-01 and 2024-03-31 the branches lent 3 times")
    assert f"{best} did best" in english and "too new to be judged" in english


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_town_is_named_and_no_page_is_nearly_empty(con, tmp_path, lang):
    """The PDF's charts keep their words as text, so every town of the data must be readable in it (the walk
    chart names each town whole, the maps name each town area), in either language; and no page but the last is
    less than a third full (measured on the page drawn by pdftoppm: the lowest inked row above the page number)."""
    from PIL import Image, ImageOps

    out = tmp_path / f"report-{lang}.pdf"
    report.render_pdf(report.render_html(report.collect(con, MARCH, lang, 15, time_limit=20)), out)
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    towns = [r[0] for r in con.sql("select distinct town_code from communities where town_code is not null").fetchall()]
    from microbranch.i18n import t

    names = [t(f"town_{code}", lang) for code in towns]
    assert names and all(name in text for name in names), [n for n in names if n not in text]
    subprocess.run(["pdftoppm", "-png", "-r", "30", str(out), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    for page in pages[:-1]:
        image = Image.open(page).convert("L")
        width, height = image.size
        body = image.crop((0, 0, width, int(height * 0.95)))  # leave out the page number in the foot
        box = ImageOps.invert(body).point(lambda v: 255 if v > 55 else 0).getbbox()  # where it is darker than 200
        full = box[3] / height if box else 0
        assert full >= 1 / 3, f"{page.name} is {full:.0%} full"


def test_a_thousand_scorecards_list_the_best_and_the_weakest_not_every_row(con):
    """With 1,000 micro-branches the report lists the 10 best and the 10 weakest ranked (and says how many are
    left out and where the full list is), and the new ones only as a count when there are more than 10."""
    built = report.collect(con, MARCH, "zh", 15, time_limit=20)
    card = next(c for c in built.cards if c.get("peer_rank"))
    ranked = [{**card, "branch_id": f"R{i:04d}", "short_name": f"R{i:04d}", "peer_rank": i + 1} for i in range(985)]
    new = [{**card, "branch_id": f"N{i:04d}", "short_name": f"N{i:04d}", "peer_rank": None, "status": "new"}
           for i in range(15)]
    many = report.Report(**{**built.__dict__, "cards": ranked + new})
    many.cards_shown = report.shown_cards(many.cards)
    parser = Cells()
    parser.feed(report.render_html(many))
    listed = [b for (key, b) in parser.cells if key == "status"]
    assert listed == [f"R{i:04d}" for i in (*range(10), *range(975, 985))]
    html = report.render_html(many)
    assert "另有 965 个微分馆未列出" in html and "另有 15 个新开馆的微分馆暂不考核" in html
    few = report.shown_cards(ranked[:20] + new[:3])
    assert [c["branch_id"] for c in few] == [c["branch_id"] for c in ranked[:20] + new[:3]]


def test_maps_of_many_branches_name_the_towns_only_and_say_where_the_names_are(con, monkeypatch):
    monkeypatch.setattr(report, "MAP_NAMES_MAX", 2)  # the hand-made data's branches count as many
    built = report.collect(con, MARCH, "zh", 15, time_limit=20, pieces=report.Pieces())
    assert built.unnamed > 2 and built.numbered == []
    html = report.render_html(built)
    assert f"图中 {built.unnamed} 个分馆只以标记表示" in html and 'id="map-numbers"' not in html


def test_maps_of_many_communities_keep_their_dots_in_the_report(con, monkeypatch):
    """The dashboard draws thousands of communities as squares (a heatmap), which the report's plotly.js lacks: a
    report of them draws dots (`report._html` refuses a map of squares)."""
    monkeypatch.setattr(mapfigure, "DOTS_MAX", 2)  # the hand-made data's communities count as many
    built = report.collect(con, MARCH, "zh", 15, time_limit=20, pieces=report.Pieces())
    assert queries.run(con, "coverage_by_community", date_to=MARCH.date_to, walk_minutes=15).height > 2
    assert 'id="figure-map"' in built.figures["map"] and 'id="figure-sites_map"' in built.figures["sites_map"]


def test_the_walk_chart_of_many_towns_draws_those_with_the_longest_walk(con, monkeypatch):
    monkeypatch.setattr(report, "TOWNS_SHOWN", 2)  # the hand-made data's three towns count as many
    built = report.collect(con, MARCH, "en", 15, time_limit=20, pieces=report.Pieces())
    towns = queries.run(con, "walk_by_town", date_to=MARCH.date_to, walk_minutes=15).filter(~pl.col("is_district"))
    longest = towns.sort("mean_walk_minutes_without_micro", descending=True, nulls_last=True)["town_code"]
    assert built.towns_left_out == 1
    from microbranch.mapfigure import _language, town_name

    with _language("en"):
        drawn, left = [town_name(c) for c in longest[:2]], town_name(longest[2])
    walk = built.figures["walk"]
    assert all(name in walk for name in drawn) and left not in walk
    assert "The 2 towns with the longest mean walk" in report.render_html(built)


def test_the_report_carries_the_plotly_js_its_charts_are_written_for(html):
    """The basic bundle inlined is the plotly.js version plotly writes the figures for; a chart of a trace type it
    does not draw is refused, not left blank."""
    import plotly.graph_objects as go
    import plotly.offline

    bundle = report.PLOTLY_BASIC.read_text(encoding="utf-8")
    assert f"plotly.js (basic - minified) v{plotly.offline.get_plotlyjs_version()}\n" in bundle[:200]
    assert bundle in html and len(html) < 2 * len(bundle)
    with pytest.raises(report.ReportError, match="scattergl"):
        report._html(go.Figure(go.Scattergl(x=[1], y=[1])), "gl")
