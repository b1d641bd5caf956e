"""The rendering kit: every table, card, chart and download of every page goes through here.

The kit knows who is looking: the role of the signed-in account (`ui.signin.viewer()`, kept in the
server-side session; never the URL or a widget). It applies the privacy rules by column name, before
the headings are translated, so a page cannot forget one:

- reader-level columns (pseudonyms, `READER_LEVEL`) are dropped for officials, and so is any text column
  whose values look like pseudonyms;
- reader counts (`READER_COUNTS`) from 1 to 9 are shown as `<10` for officials (metrics.md,
  "Suppression"), with the numbers that would give them away (`LINKED`, e.g. loans per reader); a
  community / town / district roll-up (a `level` column) gets complementary suppression as well.

API (pages import these; a page never calls st.dataframe, st.metric, st.plotly_chart or
st.download_button itself):

- `table(frame, file_name, columns=None, *, key=None, terms="circ", **dataframe_kwargs)`: the table with
  headings and words in the user's language, numbers formatted, and its CSV download. `terms="places"`
  takes the places pages' words first (community "name", branch "status" ...) and puts words in for the
  codes of kind, host type, status and town; `terms="access"` the audit page's.
- `metric_cards(row, keys, before=None, per_row=6)`: one card per key, named like the query's columns,
  with the change against `before` and the metric's definition as help.
- `metric(label, value, *, where=st, readers=False, **metric_kwargs)`: one card; `readers=True` when the
  value is a count of readers.
- `chart(figure, *, where=st, key=None)`: a plotly chart; `chart_data(frame)`: the frame a chart may
  draw for this viewer (reader-level columns dropped, suppressed reader counts left empty).
- `download(frame, file_name, *, key=None, where=st)`: a CSV download on its own.
- `shown(frame)`: the frame as this viewer may see it, raw column names kept.
- `headed(frame)`, `label(column)`, `number(key, value)`, `change(key, now, before)`,
  `words(frame, column, word)`, `town_name(code)`: words and numbers for the reader.
- `page(name)`: every page's first line: the access check (a role not allowed gets a polite refusal and the
  page stops), then the page's title.
- `role()`, `sees_readers()`: the viewer's role, and whether it may see reader-level rows.

A download of reader-level rows is recorded in the audit (who, what, from which address).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from microbranch.i18n import definition, entries
from microbranch.privacy_tables import SHOWN, suppress_rollup, suppression
from ui import signin
from ui.shell import lang, tr

READER_LEVEL = ("reader", "from_reader", "holder", "expected_holder", "reader_id", "from_reader_id", "to_reader")
READER_COUNTS = ("active_readers", "readers", "new_readers", "again_1m", "again_3m", "again_6m")
LINKED = {"active_readers": {"loans_per_reader": "{:.2f}"}, "readers": {"penetration": "{:.1f}"}}
PSEUDONYM = re.compile(r"^R[0-9a-f]{20}$")
HOSTS = ("enterprise", "school", "community", "institution", "other")

FORMATS = {"transfer_share": "{:.1%}", "coverage_rate": "{:.1%}", "coverage_rate_without_micro": "{:.1%}",
           "mean_holders": "{:.2f}", "days_per_holder": "{:.1f}",
           "mean_walk_minutes": "{:.1f}", "mean_walk_minutes_without_micro": "{:.1f}", "turnover": "{:.3f}",
           "loans_per_reader": "{:.2f}", "overdue_share": "{:.1%}", "share_circulated": "{:.1%}",
           "dead_share": "{:.1%}", "mean_days_overdue": "{:.1f}"}
LOWER_IS_BETTER = ("mean_walk_minutes", "mean_walk_minutes_without_micro")
PLAIN = ("rank", "step", "walk_threshold", "holders", "chain_no", "import_id", "line", "month_no")


# --- who is looking ---

def role() -> str:
    """The signed-in viewer's role (see `ui.signin`)."""
    return signin.viewer().role


def sees_readers() -> bool:
    """Whether the viewer may see reader-level rows (pseudonyms): staff and managers, never officials."""
    return role() in ("staff", "manager")


def page(name: str) -> None:
    """The access check every page starts with, then the page's title. `name` is the page's key in
    `signin.PAGES`."""
    if not signin.allowed(name):
        signin.refuse(name)
        st.stop()
    st.title(tr(f"page_{name}"))


# --- words ---

def _entry(column: str, terms: str = "circ") -> str | None:
    known = entries()
    first = (f"{terms}_{column}",) if terms != "circ" else ()
    return next((k for k in (*first, column, f"circ_col_{column}", f"circ_{column}", f"places_{column}")
                 if k in known), None)


def label(column: str, terms: str = "circ") -> str:
    """A column's heading in the current language: the metric's name, else the pages' word for it."""
    key = _entry("town" if column == "town_code" else column, terms)
    return tr(key) if key else column


def headed(frame: pl.DataFrame, terms: str = "circ") -> pl.DataFrame:
    """The frame with its columns named for the reader (the CSV download keeps these headings)."""
    return frame.rename({c: label(c, terms) for c in frame.columns})


def words(frame: pl.DataFrame, column: str, word: Callable[[Any], str]) -> pl.DataFrame:
    """Replace a column's codes by their words (`word(code)`), computed here: `tr` reads the page's URL, which a
    polars worker thread (map_elements) cannot see."""
    mapping = {v: word(v) for v in frame[column].drop_nulls().unique()}
    return frame.with_columns(pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String))


def town_name(code: object) -> str:
    """The town's name from the catalogue (`town_<code>`), or the code itself for a town not listed."""
    key = f"town_{code}"
    return tr(key) if key in entries() else str(code or "—")


def _place_words(frame: pl.DataFrame) -> pl.DataFrame:
    """Kinds, host types, branch statuses and towns as words (the places pages' tables)."""
    spell = {"kind": lambda v: tr(f"kind_{v}"), "host_type": lambda v: tr(f"host_{v}") if v in HOSTS else str(v),
             "status": lambda v: tr(f"places_status_{v}"), "town_code": town_name}
    empty = {"host_type": tr("places_host_none"), "town_code": tr("places_district")}
    for col, word in spell.items():
        if col in frame.columns and frame.schema[col] == pl.String:
            frame = words(frame, col, word).with_columns(pl.col(col).fill_null(empty.get(col, "—")))
    return frame


def number(key: str, value: object) -> str:
    """A metric's value as shown on its card: thousands separators, shares in %, means with decimals."""
    if value is None:
        return "—"
    return FORMATS.get(key, "{:,}" if isinstance(value, int) else "{:,.1f}").format(value)


def change(key: str, now: object, before: object) -> str | None:
    """The change of a metric against an earlier value, signed; shares in percentage points."""
    if now is None or before is None:
        return None
    if FORMATS.get(key, "").endswith("%}"):
        return tr("circ_pp", value=f"{(now - before) * 100:+.1f}")  # type: ignore[operator]
    fmt = FORMATS.get(key, "{:,}" if isinstance(now, int) else "{:,.1f}")
    return fmt.replace("{:", "{:+").format(now - before)  # type: ignore[operator]


# --- the privacy rules ---

def _names(columns: Sequence[str]) -> set[str]:
    """The columns and their headings in every language, so a frame headed before it got here is still known."""
    return {*columns, *(t for c in columns for k in (f"circ_col_{c}", f"places_{c}", c) if k in entries()
                        for t in (entries()[k].get("zh"), entries()[k].get("en")) if t)}


def _reader_level(frame: pl.DataFrame) -> list[str]:
    named = _names(READER_LEVEL)
    looks = [c for c, dt in frame.schema.items() if dt == pl.String
             and any(PSEUDONYM.match(v) for v in frame[c].drop_nulls().head(1000).to_list())]
    return [c for c in frame.columns if c in named or c in looks]


def readers_for_role(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """For the district official, reader counts from 1 to 9 in `columns` become `<10` (metrics.md,
    "Suppression"), with the numbers linked to them. For breakdowns published without totals, so no
    complementary suppression is needed; a roll-up with a `level` column goes through `suppress_rollup`."""
    columns = tuple(c for c in columns if frame.schema[c].is_numeric())  # not those suppressed already
    if sees_readers() or not columns:
        return frame
    if "level" in frame.columns and "town_code" in frame.columns:
        for c in columns:
            frame = suppress_rollup(frame, c, {k: f for k, f in LINKED.get(c, {}).items() if k in frame.columns})
        return frame
    for c in columns:
        hidden = suppression(frame[c].to_list(), [])
        linked = {c: "{:,}", **{k: f for k, f in LINKED.get(c, {}).items() if k in frame.columns}}
        frame = frame.with_columns(
            pl.Series(col, [SHOWN[h] if h else None if v is None else fmt.format(v)
                            for v, h in zip(frame[col].to_list(), hidden, strict=True)], dtype=pl.String)
            for col, fmt in linked.items()
        )
    return frame


def shown(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as the viewer may see it: for officials without reader-level columns and with reader counts
    suppressed; for staff and managers as it is."""
    if sees_readers():
        return frame
    frame = frame.drop(_reader_level(frame))
    return readers_for_role(frame, *[c for c in frame.columns if c in _names(READER_COUNTS)])


def chart_data(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame a chart may draw: for officials, no reader-level columns and suppressed reader counts empty."""
    if sees_readers():
        return frame
    frame = frame.drop(_reader_level(frame))
    for c in [c for c in frame.columns if c in _names(READER_COUNTS)]:
        small = pl.col(c).is_between(1, 9)
        frame = frame.with_columns(pl.when(small).then(None).otherwise(pl.col(k)).alias(k)
                                   for k in (*[k for k in LINKED.get(c, {}) if k in frame.columns], c))
    return frame


# --- rendering ---

def safe_csv(frame: pl.DataFrame) -> bytes:
    """CSV for Excel: UTF-8 with BOM; a text cell starting with = + - @ tab or CR is prefixed with ' ."""
    texts = [c for c, dt in frame.schema.items() if dt == pl.String]
    safe = frame.with_columns(
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]")).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in texts
    )
    safe = safe.rename({c: "'" + c for c in safe.columns if re.match(r"^[=+\-@\t\r]", c)})
    return "\ufeff".encode() + safe.write_csv().encode("utf-8")


def _recorder(file_name: str, rows: int) -> Callable[[], None]:
    def record() -> None:
        signin.record("download", f"{file_name} ({rows} rows with reader pseudonyms)")
    return record


def download(frame: pl.DataFrame, file_name: str, *, key: str | None = None, where: Any = st,
             reader_level: bool = False) -> None:
    """A CSV download button; a download of reader-level rows is recorded in the audit."""
    where.download_button(tr("download_csv"), safe_csv(frame), file_name=file_name, mime="text/csv",
                          key=key or f"dl_{file_name}", icon=":material/download:",
                          on_click=_recorder(file_name, frame.height) if reader_level else "ignore")


def _config(raw: pl.DataFrame, headings: dict[str, str]) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for col, head in headings.items():
        dtype = raw.schema[col]
        if dtype == pl.Date:
            config[head] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif dtype.is_numeric() and col not in PLAIN:
            fmt = FORMATS.get(col, "")
            percent = fmt.endswith("%}")
            decimals = re.search(r"\.(\d)f", fmt)
            config[head] = st.column_config.NumberColumn(
                format="percent" if percent else f"%.{decimals.group(1)}f" if decimals
                else "%.1f" if dtype.is_float() else "localized")
    return config


def table(frame: pl.DataFrame, file_name: str, columns: Sequence[str] | None = None, *, key: str | None = None,
          terms: str = "circ", where: Any = st, **kwargs: Any) -> None:
    """A table with its CSV download, as the viewer may see it, in the user's language."""
    raw = frame.select(columns) if columns is not None else frame
    reader_level = bool(_reader_level(raw))
    raw = shown(raw)
    if terms == "places":
        raw = _place_words(raw)
    headings = {c: label(c, terms) for c in raw.columns}
    config = _config(raw, headings) | dict(kwargs.pop("column_config", None) or {})
    out = raw.rename(headings)
    if out.is_empty():  # words, not a grid of blank rows
        where.caption(tr("empty_table"))
        return
    where.dataframe(out, hide_index=True, width="stretch", placeholder="—", column_config=config, **kwargs)
    download(out, file_name, key=key, where=where, reader_level=reader_level and sees_readers())


def metric(label_text: str, value: object, *, where: Any = st, readers: bool = False, **kwargs: Any) -> None:
    """One card. `readers=True` says the value counts readers (suppressed for officials from 1 to 9)."""
    if readers and not sees_readers() and isinstance(value, int) and 1 <= value <= 9:
        value, kwargs = SHOWN["primary"], {k: v for k, v in kwargs.items() if k != "delta"}
    where.metric(label_text, value if isinstance(value, str) else f"{value:,}" if value is not None else "—",
                 border=kwargs.pop("border", True), **kwargs)


def metric_cards(row: dict, keys: tuple[str, ...], before: dict | None = None, per_row: int = 6) -> None:
    """One st.metric per key (named like the query's column), with its definition as help."""
    per_row = min(per_row, len(keys))
    for start in range(0, len(keys), per_row):
        for col, key in zip(st.columns(per_row), keys[start:start + per_row], strict=False):
            same = before is not None and number(key, row[key]) == number(key, before[key])
            value, delta = number(key, row[key]), change(key, row[key], before[key]) if before else None
            if not sees_readers() and key in READER_COUNTS and isinstance(row[key], int) and 1 <= row[key] <= 9:
                value, delta = SHOWN["primary"], None
            col.metric(label(key), value, delta=delta,
                       delta_color="off" if same else "inverse" if key in LOWER_IS_BETTER else "normal",
                       delta_arrow="off" if same else "auto", help=definition(_entry(key) or key, lang()) or None,
                       border=True)


def _pseudonyms_in(figure: go.Figure) -> bool:
    def texts(v: object) -> list[str]:
        if isinstance(v, str):
            return [v]
        if isinstance(v, (list, tuple)):
            return [s for x in v for s in texts(x)]
        if hasattr(v, "tolist"):
            return texts(v.tolist())
        return []
    words_found = [s for trace in figure.data for prop in ("x", "y", "text", "customdata", "hovertext", "labels",
                                                           "ids") for s in texts(getattr(trace, prop, None))]
    return any(PSEUDONYM.search(w) for w in words_found)


def _has_points(figure: go.Figure) -> bool:
    """Whether any trace draws a point (legend-only traces hold None)."""
    for trace in figure.data:
        for prop in ("x", "y", "values", "z"):
            values = getattr(trace, prop, None)
            if values is not None and any(v is not None for v in (values.tolist() if hasattr(values, "tolist")
                                                                  else list(values))):
                return True
    return False


def chart(figure: go.Figure, *, where: Any = st, key: str | None = None, **kwargs: Any) -> None:
    """A plotly chart. A chart with nothing to draw says so in words (not empty axes). For officials a chart whose
    data holds a reader pseudonym is not drawn (a bug in the page: it should have drawn `chart_data(frame)`)."""
    if not _has_points(figure):
        title = figure.layout.title.text if figure.layout.title and figure.layout.title.text else ""
        where.info(tr("empty_chart", title=title) if title else tr("empty_chart_untitled"),
                   icon=":material/filter_alt_off:")
        return
    if not sees_readers() and _pseudonyms_in(figure):
        where.warning(tr("access_chart_withheld"))
        return
    config = {"displaylogo": False} | dict(kwargs.pop("config", None) or {})
    where.plotly_chart(figure, key=key, config=config, **kwargs)
