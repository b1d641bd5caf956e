"""Figures of the places pages: the branch map (offline MapLibre, no named style) and the walk chart.

The map needs no network: `map.style` is "white-bg" and everything on it comes with the figure (town
areas as GeoJSON fill layers, community points, walking circles, a scale bar). Street tiles are added
only when a tile URL is configured: env `MICROBRANCH_TILE_URL` (or `[microbranch] tile_url` in
`.streamlit/secrets.toml`). Chinese web-map tiles use GCJ-02: with `MICROBRANCH_TILE_CRS=gcj02` (or
`tile_crs`) the WGS-84 points are shifted to GCJ-02 for drawing.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from microbranch import coverage, geo
from microbranch.i18n import entries
from ui.shell import table, tr

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
WALK_SCALE = "YlOrRd"
WALK_MAX = 45  # the colour scale's top (minutes); farther communities share the darkest colour
SITE_COLOUR = "#e8590c"


@dataclass(frozen=True)
class Tiles:
    url: str
    crs: str = "wgs84"
    attribution: str = ""


def tiles() -> Tiles | None:
    """The configured street tiles, or None (the map then draws on white, fully offline)."""
    conf: dict[str, str] = {}
    try:
        conf = dict(st.secrets.get("microbranch", {}))
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        conf = {}
    url = os.environ.get("MICROBRANCH_TILE_URL") or conf.get("tile_url")
    if not url:
        return None
    crs = (os.environ.get("MICROBRANCH_TILE_CRS") or conf.get("tile_crs") or "wgs84").lower().replace("-", "")
    attribution = os.environ.get("MICROBRANCH_TILE_ATTRIBUTION") or conf.get("tile_attribution") or ""
    return Tiles(url, "gcj02" if crs == "gcj02" else "wgs84", attribution)


def town_name(code: object) -> str:
    """The town's name from the catalogue (`town_<code>`), or the code itself for a town not listed."""
    key = f"town_{code}"
    return tr(key) if key in entries() else str(code or "—")


def label(column: str) -> str:
    """A column's header: the metric's name when it is one, else the places word."""
    return tr(column) if column in entries() else tr(f"places_{column}")


def _word(column: str, value: object) -> str | None:
    if value is None:
        return None
    if column == "kind":
        return tr(f"kind_{value}")
    if column == "host_type":
        return tr(f"host_{value}") if value in HOSTS else str(value)
    if column == "status":
        return tr(f"places_status_{value}")
    return town_name(value)


def display(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The columns a table shows, in the user's language: kinds, host types, statuses and towns as words,
    headers from the catalogue. (Values stay as the query gave them; only words are swapped in.)"""
    out = frame.select(columns)
    empty = {"host_type": tr("places_host_none"), "town_code": tr("places_district")}
    for col in ("kind", "host_type", "status", "town_code"):
        if col in columns:
            words = {v: _word(col, v) for v in out[col].unique().to_list() if v is not None}
            out = out.with_columns(pl.col(col).replace_strict(words, default=None, return_dtype=pl.String)
                                   .fill_null(empty.get(col, "—")))
    return out.rename({c: label("town" if c == "town_code" else c) for c in columns})


def _format(column: str, dtype: pl.DataType) -> str | None:
    if not dtype.is_numeric():
        return None
    if "_rate" in column:
        return "percent"
    if dtype.is_float():
        return "%.1f"
    return None if column in ("rank", "step", "walk_threshold") else "localized"


def show_table(frame: pl.DataFrame, columns: Sequence[str], file_name: str, key: str | None = None) -> None:
    """A table of the places pages: `display` words and headers, numbers formatted, with its CSV download."""
    shown = display(frame, columns)
    config: dict[str, object] = {
        header: st.column_config.NumberColumn(format=fmt)
        for col, header in zip(columns, shown.columns, strict=True)
        if (fmt := _format(col, frame.schema[col])) is not None
    }
    config |= {header: st.column_config.DateColumn(format="YYYY-MM-DD")
               for col, header in zip(columns, shown.columns, strict=True) if frame.schema[col] == pl.Date}
    table(shown, file_name, key=key, column_config=config)


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


def view(lats: Sequence[float], lons: Sequence[float], width_px: int, height_px: int) -> tuple[dict, float]:
    """Centre and zoom that fit the points in a map of about this size (MapLibre: 512 px world at zoom 0)."""
    if not lats:
        return {"lat": 22.78, "lon": 113.53}, 9.0

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    lat0, lat1, lon0, lon1 = min(lats), max(lats), min(lons), max(lons)
    span_x = max(lon1 - lon0, 1e-4) / 360
    span_y = max(merc(lat1) - merc(lat0), 1e-6) / (2 * math.pi)
    zoom = min(math.log2(0.85 * width_px / (512 * span_x)), math.log2(0.8 * height_px / (512 * span_y)))
    return {"lat": (lat0 + lat1) / 2, "lon": (lon0 + lon1) / 2}, max(3.0, min(16.0, zoom))


def _scale_bar(lats: Sequence[float], lons: Sequence[float]) -> go.Scattermap:
    """A bar of a round number of kilometres at the lower left of the data, drawn in map coordinates."""
    lat0, lat1, lon0, lon1 = min(lats), max(lats), min(lons), max(lons)
    metres_per_deg = math.pi * geo.EARTH_RADIUS_M / 180 * math.cos(math.radians(lat0))
    target_km = (lon1 - lon0) * metres_per_deg / 1000 / 5
    km = next((k for k in (50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1) if k <= target_km), 0.1)
    y = lat0 - 0.04 * max(lat1 - lat0, 0.01)
    tick = 0.012 * max(lat1 - lat0, 0.01)
    end = lon0 + km * 1000 / metres_per_deg
    name = tr("places_scale_bar", km=f"{km:g}")
    return go.Scattermap(lat=[y + tick, y, y, y + tick], lon=[lon0, lon0, end, end], mode="lines",
                         line={"color": "#212529", "width": 3}, name=name, hoverinfo="name",
                         legendrank=2000)


def _town_layers(communities: pl.DataFrame) -> list[dict]:
    areas = coverage.town_areas(communities)
    layers = []
    for i, (town, ring) in enumerate(areas.items()):
        feature = {"type": "Feature", "properties": {"town_code": town},
                   "geometry": {"type": "Polygon", "coordinates": [[[lon, lat] for lat, lon in ring]]}}
        layers.append({"sourcetype": "geojson", "source": {"type": "FeatureCollection", "features": [feature]},
                       "type": "fill", "color": TOWN_FILLS[i % len(TOWN_FILLS)], "opacity": 0.55,
                       "below": "traces"})
    outlines = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"town_code": town},
         "geometry": {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in ring]}}
        for town, ring in areas.items()
    ]}
    if areas:
        layers.append({"sourcetype": "geojson", "source": outlines, "type": "line", "color": "#7a8ca3",
                       "line": {"width": 1.2, "dash": [2, 2]}, "below": "traces"})
    return layers


def _community_trace(communities: pl.DataFrame, colorbar: bool) -> go.Scattermap:
    walk = communities["walk_minutes"].fill_null(WALK_MAX).to_list()
    without = communities["walk_minutes_without_micro"].to_list() if (
        "walk_minutes_without_micro" in communities.columns) else [None] * communities.height
    custom = [[n, town_name(t), p, w, wo] for n, t, p, w, wo in zip(
        communities["name"].to_list(), communities["town_code"].to_list(), communities["population"].to_list(),
        communities["walk_minutes"].to_list(), without, strict=True)]
    pops = communities["population"].fill_null(0).to_list()
    top = max(pops, default=0) or 1
    return go.Scattermap(
        lat=communities["lat"].to_list(), lon=communities["lon"].to_list(), mode="markers",
        name=tr("places_communities_legend"), customdata=custom,
        marker={"size": [5 + 7 * math.sqrt(p / top) for p in pops], "color": walk, "colorscale": WALK_SCALE,
                "cmin": 0, "cmax": WALK_MAX, "opacity": 0.85, "showscale": colorbar,
                "colorbar": {"title": {"text": tr("walk_minutes")}, "thickness": 12, "len": 0.6, "x": 1.0,
                             "y": 0.5}},
        hovertemplate=(
            "<b>%{customdata[0]}</b><br>" + tr("places_town") + ": %{customdata[1]}<br>"
            + tr("places_population") + ": %{customdata[2]:,}<br>"
            + tr("walk_minutes") + ": %{customdata[3]:.1f}<br>"
            + tr("places_walk_without_micro") + ": %{customdata[4]:.1f}"
            + "<extra></extra>"
        ),
        legendrank=900,
    )


def _branch_traces(branches: pl.DataFrame) -> list[go.Scattermap]:
    if branches.is_empty():
        return []
    loans = branches["loans"].fill_null(0).to_list()
    top = max(loans, default=0) or 1
    frame = branches.with_columns(
        pl.Series("cat", [category(k, h, s) for k, h, s in zip(
            branches["kind"].to_list(), branches["host_type"].to_list(), branches["status"].to_list(),
            strict=True)]),
        pl.Series("size", [8 + 24 * math.sqrt(max(v, 0) / top) for v in loans]),
    )
    hover = (
        "<b>%{customdata[0]}</b><br>" + tr("places_kind") + ": %{customdata[1]}<br>"
        + tr("places_host_type") + ": %{customdata[2]}<br>" + tr("places_status") + ": %{customdata[3]}<br>"
        + tr("places_opened_on") + ": %{customdata[4]}<br>" + tr("places_volumes") + ": %{customdata[5]:,}<br>"
        + tr("loans") + ": %{customdata[6]:,}<br>" + tr("served_residents") + ": %{customdata[7]:,}"
        + "<extra></extra>"
    )
    traces = []
    for cat in COLOURS:
        part = frame.filter(pl.col("cat") == cat)
        if part.is_empty():
            continue
        custom = [
            [n, tr(f"kind_{k}") if k else "—", tr(f"host_{h}") if h in HOSTS else tr("places_host_none"),
             tr(f"places_status_{s}"), str(o) if o else "—", v or 0, ln, sr]
            for n, k, h, s, o, v, ln, sr in zip(
                part["name"].to_list(), part["kind"].to_list(), part["host_type"].to_list(),
                part["status"].to_list(), part["opened_on"].to_list(), part["volumes"].to_list(),
                part["loans"].to_list(), part["served_residents"].to_list(), strict=True)
        ]
        opacity = [0.4 if s == "not_public" else 0.95 for s in part["status"].to_list()]
        traces.append(go.Scattermap(
            lat=part["lat"].to_list(), lon=part["lon"].to_list(), mode="markers", name=category_label(cat),
            customdata=custom, hovertemplate=hover, legendrank=100 + list(COLOURS).index(cat),
            marker={"size": part["size"].to_list(), "color": COLOURS[cat], "opacity": opacity},
        ))
    return traces


def _ring_traces(branches: pl.DataFrame, rings: Sequence[int]) -> list[go.Scattermap]:
    serving = branches.filter(pl.col("status") == "open") if not branches.is_empty() else branches
    traces = []
    for minutes in sorted(set(rings)):
        lats, lons = coverage.ring_paths(serving["lat"].to_list(), serving["lon"].to_list(), minutes)
        traces.append(go.Scattermap(lat=lats, lon=lons, mode="lines", name=tr("places_ring_legend", minutes=minutes),
                                    line={"color": RING_COLOURS.get(minutes, "#495057"), "width": 1.2},
                                    hoverinfo="skip", legendrank=1000 + minutes))
    return traces


def _site_traces(sites: pl.DataFrame, walk_minutes: float) -> list[go.Scattermap]:
    if sites.is_empty():
        return []
    custom = [[s, n, g] for s, n, g in zip(sites["step"].to_list(), sites["name"].to_list(),
                                           sites["gain"].to_list(), strict=True)]
    lats, lons = coverage.ring_paths(sites["lat"].to_list(), sites["lon"].to_list(), walk_minutes)
    return [
        go.Scattermap(lat=lats, lon=lons, mode="lines", line={"color": SITE_COLOUR, "width": 2},
                      hoverinfo="skip", showlegend=False, legendgroup="sites"),
        go.Scattermap(
            lat=sites["lat"].to_list(), lon=sites["lon"].to_list(), mode="markers", name=tr("places_sites_legend"),
            legendgroup="sites", customdata=custom, marker={"size": 14, "color": SITE_COLOUR, "opacity": 0.95},
            hovertemplate=("<b>%{customdata[0]}. %{customdata[1]}</b><br>" + tr("places_gain")
                           + ": %{customdata[2]:,}<extra></extra>"),
            legendrank=50,
        ),
        go.Scattermap(lat=sites["lat"].to_list(), lon=sites["lon"].to_list(), mode="markers",
                      marker={"size": 5, "color": "#ffffff"}, hoverinfo="skip", showlegend=False,
                      legendgroup="sites"),
    ]


def branch_map(branches: pl.DataFrame, communities: pl.DataFrame, *, rings: Sequence[int] = (),
               sites: pl.DataFrame | None = None, walk_minutes: float = 15, tile: Tiles | None = None,
               height: int = 640, width_hint: int = 1100, legend: bool = True, colorbar: bool = True) -> go.Figure:
    """Branches coloured by kind and host type and sized by loans, over communities shaded by walk minutes
    and town areas; optional walking circles around the open public branches and suggested sites.

    `branches`: rows of `branches_by_loans`; `communities`: rows of `coverage_by_community` (or the same
    with walks recomputed for suggested sites); `sites`: rows of `coverage.next_sites`.
    """
    move = _shifter(tile)
    branches, communities = _shift(branches, move), _shift(communities, move)
    sites = _shift(sites, move) if sites is not None else pl.DataFrame()
    lats = communities["lat"].to_list() + (branches["lat"].to_list() if not branches.is_empty() else [])
    lons = communities["lon"].to_list() + (branches["lon"].to_list() if not branches.is_empty() else [])
    traces: list[go.Scattermap] = [_community_trace(communities, colorbar)]
    traces += _ring_traces(branches, rings) if not branches.is_empty() else []
    traces += _branch_traces(branches)
    traces += _site_traces(sites, walk_minutes)
    if lats:
        bar = _scale_bar(lats, lons)
        traces.append(bar)
        lats, lons = lats + [v for v in bar.lat if v is not None], lons + [v for v in bar.lon if v is not None]
    layers = _town_layers(communities)
    if tile is not None:
        layers.insert(0, {"sourcetype": "raster", "source": [tile.url], "type": "raster", "below": "traces",
                          "sourceattribution": tile.attribution or None})
    center, zoom = view(lats, lons, width_hint, height)
    fig = go.Figure(traces)
    fig.update_layout(
        map={"style": "white-bg", "layers": layers, "center": center, "zoom": zoom},
        height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0}, uirevision="places-map", showlegend=legend,
        legend={"orientation": "h", "yanchor": "top", "y": -0.01, "xanchor": "left", "x": 0},
        font={"family": "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"},
    )
    return fig


def walk_by_town_chart(towns: pl.DataFrame) -> go.Figure:
    """Mean walk minutes per town, with and without micro-branches (rows of `walk_by_town`, towns only)."""
    names = [town_name(t) for t in towns["town_code"].to_list()]
    fig = go.Figure([
        go.Bar(x=names, y=towns["mean_walk_minutes_without_micro"].to_list(), name=tr("places_walk_before"),
               marker_color="#adb5bd", hovertemplate="%{x}: %{y:.1f}<extra></extra>"),
        go.Bar(x=names, y=towns["mean_walk_minutes"].to_list(), name=tr("places_walk_now"),
               marker_color=COLOURS["micro_community"], hovertemplate="%{x}: %{y:.1f}<extra></extra>"),
    ])
    fig.update_layout(barmode="group", height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      yaxis={"title": {"text": tr("mean_walk_minutes")}},
                      legend={"orientation": "h", "y": 1.08, "x": 0})
    return fig
