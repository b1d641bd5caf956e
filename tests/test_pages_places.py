"""The branch map and residents pages in Streamlit's AppTest on the hand-made geography of test_places:
no exception, the numbers shown are the named queries' numbers, the map is offline (or on configured
tiles, shifted to GCJ-02 when they say so), and the district official sees `<10` where due."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from microbranch import coverage, geo, mapfigure, queries, settings, storage
from microbranch.i18n import t
from tests.accounts import signed_in
from tests.test_places import build
from ui import maps

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
DAY = date(2024, 6, 30)  # the period's end set in the URL (the data's last event is on 2024-07-10)


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    path = tmp_path / "data" / "microbranch.duckdb"
    build(path, tmp_path)
    monkeypatch.setenv("MICROBRANCH_DB", str(path))
    for name in ("MICROBRANCH_TILE_URL", "MICROBRANCH_TILE_CRS"):
        monkeypatch.delenv(name, raising=False)
    return path


def run(page: str, role: str | None = None, **params: str) -> AppTest:
    """`page` signed in as `role` (None: the single local user, who has every role)."""
    return signed_in(settings.current().db, role, page, **{"to": DAY.isoformat(), **params})


def query(db: Path, name: str, **params: object):
    con = storage.reader(db)
    try:
        return queries.run(con, name, **params)
    finally:
        con.close()


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def table(at: AppTest, first_header: str, *more: str):
    """The shown table whose headers start with these (as pandas, as AppTest gives it)."""
    wanted = [first_header, *more]
    for frame in at.dataframe:
        if list(frame.value.columns[: len(wanted)]) == wanted:
            return frame.value
    raise AssertionError(f"no table with headers {wanted}; have {[list(f.value.columns) for f in at.dataframe]}")


def zh(key: str) -> str:
    return t(key, "zh")


def test_branch_map_draws_every_branch_offline_with_the_query_numbers(db):
    at = run("app_pages/branch_map.py")
    shown = table(at, zh("places_name"), zh("loans"))  # the key columns first
    rows = query(db, "branches_by_loans", date_to=DAY, walk_minutes=15)
    assert shown[zh("places_branch_id")].tolist() == rows["branch_id"].to_list()
    assert shown[zh("loans")].tolist() == rows["loans"].to_list() == [2, 0, 1, 0, 0, 0]
    assert shown[zh("served_residents")].tolist() == rows["served_residents"].to_list()
    assert shown[zh("places_status")].tolist() == [zh("places_status_open"), zh("places_status_closed"),
                                                  zh("places_status_open"), zh("places_status_not_public"),
                                                  zh("places_status_open"), zh("places_status_not_open_yet")]

    (fig,) = figures(at)
    layout = fig["layout"]
    assert "map" not in layout and not layout.get("images")  # plain axes, no tiles configured: offline
    assert layout["showlegend"] and layout["yaxis"]["scaleanchor"] == "x"
    traces = {tr.get("name"): tr for tr in fig["data"] if tr.get("showlegend", True)}
    # town areas: named on the map, not in the legend (a short legend: colours and circles only)
    names = [t.removeprefix("<b>").removesuffix("</b>") for tr in fig["data"] if tr.get("mode") == "text"
             for t in tr["text"]]
    assert {"南沙街道", "珠江街道", "龙穴街道"} <= set(names)
    assert zh("places_towns_legend") not in traces and len(traces) <= 10
    drawn = {tr["name"]: len(tr["x"]) for tr in fig["data"] if tr.get("mode", "").startswith("markers")
             and tr.get("name") and tr["x"] != [None]}
    assert drawn[zh("places_communities_legend")] == 9
    # every branch is drawn once: C0 central, M1 community, M2 school, M4 enterprise; B3 and M5 in grey
    branch_points = sum(n for name, n in drawn.items() if name != zh("places_communities_legend"))
    assert branch_points == rows.height == 6
    assert drawn[zh("places_branches_closed_legend")] == 2
    assert zh("places_ring_legend").format(minutes=15) in traces  # the threshold's circles by default
    assert any(tr.get("name", "").startswith(zh("places_scale_bar").split("{")[0]) for tr in fig["data"])
    rings = next(i for i, tr in enumerate(fig["data"]) if tr.get("name") == zh("places_ring_legend").format(minutes=15))
    assert all(i < rings for i, tr in enumerate(fig["data"]) if tr.get("mode", "").startswith("markers+text"))
    central = traces[zh("kind_central")]
    x, y = maps.mercator([22.80], [113.50])
    assert central["x"][0] == pytest.approx(x[0]) and central["y"][0] == pytest.approx(y[0])
    assert central["marker"]["symbol"] == ["star"] and central["text"] == ["Central"]
    micro = traces[f"{zh('kind_micro')} · {zh('host_community')}"]["text"][0]  # its name, or a number and a key
    assert micro == "Micro community" or any(f"{micro} Micro community" in c.value for c in at.caption)
    assert central["customdata"][0][6] == 2 and central["customdata"][0][7] == 3000  # loans, served residents
    # no setting's name is shown to the user
    assert not [c.value for c in at.caption if "MICROBRANCH" in c.value]


def test_a_map_of_more_branches_than_it_can_name_names_the_towns_and_says_so(db, monkeypatch):
    monkeypatch.setattr(mapfigure, "NAMES_MAX", 5)  # the hand-made data's six branches count as many
    at = run("app_pages/branch_map.py")
    (fig,) = figures(at)
    branch_traces = [tr for tr in fig["data"] if tr.get("customdata") and len(tr["customdata"][0]) > 5]
    assert sum(len(tr["x"]) for tr in branch_traces) == 6
    assert all(tr["mode"] == "markers" for tr in branch_traces)  # no names, no numbers
    towns = [t for tr in fig["data"] if tr.get("mode") == "text" for t in tr["text"]]
    assert "<b>南沙街道</b>" in towns
    captions = [c.value for c in at.caption]
    assert zh("places_map_unnamed").format(n="6") in captions
    assert not any(c.startswith(zh("report_map_numbers")) for c in captions)


def test_a_map_of_more_communities_than_it_dots_draws_squares_weighted_by_population(db, monkeypatch, request):
    monkeypatch.setattr(mapfigure, "DOTS_MAX", 3)  # the hand-made data's communities count as many
    monkeypatch.setattr(mapfigure, "CELL_PX", 120)  # squares wide enough to hold several communities
    st.cache_resource.clear()  # figures of the same rows are shared: not the dotted map of an earlier test, nor after
    request.addfinalizer(st.cache_resource.clear)
    at = run("app_pages/branch_map.py", walk="15")
    (fig,) = figures(at)
    (grid,) = [tr for tr in fig["data"] if tr.get("type") == "heatmap"]
    assert not [tr for tr in fig["data"] if tr.get("name") == zh("places_communities_legend") and "x" in tr]
    # a short walk pale, a long one dark, whichever plotly.js draws it (its own "YlOrRd" runs the other way)
    (low, pale), (high, dark) = grid["colorscale"][0], grid["colorscale"][-1]
    assert (low, high) == (0, 1) and sum(map(int, pale[4:-1].split(","))) > sum(map(int, dark[4:-1].split(",")))
    communities = query(db, "coverage_by_community", date_to=DAY, walk_minutes=15)
    x0, y0, cell = fig["layout"]["xaxis"]["range"][0], fig["layout"]["yaxis"]["range"][0], grid["dx"]
    assert grid["dy"] == cell and (grid["x0"], grid["y0"]) == pytest.approx((x0 + cell / 2, y0 + cell / 2))
    xs, ys = maps.mercator(communities["lat"].to_list(), communities["lon"].to_list())
    expected: dict[tuple[int, int], list[tuple[str, int, float]]] = {}
    for x, y, name, people, walk in zip(xs, ys, communities["name"], communities["population"],
                                        communities["walk_minutes"], strict=True):
        expected.setdefault((int((y - y0) // cell), int((x - x0) // cell)), []).append((name, people, walk))
    drawn = {(i, j): v for i, row in enumerate(grid["z"]) for j, v in enumerate(row) if v is not None}
    assert drawn.keys() == expected.keys() and any(len(v) > 1 for v in expected.values())
    for (i, j), members in expected.items():
        people = sum(p for _, p, _ in members)
        assert drawn[i, j] == pytest.approx(sum(p * w for _, p, w in members) / people, abs=0.01)
        hover = grid["text"][i][j]
        assert f"{zh('places_population')}: {people:,}" in hover
        assert (members[0][0] in hover) if len(members) == 1 else zh("places_grid_communities").format(
            n=len(members)) in hover


def test_short_names_drop_the_library_name_and_the_word_for_branch():
    assert maps.short_name("南沙图书馆鱼窝头社区微分馆", "南沙图书馆") == "鱼窝头社区"
    assert maps.short_name("南沙图书馆南沙街道分馆", "南沙图书馆") == "南沙街道"
    assert maps.short_name("南沙图书馆", "南沙图书馆") == "南沙图书馆"
    assert maps.short_name("鱼窝头社区微分馆", None) == "鱼窝头社区"


def test_branch_map_on_gcj02_tiles_shifts_the_points(db, monkeypatch):
    monkeypatch.setenv("MICROBRANCH_TILE_URL", "https://tiles.example/{z}/{x}/{y}.png")
    monkeypatch.setenv("MICROBRANCH_TILE_CRS", "gcj02")
    at = run("app_pages/branch_map.py", walk="5")
    (fig,) = figures(at)
    images = fig["layout"]["images"]
    assert images and all(i["source"].startswith("https://tiles.example/") and i["layer"] == "below"
                          for i in images)
    central = next(tr for tr in fig["data"] if tr.get("name") == zh("kind_central"))
    x, y = maps.mercator(*[[v] for v in geo.wgs84_to_gcj02(22.80, 113.50)])
    assert central["x"][0] == pytest.approx(x[0], abs=1e-6) and central["y"][0] == pytest.approx(y[0], abs=1e-6)
    assert not [c.value for c in at.caption if "MICROBRANCH" in c.value or "tiles.example" in c.value]


def test_residents_page_shows_the_named_queries_numbers(db):
    at = run("app_pages/residents.py")
    metrics = {m.label: m for m in at.metric}
    for row in query(db, "coverage_by_threshold", date_to=DAY).iter_rows(named=True):
        card = metrics[zh("places_coverage_at").format(minutes=row["walk_threshold"])]
        assert card.value == f"{row['residents_covered']:,}"
    assert [metrics[zh("places_coverage_at").format(minutes=m)].value for m in (5, 10, 15)] == [
        "1,600", "3,600", "6,600"]
    district = query(db, "walk_by_town", date_to=DAY, walk_minutes=15).filter(is_district=True).row(0, named=True)
    assert metrics[zh("places_walk_now")].value == f"{district['mean_walk_minutes']:.1f} 分钟"
    assert metrics[zh("places_walk_before")].value == f"{district['mean_walk_minutes_without_micro']:.1f} 分钟"

    towns = table(at, zh("places_town"), zh("coverage_rate"))
    assert towns[zh("places_town")].tolist() == ["南沙街道", "珠江街道", "龙穴街道"]
    assert towns[zh("residents_covered")].tolist() == [6000, 600, 0]

    served = table(at, zh("places_name"), zh("residents_within_walk"))
    expected = query(db, "served_by_branch", date_to=DAY, walk_minutes=15)
    assert served[zh("places_branch_id")].tolist() == expected["branch_id"].to_list() == ["C0", "M1", "M4", "M2"]
    assert served[zh("served_residents")].tolist() == [3000, 3000, 600, 0]
    assert served[zh("residents_within_walk")].tolist() == expected["residents_within_walk"].to_list()
    assert list(served.columns).index(zh("residents_within_walk")) < list(served.columns).index(
        zh("served_residents"))  # both ways, named, side by side
    assert served[zh("places_host_population")].fillna(-1).tolist() == [-1, -1, 2500, 800]

    uncovered = table(at, zh("places_rank"), zh("places_name"), zh("places_population"))
    assert uncovered[zh("places_population")].tolist() == [5000, 4000, 3500, 2100, 2000]

    # next sites, k = 3 by default: K5, K7 (with K8), K4, the exact sites in candidate order (greedy's
    # order is K5, K7, K4) — and the "today + suggestions" side
    sites = table(at, zh("places_step"), zh("places_site_id"))
    assert sites[zh("places_name")].tolist() == ["K4", "K5", "K7"]
    assert sites[zh("places_gain")].tolist() == [4000, 5000, 4100]
    covered_cards = [m.value for m in at.metric if m.label == zh("residents_covered")]
    assert covered_cards == ["6,600", "19,700"]
    assert len(figures(at)) == 1  # the walk chart; the two maps are drawn when their box is opened
    at.session_state["residents_maps"] = True
    at.run()
    assert not at.exception
    assert len(figures(at)) == 3  # the walk chart and the two maps
    after = figures(at)[2]
    assert any(tr.get("name") == zh("places_sites_legend") for tr in after["data"])
    assert all(f["layout"]["showlegend"] for f in figures(at)[1:])  # both next-site maps have a legend

    at.slider(key="next_k").set_value(5).run()
    assert not at.exception
    sites = table(at, zh("places_step"), zh("places_site_id"))
    assert sites[zh("places_name")].tolist() == ["K4", "K5", "K7", "K9"]  # nobody left after 4
    assert any(zh("places_next_fewer").format(found=4) == i.value for i in at.info)


def test_residents_at_10_minutes_follow_the_threshold(db):
    at = run("app_pages/residents.py", walk="10")
    served = table(at, zh("places_name"), zh("residents_within_walk"))
    assert served[zh("served_residents")].tolist() == [3000, 600, 0, 0]  # C0 K1+K2, M4 K6; K3 too far
    communities = query(db, "coverage_by_community", date_to=DAY, walk_minutes=10)
    picks = coverage.next_sites(communities, 3, 10)
    sites = table(at, zh("places_step"), zh("places_site_id"))
    assert sorted(sites[zh("places_name")].tolist()) == sorted(picks["name"].to_list()) == ["K4", "K5", "K9"]


def test_the_official_sees_small_reader_counts_suppressed(db):
    at = run("app_pages/residents.py", role="official")
    by_town = table(at, zh("places_town"), zh("places_population"), zh("places_readers"))
    assert by_town[zh("places_readers")].tolist() == ["x", "<10", "120", "165"]
    assert by_town[zh("places_town")].tolist()[-1] == zh("places_district")
    by_community = table(at, zh("places_name"), zh("penetration"))
    assert by_community[zh("places_readers")].tolist() == ["x", "<10", "25", "0", "<10", "0", "30", "40", "50"]
    assert by_community[zh("penetration")].tolist()[:3] == ["x", "<10", "8.3"]
    assert any(zh("places_suppressed_note") == c.value for c in at.caption)
    # residents are not suppressed
    assert by_community[zh("places_population")].tolist()[:2] == [1000, 2000]


def test_the_manager_sees_the_reader_counts(db):
    at = run("app_pages/residents.py", role="manager")
    by_community = table(at, zh("places_name"), zh("penetration"))
    assert by_community[zh("places_readers")].tolist() == [12, 3, 25, 0, 5, 0, 30, 40, 50]
    assert not any(zh("places_suppressed_note") == c.value for c in at.caption)


@pytest.mark.parametrize("page", ["app_pages/branch_map.py", "app_pages/residents.py"])
def test_english_has_every_word(db, page):
    at = run(page, lang="en")
    texts = [e.value for kind in ("title", "subheader", "caption", "markdown", "info") for e in at.get(kind)]
    texts += [m.label for m in at.metric] + [str(c) for f in at.dataframe for c in f.value.columns]
    assert texts and not [s for s in texts if "places_" in s or "town_44" in s]
    assert any("Residents" in s or "Branch" in s for s in texts)


def test_coverage_without_micro_is_a_percent_like_the_caption_above(db):
    """On the hand-made geography the 15-minute coverage without micro-branches is a share (0 to 1) in the
    query; the caption above the table prints it as a percent, so the table's column must show a percent too
    (a share printed with "%.1f" showed 0.0 / 0.1 / 0.2 under a caption saying 2.8% / 8.2% / 20.3%)."""
    at = run("app_pages/residents.py")
    rows = query(db, "coverage_by_threshold", date_to=DAY)
    heading = zh("places_coverage_rate_without_micro")
    (element,) = [f for f in at.dataframe if heading in list(f.value.columns)]
    config = json.loads(element.proto.columns)
    assert config[heading]["type_config"]["format"] == "percent"
    assert config[zh("coverage_rate")]["type_config"]["format"] == "percent"
    captions = [c.value for c in at.caption]
    for rate in rows["coverage_rate_without_micro"].to_list():
        assert any(f"{rate:.1%}" in c for c in captions)
    # the grid holds the share rounded as the caption writes it (its format would cut 2.78% to 2.7%)
    shown = element.value[heading].tolist()
    assert [f"{v:.1%}" for v in shown] == [f"{r:.1%}" for r in rows["coverage_rate_without_micro"].to_list()]
    assert shown == [round(r, 3) for r in rows["coverage_rate_without_micro"].to_list()]
