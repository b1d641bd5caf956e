"""The places pages' tables and figures: words and formats of the tables, the configured street tiles, and
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
from collections.abc import Sequence

import plotly.graph_objects as go
import polars as pl
import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from microbranch import mapfigure
from microbranch.i18n import entries
from microbranch.mapfigure import HOSTS, Tiles, mercator, short_name  # noqa: F401 - the pages' names
from ui.shell import lang, table, tr


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
    """The town's name in the page's language (`town_<code>` in the catalogue), or the code itself."""
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


def branch_map(*args: object, **kwargs: object) -> go.Figure:
    """`mapfigure.branch_map` in the page's language."""
    return mapfigure.branch_map(*args, lang=lang(), **kwargs)  # type: ignore[arg-type]


def walk_by_town_chart(towns: pl.DataFrame) -> go.Figure:
    return mapfigure.walk_by_town_chart(towns, lang=lang())
