"""The branch map and the walk chart as plotly figures, in either language: one drawing for the pages and
the district report.

The map needs no network and no map library: it is drawn on plain plotly axes in Web Mercator metres, so
town names, branch labels, the legend and the scale bar are ordinary text, and the same figure prints as an
image in the report. Street tiles (an administrator's setting, see docs/guide.md, "Street tiles") are drawn as
images under the data; tiles of Chinese web maps are in GCJ-02, so the WGS-84 points are shifted for them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl
from plotly.colors import sequential

from microbranch import coverage, geo
from microbranch.i18n import entries, t

_LANG: ContextVar[str] = ContextVar("figure_lang", default="zh")


def tr(key: str, **fmt: object) -> str:
    """A word in the language of the figure being drawn."""
    return t(key, _LANG.get(), **fmt)


@contextmanager
def _language(lang: str) -> Iterator[None]:
    token = _LANG.set(lang)
    try:
        yield
    finally:
        _LANG.reset(token)


HOSTS = ("enterprise", "school", "community", "institution", "other")
COLOURS = {
    "central": "#1b2a49",
    "branch": "#2f6fdb",
    "micro_enterprise": "#7b3fbf",
    "micro_school": "#1a9e77",
    "micro_community": "#d6336c",
    "micro_institution": "#0f8ea8",
    "micro_other": "#8d6e63",
    "closed": "#a0a0a0",
}
TOWN_FILLS = ("#dbe8f7", "#e6f2df", "#f6e7d8", "#ece0f4", "#f9f1cf", "#dcefee", "#f6dfe4", "#e4e4ef", "#efe9df")
RING_COLOURS = {5: "#212529", 10: "#495057", 15: "#868e96"}
# ColorBrewer's YlOrRd as plotly.py has it, pale at 0 minutes: plotly.js's own "YlOrRd" runs the other way, and
# Streamlit's charts and the report's page would then shade the same walk differently
WALK_SCALE = [[i / (len(sequential.YlOrRd) - 1), c] for i, c in enumerate(sequential.YlOrRd)]
WALK_MAX = 45  # the colour scale's top (minutes); farther communities share the darkest colour
SITE_COLOUR = "#e8590c"
SYMBOLS = {"central": "star", "branch": "square", "micro": "circle"}
MERCATOR_R = 6378137.0


@dataclass(frozen=True)
class Tiles:
    url: str
    crs: str = "wgs84"
    attribution: str = ""


def town_name(code: object) -> str:
    """The town's name from the catalogue (`town_<code>`), or the code itself for a town not listed."""
    key = f"town_{code}"
    return tr(key) if key in entries() else str(code or "—")


def category(kind: str | None, host_type: str | None, status: str | None) -> str:
    """The colour group of a branch: closed (or not yet open), central, branch, or micro by host type."""
    if status in ("closed", "not_open_yet"):
        return "closed"
    if kind == "micro":
        return f"micro_{host_type if host_type in HOSTS else 'other'}"
    return kind if kind in ("central", "branch") else "branch"


def category_label(cat: str) -> str:
    if cat == "closed":
        return tr("places_branches_closed_legend")
    if cat.startswith("micro_"):
        return f"{tr('kind_micro')} · {tr('host_' + cat.removeprefix('micro_'))}"
    return tr(f"kind_{cat}")


def _shifter(t: Tiles | None) -> Callable[[float, float], tuple[float, float]]:
    if t is not None and t.crs == "gcj02":
        return geo.wgs84_to_gcj02
    return lambda lat, lon: (lat, lon)


def _shift(frame: pl.DataFrame, move: Callable[[float, float], tuple[float, float]]) -> pl.DataFrame:
    if frame.is_empty():
        return frame
    moved = [move(a, o) for a, o in zip(frame["lat"].to_list(), frame["lon"].to_list(), strict=True)]
    return frame.with_columns(pl.Series("lat", [m[0] for m in moved]), pl.Series("lon", [m[1] for m in moved]))


# --- The offline map: Web Mercator metres on plain axes, so that labels, legend and static images need no
# --- map library, no glyph server and no WebGL; street tiles (when configured) are images on the same axes.

def mercator(lats: Sequence[float | None], lons: Sequence[float | None]) -> tuple[list, list]:
    """Web Mercator (EPSG:3857) metres of (lat, lon) points, to the decimetre (what a browser is sent of thousands of
    points: 17 digits each otherwise); None stays None (gaps between rings)."""
    xs = [None if o is None else round(MERCATOR_R * math.radians(o), 1) for o in lons]
    ys = [None if a is None else round(MERCATOR_R * math.log(math.tan(math.pi / 4 + math.radians(a) / 2)), 1)
          for a in lats]
    return xs, ys


def short_name(name: str | None, central: str | None) -> str:
    """A branch's label on the map: its name less the central library's name in front and the word for
    (micro-)branch at the end ("南沙图书馆鱼窝头社区微分馆" -> "鱼窝头社区"); the central library keeps its name."""
    text = str(name or "")
    if central and text.startswith(central) and len(text) > len(central):
        text = text[len(central):]
    for suffix in ("微分馆", "分馆"):
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)]
    return text


def _scatter(**props: object) -> go.Scatter:
    """A map's trace, made by this module from its own frames, without plotly's check of each property: the check
    walks every point, half of a 5,000-community map's making."""
    return go.Scatter(**props, _validate=False)


def _scale_bar(xs: Sequence[float], ys: Sequence[float], lat0: float) -> list[go.Scatter]:
    """A bar of a round number of kilometres at the lower left, with its length written above it."""
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    stretch = 1 / math.cos(math.radians(lat0))  # Mercator metres per ground metre at this latitude
    target_km = (x1 - x0) / stretch / 1000 / 5
    km = next((k for k in (50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1) if k <= target_km), 0.1)
    y = y0 - 0.05 * max(y1 - y0, 1000)
    tick = 0.015 * max(y1 - y0, 1000)
    end = x0 + km * 1000 * stretch
    name = tr("places_scale_bar", km=f"{km:g}")
    return [_scatter(x=[x0, x0, end, end], y=[y + tick, y, y, y + tick], mode="lines", name=name,
                     line={"color": "#212529", "width": 3}, hoverinfo="name", showlegend=False),
            _scatter(x=[(x0 + end) / 2], y=[y + 1.8 * tick], mode="text", text=[f"{km:g} km"], hoverinfo="skip",
                     textfont={"size": 11, "color": "#212529"}, showlegend=False)]


TOWN_SIZE = 13


def _town_points(communities: pl.DataFrame, south: bool = False) -> pl.DataFrame:
    """Where each town's name goes: above the town's northernmost community, clear of the branches in the middle
    (`south`: its southernmost, where the north has no room)."""
    return communities.filter(pl.col("town_code").is_not_null()).sort("lat", descending=not south).group_by(
        "town_code", maintain_order=True).first().sort("town_code")


def _town_traces(communities: pl.DataFrame, places: Sequence[str | None] | None = None,
                 points: pl.DataFrame | None = None, filled: bool = True) -> list[go.Scatter]:
    """Town areas (pale fills unless not `filled`, dotted outlines) with the town's name near its northernmost
    community, or at `points` (`places`: where each name goes beside its point, from `place_labels`)."""
    areas = coverage.town_areas(communities)
    traces: list[go.Scatter] = []
    for i, (town, ring) in enumerate(areas.items()):
        xs, ys = mercator([p[0] for p in ring], [p[1] for p in ring])
        traces.append(_scatter(
            x=xs, y=ys, mode="lines", fill="toself" if filled else "none",
            fillcolor=TOWN_FILLS[i % len(TOWN_FILLS)], opacity=0.7,
            line={"color": "#7a8ca3", "width": 1, "dash": "dot"}, name=tr("places_towns_legend"),
            legendgroup="towns", showlegend=False, hoverinfo="text", text=town_name(town)))
    if areas:
        top = points if points is not None else _town_points(communities)
        places = list(places) if places is not None else ["top center"] * top.height
        xs, ys = mercator(top["lat"].to_list(), top["lon"].to_list())
        traces.append(_scatter(
            x=xs, y=ys, mode="text", text=[f"<b>{town_name(t)}</b>" for t in top["town_code"].to_list()],
            textposition=[p or "top center" for p in places],
            textfont={"size": TOWN_SIZE, "color": "#3d4f66", "shadow": "auto"},
            hoverinfo="skip", showlegend=False, legendgroup="towns"))
    return traces


def _walk_colorbar() -> dict:
    """The walk minutes' colour bar at the map's right, as dots and squares both draw it."""
    return {"title": {"text": tr("walk_minutes")}, "thickness": 12, "len": 0.6, "x": 1.0, "y": 0.5}


def _community_trace(communities: pl.DataFrame, colorbar: bool) -> go.Scatter:
    walk = communities["walk_minutes"].fill_null(WALK_MAX).to_list()
    without = communities["walk_minutes_without_micro"].to_list() if (
        "walk_minutes_without_micro" in communities.columns) else [None] * communities.height
    def tenth(v: float | None) -> float | None:  # what the hover shows (`:.1f` rounds the same way)
        return None if v is None else round(v, 1)

    custom = [[n, town_name(t), p, tenth(w), tenth(wo)] for n, t, p, w, wo in zip(
        communities["name"].to_list(), communities["town_code"].to_list(), communities["population"].to_list(),
        communities["walk_minutes"].to_list(), without, strict=True)]
    pops = communities["population"].fill_null(0).to_list()
    top = max(pops, default=0) or 1
    xs, ys = mercator(communities["lat"].to_list(), communities["lon"].to_list())
    return _scatter(
        x=xs, y=ys, mode="markers", name=tr("places_communities_legend"), customdata=custom,
        marker={"size": [round(5 + 7 * math.sqrt(p / top), 1) for p in pops], "color": [round(w, 2) for w in walk],
                "colorscale": WALK_SCALE, "cmin": 0, "cmax": WALK_MAX, "opacity": 0.85, "showscale": colorbar,
                "line": {"width": 0},
                "colorbar": _walk_colorbar()},
        hovertemplate=(
            "<b>%{customdata[0]}</b><br>" + tr("places_town") + ": %{customdata[1]}<br>"
            + tr("places_population") + ": %{customdata[2]:,}<br>"
            + tr("walk_minutes") + ": %{customdata[3]:.1f}<br>"
            + tr("places_walk_without_micro") + ": %{customdata[4]:.1f}"
            + "<extra></extra>"
        ),
        legendrank=900,
    )


DOTS_MAX = 1500  # communities drawn as dots up to this many; beyond, as squares of CELL_PX (`_community_grid`)
CELL_PX = 6


def _community_grid(communities: pl.DataFrame, colorbar: bool, view: Box, scale: float) -> go.Heatmap:
    """The communities as squares of `CELL_PX` pixels, each coloured by its communities' walk minutes weighted by
    population. A dot per community costs the browser's drawing about 0.12 ms (0.6 s of a 5,000-community map's
    1 s); the squares are one image. A square's hover names its community, or counts its communities."""
    cell = CELL_PX / scale
    xs, ys = mercator(communities["lat"].to_list(), communities["lon"].to_list())
    pop, walk = pl.col("population").fill_null(0), pl.col("walk_minutes")  # no walk: no open branch to walk to
    weighed = pop.filter(walk.is_not_null()).sum()
    cells = communities.with_columns(
        i=((pl.Series(ys) - view[2]) / cell).floor().cast(pl.Int32),
        j=((pl.Series(xs) - view[0]) / cell).floor().cast(pl.Int32),
    ).group_by("i", "j").agg(
        n=pl.len(), people=pop.sum(), longest=walk.max(), name=pl.col("name").first(),
        town=pl.col("town_code").first(),
        walk=pl.when(weighed > 0).then((walk * pop).sum() / weighed).otherwise(walk.mean()),
    )
    rows, cols = int((view[3] - view[2]) / cell) + 1, int((view[1] - view[0]) / cell) + 1
    z: list[list[float | None]] = [[None] * cols for _ in range(rows)]
    text: list[list[str]] = [[""] * cols for _ in range(rows)]

    def minutes(v: float | None) -> str:
        return "—" if v is None else f"{v:.1f}"

    for i, j, n, people, longest, name, town, w in cells.iter_rows():
        z[i][j] = WALK_MAX if w is None else round(w, 2)  # drawn as the dots are: no walk, the far end's colour
        text[i][j] = "<br>".join(
            [f"<b>{name}</b>", f"{tr('places_town')}: {town_name(town)}", f"{tr('places_population')}: {people:,}",
             f"{tr('walk_minutes')}: {minutes(w)}"] if n == 1 else
            [f"<b>{tr('places_grid_communities', n=n)}</b>", f"{tr('places_population')}: {people:,}",
             f"{tr('places_walk_weighted')}: {minutes(w)}", f"{tr('places_walk_longest')}: {minutes(longest)}"])
    return go.Heatmap(
        z=z, text=text, x0=view[0] + cell / 2, dx=cell, y0=view[2] + cell / 2, dy=cell, hoverongaps=False,
        hovertemplate="%{text}<extra></extra>", colorscale=WALK_SCALE, zmin=0, zmax=WALK_MAX, opacity=0.85,
        showscale=colorbar, name=tr("places_communities_legend"), showlegend=True, legendrank=900,
        colorbar=_walk_colorbar(), _validate=False)


POSITIONS = ("top center", "bottom center", "middle right", "middle left", "top right", "top left",
             "bottom right", "bottom left")
LABEL_SIZE = 10
NAMES_MAX = 80  # a map names its branches up to this many; beyond, only the towns (no one reads a thousand names)
LABEL_GAP = 3  # px kept clear around a placed name
TOWN_OFFSET = 0.0  # a text-only trace draws its words right at the point (measured in chromium)
LEGEND_ROW = 19  # px a row of the legend takes
LEGEND_ENTRY = 190  # px of an entry's text, so a row holds width // (LEGEND_ENTRY + 80) entries


def _legend_px(entries: int, width: int) -> int:
    per_row = max(1, width // (LEGEND_ENTRY + 80))
    return LEGEND_ROW * math.ceil(entries / per_row) + 12
COLORBAR_PX = 80


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """Pixels a label takes: a CJK character about its font size, others a little over half (more in bold)."""
    latin = 0.7 if bold else 0.6
    return sum(size if ord(ch) >= 0x2E80 else latin * size for ch in text)


def _label_box(pos: str, cx: float, cy: float, r: float, w: float, h: float) -> tuple[float, float, float, float]:
    vertical, horizontal = pos.split()
    x0 = {"center": cx - w / 2, "right": cx + r, "left": cx - r - w}[horizontal]
    y0 = {"top": cy + r, "bottom": cy - r - h, "middle": cy - h / 2}[vertical]
    return x0, x0 + w, y0, y0 + h


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


Box = tuple[float, float, float, float]


def place_labels(xs: Sequence[float], ys: Sequence[float], sizes: Sequence[float], texts: Sequence[str],
                 scale: float, bounds: Box, taken: list[Box] | None = None, font: float = LABEL_SIZE,
                 obstacles: Sequence[Box] = (), bold: bool = False, must: bool = False) -> list[str | None]:
    """Where each label goes beside its marker (a plotly textposition), or None where every place would cover
    another label or marker or leave the drawing. `scale`: pixels per metre; `bounds`: the view in metres;
    `taken`: labels placed before (pixels; the new ones are added); `obstacles`: other markers (pixels); `must`:
    the name is written anyway (a town's), where it covers no other name if it can. The points listed first choose
    first."""
    taken = [] if taken is None else taken
    px = [((x - bounds[0]) * scale, (y - bounds[2]) * scale) for x, y in zip(xs, ys, strict=True)]
    width, height = (bounds[1] - bounds[0]) * scale, (bounds[3] - bounds[2]) * scale
    markers = [(cx - s / 2, cx + s / 2, cy - s / 2, cy + s / 2) for (cx, cy), s in zip(px, sizes, strict=True)]
    out: list[str | None] = []
    for i, ((cx, cy), size, text) in enumerate(zip(px, sizes, texts, strict=True)):
        w, h = _text_width(text, font, bold) + 4, font * 1.55  # the drawn line box of CJK text is 1.5 its size
        boxes = [(pos, _label_box(pos, cx, cy, size / 2 + 1, w, h)) for pos in POSITIONS]
        inside = [(pos, b) for pos, b in boxes if b[0] >= 0 and b[1] <= width and b[2] >= 0 and b[3] <= height]
        clear = [(pos, b) for pos, b in inside if not any(_overlaps(b, t) for t in taken)]
        free = [(pos, b) for pos, b in clear if not any(_overlaps(b, m) for j, m in enumerate(markers) if j != i)
                and not any(_overlaps(b, m) for m in obstacles)]
        # a name that must be written (`must`) goes where it covers no other name, else anywhere inside
        pick = free[0] if free else (clear or inside or [None])[0] if must else None
        chosen = pick[0] if pick else None
        if pick:  # kept with a margin: the drawn text is a few pixels off the estimate
            x0, x1, y0, y1 = pick[1]
            taken.append((x0 - LABEL_GAP, x1 + LABEL_GAP, y0 - LABEL_GAP, y1 + LABEL_GAP))
        out.append(chosen)
    return out


def _place_towns(north: pl.DataFrame, south: pl.DataFrame, scale: float, view: Box, taken: list[Box],
                 marks: list[Box]) -> tuple[pl.DataFrame, list[str | None]]:
    """Each town's name above its northernmost community where it covers no other name or branch, else by its
    southernmost, else written at the north anyway (a town's name is always shown). The points chosen and places."""
    points, places = [], []
    for i in range(north.height):
        name = [town_name(north["town_code"][i])]
        for candidate, must in ((north, False), (south, False), (north, True)):
            x, y = mercator([candidate["lat"][i]], [candidate["lon"][i]])
            # a text-only trace draws its words close to the point (measured in chromium); bold words are wider
            place = place_labels(x, y, [TOWN_OFFSET], name, scale, view, taken, TOWN_SIZE * 1.05, obstacles=marks,
                                 bold=True, must=must)[0]
            if place:
                points.append(candidate.row(i, named=True))
                places.append(place)
                break
    return pl.DataFrame(points, schema=north.schema), places


def _branch_frame(branches: pl.DataFrame) -> pl.DataFrame:
    """The branches with their colour group, marker size and label, the largest first."""
    loans = branches["loans"].fill_null(0).to_list()
    top = max(loans, default=0) or 1
    central = next(iter(branches.filter(pl.col("kind") == "central")["name"].to_list()), None)
    return branches.with_columns(
        pl.Series("cat", [category(k, h, s) for k, h, s in zip(
            branches["kind"].to_list(), branches["host_type"].to_list(), branches["status"].to_list(),
            strict=True)]),
        pl.Series("size", [9 + 20 * math.sqrt(max(v, 0) / top) for v in loans]),
        pl.Series("label", [short_name(n, central) for n in branches["name"].to_list()]),
    ).sort("size", descending=True)


def _branch_traces(frame: pl.DataFrame, labels: bool, places: Sequence[str | None]) -> list[go.Scatter]:
    """One trace per colour group (kind, host type, closed), symbols by kind, short names beside where
    `places` (from `place_labels`) found them room. `frame`: from `_branch_frame`."""
    if frame.is_empty():
        return []
    frame = frame.with_columns(pl.Series("place", places, dtype=pl.String))
    within = "residents_within_walk" in frame.columns
    hover = (
        "<b>%{customdata[0]}</b><br>" + tr("places_kind") + ": %{customdata[1]}<br>"
        + tr("places_host_type") + ": %{customdata[2]}<br>" + tr("places_status") + ": %{customdata[3]}<br>"
        + tr("places_opened_on") + ": %{customdata[4]}<br>" + tr("places_volumes") + ": %{customdata[5]:,}<br>"
        + tr("loans") + ": %{customdata[6]:,}<br>" + tr("served_residents") + ": %{customdata[7]:,}"
        + (("<br>" + tr("residents_within_walk") + ": %{customdata[8]:,}") if within else "")
        + "<extra></extra>"
    )
    traces = []
    for cat in COLOURS:
        part = frame.filter(pl.col("cat") == cat)
        if part.is_empty():
            continue
        custom = [
            [n, tr(f"kind_{k}") if k else "—", tr(f"host_{h}") if h in HOSTS else tr("places_host_none"),
             tr(f"places_status_{s}"), str(o) if o else "—", v or 0, ln, sr, rw]
            for n, k, h, s, o, v, ln, sr, rw in zip(
                part["name"].to_list(), part["kind"].to_list(), part["host_type"].to_list(),
                part["status"].to_list(), part["opened_on"].to_list(), part["volumes"].to_list(),
                part["loans"].to_list(), part["served_residents"].to_list(),
                part["residents_within_walk"].to_list() if within else [None] * part.height, strict=True)
        ]
        opacity = [0.45 if s == "not_public" else 0.95 for s in part["status"].to_list()]
        xs, ys = mercator(part["lat"].to_list(), part["lon"].to_list())
        traces.append(_scatter(
            x=xs, y=ys, mode="markers+text" if labels else "markers", name=category_label(cat),
            text=[lb if pl_ else "" for lb, pl_ in zip(part["label"].to_list(), part["place"].to_list(), strict=True)],
            textposition=[pl_ or "top center" for pl_ in part["place"].to_list()],
            # a white halo keeps a name readable over community dots and walking circles
            textfont={"size": 10, "color": "#212529", "shadow": "auto"}, customdata=custom, hovertemplate=hover,
            legendrank=100 + list(COLOURS).index(cat),
            marker={"size": part["size"].to_list(), "color": COLOURS[cat], "opacity": opacity,
                    "symbol": [SYMBOLS.get(k, "circle") for k in part["kind"].to_list()],
                    "line": {"color": "#ffffff", "width": 1}},
        ))
    return traces


def _ring_traces(branches: pl.DataFrame, rings: Sequence[int]) -> list[go.Scatter]:
    serving = branches.filter(pl.col("status") == "open") if not branches.is_empty() else branches
    traces = []
    for minutes in sorted(set(rings)):
        lats, lons = coverage.ring_paths(serving["lat"].to_list(), serving["lon"].to_list(), minutes)
        xs, ys = mercator(lats, lons)
        traces.append(_scatter(x=xs, y=ys, mode="lines", name=tr("places_ring_legend", minutes=f"{minutes:g}"),
                               line={"color": RING_COLOURS.get(minutes, "#495057"), "width": 1.2},
                               hoverinfo="skip", legendrank=1000 + minutes))
    return traces


def _site_traces(sites: pl.DataFrame, walk_minutes: float) -> list[go.Scatter]:
    if sites.is_empty():
        return []
    custom = [[s, n, g] for s, n, g in zip(sites["step"].to_list(), sites["name"].to_list(),
                                           sites["gain"].to_list(), strict=True)]
    lats, lons = coverage.ring_paths(sites["lat"].to_list(), sites["lon"].to_list(), walk_minutes)
    rx, ry = mercator(lats, lons)
    xs, ys = mercator(sites["lat"].to_list(), sites["lon"].to_list())
    return [
        _scatter(x=rx, y=ry, mode="lines", line={"color": SITE_COLOUR, "width": 2}, hoverinfo="skip",
                 name=tr("places_site_ring_legend", minutes=f"{walk_minutes:g}"), legendgroup="sites",
                 legendrank=51),
        _scatter(
            x=xs, y=ys, mode="markers+text", name=tr("places_sites_legend"), legendgroup="sites", customdata=custom,
            text=[str(s) for s in sites["step"].to_list()], textfont={"color": "#ffffff", "size": 10},
            marker={"size": 18, "color": SITE_COLOUR, "opacity": 0.95, "symbol": "diamond"},
            hovertemplate=("<b>%{customdata[0]}. %{customdata[1]}</b><br>" + tr("places_gain")
                           + ": %{customdata[2]:,}<extra></extra>"),
            legendrank=50,
        ),
    ]


def _tile_images(t: Tiles, xs: Sequence[float], ys: Sequence[float], width_px: int) -> list[dict]:
    """The configured street tiles covering the view, as images on the Mercator axes (one zoom level)."""
    world = 2 * math.pi * MERCATOR_R
    span = max(max(xs) - min(xs), max(ys) - min(ys), 1.0)
    zoom = max(0, min(18, math.ceil(math.log2(world * width_px / (256 * span)))))
    n = 2**zoom
    size = world / n

    def tile(v: float, flip: bool) -> int:
        return int(((world / 2 - v) if flip else (v + world / 2)) // size)

    cols = range(tile(min(xs), False), tile(max(xs), False) + 1)
    rows = range(tile(max(ys), True), tile(min(ys), True) + 1)
    if len(cols) * len(rows) > 150:
        return []
    return [{"source": t.url.replace("{z}", str(zoom)).replace("{x}", str(tx)).replace("{y}", str(ty))
             .replace("{s}", "a"), "xref": "x", "yref": "y", "x": tx * size - world / 2,
             "y": world / 2 - ty * size, "sizex": size, "sizey": size, "xanchor": "left", "yanchor": "top",
             "sizing": "stretch", "layer": "below"} for tx in cols for ty in rows]


def branch_map(branches: pl.DataFrame, communities: pl.DataFrame, *, rings: Sequence[int] = (),
               sites: pl.DataFrame | None = None, walk_minutes: float = 15, tile: Tiles | None = None,
               height: int = 640, width_hint: int = 1100, legend: bool = True, colorbar: bool = True,
               labels: bool | None = None, squares: bool = True, lang: str = "zh") -> go.Figure:
    """Branches coloured by host type, shaped by kind, sized by loans and labelled with short names, over
    communities shaded by walk minutes and named town areas; optional walking circles around the open public
    branches and suggested sites; a legend and a scale bar. Drawn on plain axes in Web Mercator metres.

    `branches`: rows of `branches_by_loans`; `communities`: rows of `coverage_by_community` (or the same
    with walks recomputed for suggested sites); `sites`: rows of `sites.Problem.picked`. `squares`: past `DOTS_MAX`
    communities, draw them as squares (a heatmap: not for plotly.js bundles without one, as the report's).
    """
    with _language(lang):  # branch labels by default only where there is room for them
        return _branch_map(branches, communities, rings, sites, walk_minutes, tile, height, width_hint, legend,
                           colorbar, height >= 460 if labels is None else labels, squares)


def _branch_map(branches: pl.DataFrame, communities: pl.DataFrame, rings: Sequence[int],
                sites: pl.DataFrame | None, walk_minutes: float, tile: Tiles | None, height: int, width_hint: int,
                legend: bool, colorbar: bool, labels: bool, squares: bool) -> go.Figure:
    move = _shifter(tile)
    branches, communities = _shift(branches, move), _shift(communities, move)
    sites = _shift(sites, move) if sites is not None else pl.DataFrame()
    lats = communities["lat"].to_list() + (branches["lat"].to_list() if not branches.is_empty() else [])
    lons = communities["lon"].to_list() + (branches["lon"].to_list() if not branches.is_empty() else [])
    frame = _branch_frame(branches) if not branches.is_empty() else branches
    towns = _town_points(communities) if not communities.is_empty() else communities
    view, scale, entries = None, 0.0, 0
    numbered: list[tuple[int, str]] = []
    town_places: list[str | None] | None = None
    places: list[str | None] = ["top center" if labels else None] * frame.height
    if lats:
        xs, ys = mercator(lats, lons)
        view = (min(xs), max(xs), min(ys), max(ys))
        pad = 0.04 * max(view[1] - view[0], view[3] - view[2], 1.0)
        view = (view[0] - pad, view[1] + pad, view[2] - 2.5 * pad, view[3] + pad)  # room for the scale bar
        entries = (len(set(frame["cat"].to_list())) if not frame.is_empty() else 0) + 1 + len(set(rings)) + (
            2 if sites is not None and sites.height else 0)
        legend_px = _legend_px(entries, width_hint) if legend else 0
        plot_w, plot_h = width_hint - (COLORBAR_PX if colorbar else 0), height - legend_px
        scale = min(plot_w / (view[1] - view[0]), plot_h / (view[3] - view[2]))
        taken: list[Box] = []
        marks: list[Box] = []
        if not frame.is_empty():
            bx, by = mercator(frame["lat"].to_list(), frame["lon"].to_list())
            marks = [((x - view[0]) * scale - r / 2, (x - view[0]) * scale + r / 2, (y - view[2]) * scale - r / 2,
                      (y - view[2]) * scale + r / 2) for x, y, r in zip(bx, by, frame["size"].to_list(), strict=True)]
        if not towns.is_empty():
            towns, town_places = _place_towns(towns, _town_points(communities, south=True), scale, view, taken, marks)
        if labels and not frame.is_empty():
            bx, by = mercator(frame["lat"].to_list(), frame["lon"].to_list())
            places = place_labels(bx, by, frame["size"].to_list(), frame["label"].to_list(), scale, view, taken)
            # a name with no room gets a number beside its marker instead, and the key below the map names it
            missing = [i for i, p in enumerate(places) if p is None]
            texts = frame["label"].to_list()
            for n, i in enumerate(missing, start=1):
                texts[i] = str(n)
                spot = place_labels([bx[i]], [by[i]], [frame["size"][i]], [texts[i]], scale, view, taken,
                                    obstacles=[m for j, m in enumerate(marks) if j != i], must=True)[0]
                places[i] = spot or "middle center"  # no room beside it: the number on its marker
            frame = frame.with_columns(pl.Series("label", texts))
            numbered = [(n, frame["name"][i]) for n, i in enumerate(missing, start=1)]
    # squares are drawn under every line and dot: over them, the town areas are outlines only
    grid = squares and view is not None and communities.height > DOTS_MAX
    traces: list[go.Scatter | go.Heatmap] = _town_traces(
        communities, town_places, towns if town_places else None, filled=not grid) + [
        _community_grid(communities, colorbar, view, scale) if grid else _community_trace(communities, colorbar)]
    traces += _branch_traces(frame, labels, places)
    traces += _ring_traces(branches, rings) if not branches.is_empty() else []  # above the markers: seen whole
    traces += _site_traces(sites, walk_minutes)
    images: list[dict] = []
    if lats:
        traces += _scale_bar([view[0], view[1]], [view[2] + 2 * pad, view[3]], min(lats))
        if tile is not None:
            images = _tile_images(tile, xs, ys, width_hint)
    fig = go.Figure(traces, _validate=False)
    fig.update_layout(
        # margins fixed ahead (legend below, colour bar right), so the labels were placed at the drawn scale
        height=height, margin={"l": 0, "r": COLORBAR_PX if colorbar else 0, "t": 0,
                               "b": _legend_px(entries, width_hint) if legend and lats else 0},
        uirevision="places-map", showlegend=legend,
        legend={"orientation": "h", "yanchor": "top", "y": -0.005, "xanchor": "left", "x": 0,
                "font": {"size": 11}, "entrywidth": LEGEND_ENTRY, "entrywidthmode": "pixels",
                "traceorder": "normal"},  # "normal": grouped traces would each take a row of their own
        font={"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"},
        xaxis={"visible": False, **({"range": [view[0], view[1]]} if view else {})},
        yaxis={"visible": False, "scaleanchor": "x", "scaleratio": 1,
               **({"range": [view[2], view[3]]} if view else {})},
        plot_bgcolor="#ffffff", paper_bgcolor="#ffffff", dragmode="pan", images=images,
        meta={"numbered": numbered},  # the branches named by a number on the map: (number, name)
    )
    return fig


def walk_by_town_chart(towns: pl.DataFrame, lang: str = "zh") -> go.Figure:
    """Mean walk minutes per town, with and without micro-branches (rows of `walk_by_town`, towns only)."""
    with _language(lang):
        return _walk_by_town_chart(towns)


def _walk_by_town_chart(towns: pl.DataFrame) -> go.Figure:
    """Towns down the side (every name whole, in either language), minutes along; the values at the bars' ends."""
    towns = towns.sort("mean_walk_minutes_without_micro", descending=True, nulls_last=True)
    names = [town_name(t) for t in towns["town_code"].to_list()]
    bars = [("mean_walk_minutes_without_micro", tr("places_walk_before"), "#adb5bd"),
            ("mean_walk_minutes", tr("places_walk_now"), COLOURS["micro_community"])]
    fig = go.Figure([
        go.Bar(y=names, x=towns[column].to_list(), name=name, orientation="h", marker_color=colour,
               text=[None if v is None else f"{v:.1f}" for v in towns[column].to_list()], textposition="outside",
               cliponaxis=False, hovertemplate="%{y}: %{x:.1f}<extra></extra>")
        for column, name, colour in bars
    ])
    fig.update_layout(barmode="group", height=80 + 34 * max(len(names), 1),
                      margin={"l": 10, "r": 40, "t": 40, "b": 40},
                      font={"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif", "size": 12},
                      xaxis={"title": {"text": tr("mean_walk_minutes")}, "automargin": True, "rangemode": "tozero"},
                      # a town named by its code is a name, not a number (plotly drew "440.11591M")
                      yaxis={"automargin": True, "autorange": "reversed", "type": "category"},
                      legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                      plot_bgcolor="#ffffff")
    fig.update_xaxes(showgrid=True, gridcolor="#e9ecef")
    return fig


def trend_chart(months: Sequence[dict], lang: str = "zh") -> go.Figure:
    """Loans per month over the last 12 months, micro-branches on top of the other branches; a month the data
    does not hold to its end is hatched and says so. `months`: dicts with month, micro, other, partial."""
    with _language(lang):
        labels = [f"{m['month']:%Y-%m}" for m in months]
        partial = [m["partial"] for m in months]
        fig = go.Figure([
            go.Bar(x=labels, y=[m["other"] for m in months], name=tr("report_trend_other"), marker_color="#2f6fdb",
                   marker_pattern_shape=["/" if p else "" for p in partial],
                   hovertemplate="%{x}: %{y:,}<extra></extra>"),
            go.Bar(x=labels, y=[m["micro"] for m in months], name=tr("kind_micro"), marker_color="#7b3fbf",
                   marker_pattern_shape=["/" if p else "" for p in partial],
                   hovertemplate="%{x}: %{y:,}<extra></extra>"),
        ])
        for label, m, p in zip(labels, months, partial, strict=True):
            if p:
                fig.add_annotation(x=label, y=m["micro"] + m["other"], text=tr("report_trend_partial"),
                                   showarrow=False, yshift=10, font={"size": 11, "color": "#495057"})
        fig.update_layout(barmode="stack", height=250, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                          font={"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif", "size": 12},
                          yaxis={"title": {"text": tr("loans")}, "automargin": True, "tickformat": ",d",
                                 "gridcolor": "#e9ecef"},
                          xaxis={"type": "category", "automargin": True},
                          legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
                          plot_bgcolor="#ffffff")
        return fig
