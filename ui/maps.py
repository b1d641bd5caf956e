"""The places pages' figures: the configured street tiles, and
the branch map and walk chart of `microbranch.mapfigure` in the page's language.

The map needs no network and no map library: it is drawn on plain plotly axes in Web Mercator metres, so
town names, branch labels, the legend and the scale bar are ordinary text, and the same figure prints as an
image in the report. Street tiles are an administrator's setting (README, "Street tiles"): env
`MICROBRANCH_TILE_URL` (or `[microbranch] tile_url` in `.streamlit/secrets.toml`), drawn as images under
the data; Chinese web-map tiles use GCJ-02: with `MICROBRANCH_TILE_CRS=gcj02` (or `tile_crs`) the WGS-84
points are shifted to GCJ-02 for drawing. Users never see these settings.
"""

from __future__ import annotations

import os

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from microbranch import mapfigure
from microbranch.i18n import t
from microbranch.mapfigure import HOSTS, Tiles, mercator, short_name  # noqa: F401 - the pages' names
from ui.kit import town_name  # noqa: F401 - the pages' name
from ui.shell import lang


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


def branch_map(*args: object, **kwargs: object) -> go.Figure:
    """`mapfigure.branch_map` in the page's language."""
    return mapfigure.branch_map(*args, lang=lang(), **kwargs)  # type: ignore[arg-type]


def numbers_key(fig: go.Figure) -> str | None:
    """The key to the branches a map names by a number (no room for their names), or None."""
    numbered = (fig.layout.meta or {}).get("numbered") or []
    if not numbered:
        return None
    return t("report_map_numbers", lang()) + " " + t("list_sep", lang()).join(f"{n} {name}" for n, name in numbered)


def walk_by_town_chart(towns: pl.DataFrame) -> go.Figure:
    return mapfigure.walk_by_town_chart(towns, lang=lang())
