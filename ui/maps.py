"""The places pages' figures: the configured street tiles, and
the branch map and walk chart of `microbranch.mapfigure` in the page's language.

The map needs no network and no map library: it is drawn on plain plotly axes in Web Mercator metres, so
town names, branch labels, the legend and the scale bar are ordinary text, and the same figure prints as an
image in the report. Street tiles are an administrator's setting (docs/guide.md, "Street tiles"): env
the setting `tile_url` (docs/settings.md), drawn as images under
the data; Chinese web-map tiles use GCJ-02: with `tile_crs = gcj02` the WGS-84
points are shifted to GCJ-02 for drawing. Users never see these settings.
"""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from microbranch import mapfigure, settings
from microbranch.i18n import t
from microbranch.mapfigure import HOSTS, Tiles, mercator, short_name  # noqa: F401 - the pages' names
from ui.kit import shared, town_name  # noqa: F401 - the pages' name
from ui.shell import lang, tr


def tiles() -> Tiles | None:
    """The configured street tiles, or None (the map then draws on white, fully offline)."""
    conf = settings.current()
    return Tiles(conf.tile_url, conf.tile_crs, conf.tile_attribution) if conf.tile_url else None


@shared
def branch_map(*args: object, **kwargs: object) -> go.Figure:
    """`mapfigure.branch_map` in the page's language."""
    return mapfigure.branch_map(*args, lang=lang(), **kwargs)  # type: ignore[arg-type]


def named(branches: pl.DataFrame) -> bool:
    """Whether a map of these branches names them (up to `mapfigure.NAMES_MAX`, as the report's maps); beyond, the
    markers are drawn without names and the towns are named (`unnamed_note` says so)."""
    return branches.height <= mapfigure.NAMES_MAX


def unnamed_note(branches: pl.DataFrame) -> str | None:
    """The words under a map of more branches than it names, else None."""
    return None if named(branches) else tr("places_map_unnamed", n=f"{branches.height:,}")


def numbers_key(fig: go.Figure) -> str | None:
    """The key to the branches a map names by a number (no room for their names), or None."""
    numbered = (fig.layout.meta or {}).get("numbered") or []
    if not numbered:
        return None
    return t("report_map_numbers", lang()) + " " + t("list_sep", lang()).join(f"{n} {name}" for n, name in numbered)


@shared
def walk_by_town_chart(towns: pl.DataFrame) -> go.Figure:
    return mapfigure.walk_by_town_chart(towns, lang=lang())
