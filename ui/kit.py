"""The rendering kit: every table, card, chart and download of every page goes through here.

The kit knows who is looking: the role of the signed-in account (`ui.signin.viewer()`, kept in the
server-side session; never the URL or a widget). It applies the rulebook (`microbranch.access`) by column name,
before the headings are translated, so a page cannot forget one:

- reader-level columns (`access.READER_LEVEL`) are dropped for officials, and so is any text column
  whose values look like pseudonyms;
- reader counts (`access.READER_COUNTS`) from 1 to 9 are shown as `<10` for officials, with the numbers that
  would give them away (`access.LINKED`, e.g. loans per reader); where a card or a total shows their sum, or a
  community / town / district roll-up (a `level` column) does, the next-smallest is hidden as well (`x`).

API (pages import these; a page never calls st.dataframe, st.metric, st.plotly_chart or
st.download_button itself):

- `table(frame, file_name, columns=None, *, key=None, terms="circ", **dataframe_kwargs)`: the table with
  headings and words in the user's language, numbers formatted, at most `ROWS_SHOWN` rows sent, and its CSV
  download. `terms="places"`
  takes the places pages' words first (community "name", branch "status" ...) and puts words in for the
  codes of kind, host type, status and town; `terms="access"` the audit page's.
- `metric(label, value, *, where=st, readers=False, **metric_kwargs)`: one card; `readers=True` when the
  value is a count of readers.
- `chart(figure, *, where=st, key=None)`: a plotly chart; `chart_data(frame, total=False)`: the frame a chart may
  draw for this viewer (reader-level columns dropped, suppressed reader counts left empty).
- `readers_for_role(frame, *columns, total=False)`: reader counts as the viewer may see them; `total=True` when a
  card or a total beside shows the column's sum (the same counts are hidden in the table and its chart).
- `paged_table(name, params, file_name, orders, *, key)`: a long list paged on the server (one page of the named
  query and its total; the viewer picks order and page), the whole list (`<name>_full`) a download made when asked.
- `shared`: a decorator for figure functions: each figure made once per inputs, language and role, shared by every
  session (a page retitles it with `retitle=`, never changes it).
- `download(frame, file_name, *, key=None, where=st)`: a CSV download on its own (`frame` may be a function: the
  file is then made when asked for).
- `shown(frame)`: the frame as this viewer may see it, raw column names kept.
- `headed(frame)`, `label(column)`, `number(key, value)`, `change(key, now, before)`,
  `words(frame, column, word)`, `town_name(code)`: words and numbers for the reader.
- `page(name)`: every page's first line: the access check (a role not allowed gets a polite refusal and the
  page stops), then the page's title.
- `role()`, `sees_readers()`: the viewer's role, and whether it may see reader-level rows.

A download of reader-level rows is recorded in the audit (who, what, from which address).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import plotly.graph_objects as go
import plotly.io
import polars as pl
import pyarrow as pa
import streamlit as st

from microbranch import access, csvout, numbers
from microbranch.access import LINKED, READER_COUNTS, READER_LEVEL, SHOWN
from microbranch.i18n import entries
from ui import data, signin
from ui.shell import lang, tr

HOSTS = ("enterprise", "school", "community", "institution", "other")

ROWS_SHOWN = 1000  # rows of a table sent to the browser at most; its download holds them all
PAGE_ROWS = 50  # rows of a long list's page (`paged_table`)
EXCEL_ROWS = 1_048_576  # rows of a sheet in Excel, the heading's included: a longer CSV opens cut short

PLAIN = ("rank", "step", "walk_threshold", "holders", "chain_no", "import_id", "line", "month_no")


# --- who is looking ---

def role() -> str:
    """The signed-in viewer's role (see `ui.signin`)."""
    return signin.viewer().role


def sees_readers() -> bool:
    """Whether the viewer may see reader-level rows (pseudonyms) and reader counts as they are (`access`)."""
    return access.sees_readers(role())


def page(name: str) -> None:
    """The access check every page starts with, then the page's title. `name` is the page's key in
    `signin.PAGES`."""
    if not signin.allowed(name):
        signin.refuse(name)
        st.stop()
    st.title(tr(f"page_{name}"))


# --- words ---

def _entry(column: str, terms: str = "circ") -> str | None:
    """A column's catalogue key: the page's own word when it asks for one (`terms="places"`: places_<column>,
    `"access"`: access_<column>), else the metric (catalogue/metrics.toml), else its heading (catalogue/columns.toml,
    circ_col_<column>)."""
    known = entries()
    first = (f"{terms}_{column}",) if terms != "circ" else ()
    return next((k for k in (*first, column, f"circ_col_{column}") if k in known), None)


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


KINDS = {"central", "branch", "micro"}


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
    """A metric's value as shown on its card (`microbranch.numbers`: thousands, shares in %, decimals as the
    catalogue says); a suppressed count as it is."""
    return numbers.text(key, value)


def change(key: str, now: object, before: object) -> str | None:
    """The change of a metric against an earlier value, signed; shares in percentage points; None when either is
    missing or suppressed."""
    return numbers.change(key, now, before, lang())


# --- the privacy rules ---

def _names(columns: Sequence[str]) -> set[str]:
    """The columns and their headings in every language, so a frame headed before it got here is still known."""
    return {*columns, *(t for c in columns for k in (f"circ_col_{c}", f"places_{c}", c) if k in entries()
                        for t in (entries()[k].get("zh"), entries()[k].get("en")) if t)}


def _reader_level(frame: pl.DataFrame) -> list[str]:
    named, looks = _names(READER_LEVEL), access.looks_reader_level(frame)
    return [c for c in frame.columns if c in named or c in looks]


def _hidden(frame: pl.DataFrame, column: str, total: bool) -> list[str | None]:
    """Which of the column's counts this viewer may not see (`access.suppression`); with `total`, a card or a
    total shows their sum."""
    values = frame[column].to_list()
    if "level" in frame.columns and "town_code" in frame.columns:
        return access.suppression(values, access.rollup_sums(frame["level"].to_list(), frame["town_code"].to_list()))
    if not total:
        return access.suppression(values, [])
    return access.suppression([*values, sum(v or 0 for v in values)], [(len(values), range(len(values)))])[:-1]


def readers_for_role(frame: pl.DataFrame, *columns: str, total: bool = False,
                     viewer_role: str | None = None) -> pl.DataFrame:
    """For the district official, reader counts in `columns` as text: `<10` from 1 to 9 (with the numbers linked to
    them), and `x` where a sum shown would give one away: a roll-up's rows (a `level` column), or with
    `total=True` a card or a total of the column beside the table."""
    columns = tuple(c for c in columns if frame.schema[c].is_numeric())  # not those suppressed already
    if access.sees_readers(viewer_role if viewer_role is not None else role()) or not columns:
        return frame
    if viewer_role is None:  # in the page's run: worked out once per frame content, for every session
        return data.made(_suppressed, frame, columns, total)
    return _suppressed(frame, columns, total)


def _suppressed(frame: pl.DataFrame, columns: tuple[str, ...], total: bool) -> pl.DataFrame:
    for c in columns:
        frame = access.hide(frame, c, _hidden(frame, c, total))
    return frame


def shown(frame: pl.DataFrame, viewer_role: str | None = None) -> pl.DataFrame:
    """The frame as the viewer (or `viewer_role`, outside the page's run) may see it: for officials without
    reader-level columns and with reader counts suppressed; for staff and managers as it is."""
    if viewer_role is None:  # in the page's run: worked out once per frame content and role, for every session
        return frame if sees_readers() else data.made(_shown, frame, role())
    return frame if access.sees_readers(viewer_role) else _shown(frame, viewer_role)


def _shown(frame: pl.DataFrame, viewer_role: str) -> pl.DataFrame:
    frame = frame.drop(_reader_level(frame))
    return readers_for_role(frame, *[c for c in frame.columns if c in _names(READER_COUNTS)], viewer_role=viewer_role)


def chart_data(frame: pl.DataFrame, total: bool = False) -> pl.DataFrame:
    """The frame a chart may draw: for officials, no reader-level columns and the counts a table of the same frame
    would hide (`readers_for_role`, with the same `total`) left empty."""
    return frame if sees_readers() else data.made(_chart_data, frame, total)


def _chart_data(frame: pl.DataFrame, total: bool) -> pl.DataFrame:
    frame = frame.drop(_reader_level(frame))
    for c in [c for c in frame.columns if c in _names(READER_COUNTS) and frame.schema[c].is_numeric()]:
        hidden = pl.Series([h is not None for h in _hidden(frame, c, total)], dtype=pl.Boolean)
        frame = frame.with_columns(pl.when(hidden).then(None).otherwise(pl.col(k)).alias(k)
                                   for k in (*[k for k in LINKED.get(c, {}) if k in frame.columns], c))
    return frame


# --- rendering ---

def safe_csv(frame: pl.DataFrame) -> bytes:
    """CSV for Excel: UTF-8 with BOM, formulas neutralised (`microbranch.csvout`)."""
    return csvout.for_excel(frame)


def _recorder(file_name: str, rows: int | None) -> Callable[[], None]:
    said = f"{rows:,} rows" if rows is not None else "rows"

    def record() -> None:
        signin.record("download", f"{file_name} ({said} with reader pseudonyms)")
    return record


def download(frame: pl.DataFrame | Callable[[], pl.DataFrame], file_name: str, *, key: str | None = None,
             where: Any = st, reader_level: bool = False, rows: int | None = None) -> None:
    """A CSV download button. The file is made when it is asked for (the view pays nothing for it): `frame` may be a
    function giving the frame then, already as the viewer may see it and headed. A download of reader-level rows
    (`rows` of them, when known) is recorded in the audit when clicked."""
    label_text, options = tr("download_csv"), {"file_name": file_name, "mime": "text/csv",
                                               "key": key or f"dl_{file_name}", "icon": ":material/download:"}
    on_click = _recorder(file_name, frame.height if isinstance(frame, pl.DataFrame) else rows) if reader_level \
        else "ignore"
    where.download_button(label_text, lambda: safe_csv(frame() if callable(frame) else frame), on_click=on_click,
                          **options)


def _config(raw: pl.DataFrame, headings: dict[str, str]) -> dict[str, Any]:
    """Each numeric column shown by `microbranch.numbers`' rule: thousands, and the catalogue's decimals fixed (the
    step sets them), shares in per cent."""
    config: dict[str, Any] = {}
    for col, head in headings.items():
        dtype = raw.schema[col]
        if dtype == pl.Date:
            config[head] = st.column_config.DateColumn(format="YYYY-MM-DD")
        elif dtype.is_numeric() and col not in PLAIN:
            style = numbers.style(col, 0.0 if dtype.is_float() else 0)
            places = style.decimals + (2 if style.kind == "percent" else 0)
            config[head] = st.column_config.NumberColumn(format="percent" if style.kind == "percent" else "localized",
                                                         step=10 ** -places if places else 1)
    return config


def _rounded(frame: pl.DataFrame) -> pl.DataFrame:
    """Decimal columns rounded to the places they are shown with: the grid's format cuts digits off (0.02778 showed
    as 2.7% under a caption saying 2.8%), rounding first makes both say the same."""
    out = []
    for col, dtype in frame.schema.items():
        if dtype.is_float() and col not in PLAIN:
            style = numbers.style(col, 0.0)
            out.append(pl.col(col).round(style.decimals + (2 if style.kind == "percent" else 0)))
    return frame.with_columns(out) if out else frame


def _suppressed_text(values: list[str | None]) -> bool:
    """Whether a text column is numbers with some of them suppressed (`<10`, `x`): what `access.hide` makes."""
    marks = [v in SHOWN.values() for v in values]
    return any(marks) and all(m or v is None or re.fullmatch(r"-?[\d,]+(\.\d+)?", v)
                              for v, m in zip(values, marks, strict=True))


def csv_words(headings: dict[str, str]) -> dict[str, str]:
    """The CSV's own headings (a share's `%`, a suppression flag's column) in the current language, made with the
    page: the file itself may be made later, outside the page's run (`download`)."""
    return {f"{kind}:{head}": tr(f"csv_{kind}", label=head) for head in headings.values()
            for kind in ("percent", "suppressed")}


def csv_frame(frame: pl.DataFrame, headings: dict[str, str], said: dict[str, str] | None = None) -> pl.DataFrame:
    """The table as its CSV holds it: numbers as numbers (rounded as shown, a share as its per-cent figure under a
    heading that says %, no thousands separators), and a count suppressed for the viewer as an empty cell with a
    flag column beside it (`<10` or `x`). `said`: `csv_words(headings)`, when made outside the page's run."""
    said = said or csv_words(headings)
    columns: list[pl.Series] = []
    for col, head in headings.items():
        values, dtype = frame[col].to_list(), frame.schema[col]
        if dtype.is_numeric() and col not in PLAIN:
            style = numbers.style(col, 0.0 if dtype.is_float() else 0)
            shown = [numbers.csv(col, v) for v in values]
            name = said[f"percent:{head}"] if style.kind == "percent" else head
            whole = all(v is None or isinstance(v, int) for v in shown)
            columns.append(pl.Series(name, shown, dtype=pl.Int64 if whole else pl.Float64))
        elif dtype == pl.String and _suppressed_text(values):  # numbers made text to suppress some of them
            flags = [v if v in SHOWN.values() else None for v in values]
            parsed = [None if v is None or f else float(v.replace(",", "")) for v, f in zip(values, flags, strict=True)]
            whole = all(p is None or p.is_integer() for p in parsed) and "." not in "".join(v or "" for v in values)
            columns.append(pl.Series(head, [None if p is None else int(p) if whole else p for p in parsed],
                                     dtype=pl.Int64 if whole else pl.Float64))
            if any(flags):
                columns.append(pl.Series(said[f"suppressed:{head}"], flags, dtype=pl.String))
        else:
            columns.append(frame[col].alias(head))
    return pl.DataFrame(columns)


def _worded(raw: pl.DataFrame, terms: str) -> pl.DataFrame:
    if terms == "places":
        return _place_words(raw)
    if "kind" in raw.columns and raw.schema["kind"] == pl.String and set(raw["kind"].drop_nulls()) <= KINDS:
        return words(raw, "kind", lambda v: tr(f"kind_{v}"))  # branch kinds in words, on screen and in the CSV
    return raw


_PREPARED = data.Kept(256)  # (frame's content, columns, terms, role, language) -> prepared


def _prepared(frame: pl.DataFrame, columns: Sequence[str] | None, terms: str, brief: tuple[str, ...] = ()) -> tuple:
    """The table as this role sees it, in this language: (raw, headings, grid, config, reader_level). Kept per
    frame content, role and language (the role's rules are applied before keeping), so the next view of a table
    costs a look-up: the named queries' frames come back as the same objects (ui.data), and a frame a page makes
    anew on each view from them is known by its content."""
    key = (data.frame_digest(frame), tuple(columns) if columns is not None else None, terms, brief, role(), lang())
    return data.through(_PREPARED, key, lambda: _prepare(frame, columns, terms, brief))


def _prepare(frame: pl.DataFrame, columns: Sequence[str] | None, terms: str, brief: tuple[str, ...]) -> tuple:
    raw = frame.select(columns) if columns is not None else frame
    reader_level = bool(_reader_level(raw))
    raw = _worded(shown(raw), terms)
    headings = {c: label(c, terms) for c in raw.columns}
    grid, config = _grid_frame(_briefly(raw.head(ROWS_SHOWN), brief), headings)
    return raw, headings, grid, config, reader_level


BRIEF = 3  # names of a list shown in a cell of a grid (`table(brief=...)`); the download holds them all


def _briefly(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    """Lists of names ("、" between them) cut to their first `BRIEF` names and how many more."""
    for column in columns:
        names = pl.col(column).str.split("、")
        more = pl.format(tr("pages_more_names", n="{}"), names.list.len() - BRIEF)
        frame = frame.with_columns(pl.when(names.list.len() > BRIEF)
                                   .then(pl.concat_str(names.list.head(BRIEF).list.join("、"), more))
                                   .otherwise(pl.col(column)).alias(column))
    return frame


def table(frame: pl.DataFrame, file_name: str, columns: Sequence[str] | None = None, *, key: str | None = None,
          terms: str = "circ", where: Any = st, brief: Sequence[str] = (), **kwargs: Any) -> None:
    """A table with its CSV download, as the viewer may see it, in the user's language. At most `ROWS_SHOWN` rows
    go to the browser (a caption says how many there are), and in the `brief` columns (lists of names) at most
    `BRIEF` names a cell; the download holds them all."""
    raw, headings, grid, config, reader_level = _prepared(frame, columns, terms, tuple(brief))
    if raw.is_empty():  # words, not a grid of blank rows
        where.caption(tr("empty_table"))
        return
    where.dataframe(grid, hide_index=True, width="stretch", placeholder="—",
                    column_config=config | dict(kwargs.pop("column_config", None) or {}), **kwargs)
    if raw.height > ROWS_SHOWN:
        where.caption(tr("pages_rows_first", shown=f"{ROWS_SHOWN:,}", total=f"{raw.height:,}"))
    said = csv_words(headings)
    download(lambda: csv_frame(raw, headings, said), file_name, key=key, where=where,
             reader_level=reader_level and sees_readers(), rows=raw.height)


def _arrow(frame: pl.DataFrame) -> pa.Table:
    """The grid's rows as Arrow, which st.dataframe sends as they are (a polars frame it converts through pandas on
    every view); strings in Arrow's standard width, as the browser's table reads them."""
    table = frame.to_arrow(compat_level=pl.CompatLevel.oldest())
    return table.cast(pa.schema([f.with_type(pa.string()) if f.type == pa.large_string() else f
                                 for f in table.schema]))


def _grid_frame(raw: pl.DataFrame, headings: dict[str, str]) -> tuple[pa.Table, dict[str, Any]]:
    """The rows on screen (as Arrow) and their column config; a row of one branch links to its page
    (`/branch?branch=<id>`) in a last column."""
    config = _config(raw, headings)
    out = _rounded(raw).rename(headings)
    if "branch_id" in raw.columns and raw.schema["branch_id"] == pl.String:
        link = tr("pages_branch_link")
        language = "&lang=en" if lang() == "en" else ""
        out = out.with_columns(pl.when(pl.col(headings["branch_id"]).is_not_null())
                               .then(pl.lit("branch?branch=") + pl.col(headings["branch_id"]) + pl.lit(language))
                               .alias(link))
        config[link] = st.column_config.LinkColumn(link, display_text=link)
    return _arrow(out), config


def _grid(raw: pl.DataFrame, headings: dict[str, str], where: Any, **kwargs: Any) -> None:
    out, config = _grid_frame(raw, headings)
    where.dataframe(out, hide_index=True, width="stretch", placeholder="—",
                    column_config=config | dict(kwargs.pop("column_config", None) or {}), **kwargs)


CHAIN_STATUSES = ("returned", "open", "unterminated")


def _statuses(frame: pl.DataFrame) -> pl.DataFrame:
    """A drift chain's status in words (`circ_status_<status>`)."""
    if "status" in frame.columns and set(frame["status"].drop_nulls()) <= set(CHAIN_STATUSES):
        return words(frame, "status", lambda s: tr(f"circ_status_{s}"))
    return frame


def paged_table(name: str, params: dict[str, Any], file_name: str, orders: Sequence[str], *, key: str,
                columns: Sequence[str] | None = None, where: Any = st, rows: int = PAGE_ROWS, **kwargs: Any) -> int:
    """A long list paged on the server: the named query `name` gives one page (`$sort`, `$page_size`, `$skip`) and
    its `total`; the viewer picks the order and the page; the download is the whole list (`<name>_full`), made
    when asked for, if an Excel sheet holds it whole (else the viewer is told to narrow it). `columns`: those shown
    and downloaded (default all). Chain statuses in words. Returns the total."""
    left, right, rest = where.columns([2, 1, 3], vertical_alignment="bottom")
    order = left.selectbox(tr("pages_order"), orders, key=f"{key}_order",
                           format_func=lambda o: tr(f"pages_order_{o}"))
    first = data.q(name, **params, sort=order, page_size=rows, skip=0)
    total = int(first["total"][0]) if first.height else 0
    pages = max(1, -(-total // rows))
    number = right.number_input(tr("pages_page", pages=f"{pages:,}"), min_value=1, max_value=pages, value=1, step=1,
                                key=f"{key}_page") if pages > 1 else 1
    part = first if number == 1 else data.q(name, **params, sort=order, page_size=rows, skip=(number - 1) * rows)
    part = part.drop("total", "total_loans", strict=False)
    raw = _statuses(_worded(shown(part.select(columns) if columns is not None else part), "circ"))
    headings = {c: label(c) for c in raw.columns}
    if raw.is_empty():
        where.caption(tr("empty_table"))
        return total
    whole_fits = total < EXCEL_ROWS  # a longer list is not made at all: Excel would drop its end unsaid
    rest.caption(tr("pages_rows_of" if whole_fits else "pages_rows_of_no_download",
                    first=f"{(number - 1) * rows + 1:,}", last=f"{(number - 1) * rows + raw.height:,}",
                    total=f"{total:,}"))
    _grid(raw, headings, where, **kwargs)
    if not whole_fits:
        where.caption(tr("pages_too_long_to_download", total=f"{total:,}", limit=f"{EXCEL_ROWS - 1:,}"))
        return total
    reader_level = bool(_reader_level(part)) and sees_readers()
    said, role_now, kinds = csv_words(headings), role(), {k: tr(f"kind_{k}") for k in KINDS}
    statuses = {s: tr(f"circ_status_{s}") for s in CHAIN_STATUSES}
    full_list = data.full_list(name, **params)

    def whole() -> pl.DataFrame:  # made outside the page's run: everything it needs was taken with the page
        full = shown(full_list(), role_now)
        for column, spelled in (("kind", kinds), ("status", statuses)):
            if column in full.columns:
                full = full.with_columns(pl.col(column).replace_strict(spelled, default=pl.col(column),
                                                                       return_dtype=pl.String))
        return csv_frame(full.select(list(headings)), headings, said)

    download(whole, file_name, key=f"dl_{key}", where=where, reader_level=reader_level, rows=total)
    return total


def metric(label_text: str, value: object, *, where: Any = st, readers: bool = False, **kwargs: Any) -> None:
    """One card. `readers=True` says the value counts readers (suppressed for officials from 1 to 9)."""
    if readers and not sees_readers() and access.small(value):
        value, kwargs = SHOWN[access.PRIMARY], {k: v for k, v in kwargs.items() if k != "delta"}
    where.metric(label_text, value if isinstance(value, str) else f"{value:,}" if value is not None else "—",
                 border=kwargs.pop("border", True), **kwargs)


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
    return any(access.PSEUDONYM.search(w) for w in words_found)


def _has_points(figure: go.Figure) -> bool:
    """Whether any trace draws something (legend-only traces hold None; a Sankey draws its links)."""
    def some(values: object) -> bool:
        items = values.tolist() if hasattr(values, "tolist") else list(values or [])  # type: ignore[call-overload]
        return any(v is not None for v in items)

    for trace in figure.data:
        if trace.type == "sankey":
            if some(trace.link.value):
                return True
            continue
        held = [getattr(trace, prop, None) for prop in ("x", "y", "values", "z", "lat")]
        if any(v is not None and some(v) for v in held):
            return True
    return False


def wrapped(title: str) -> str:
    """A chart title too long for half a page, broken after its colon onto a second line (plotly never wraps a title,
    it cuts it at the chart's edge)."""
    for sep, room in (("：", 20), (": ", 36)):
        head, found, tail = title.partition(sep)
        if found and tail and len(title) > room:
            return f"{head}{found.rstrip()}<br>{tail}"
    return title


def titled(fig: go.Figure, title: str) -> go.Figure:
    """The figure with `title` (wrapped where long) and room above the plot for its lines."""
    text = wrapped(title)
    top = 50 + 30 * text.count("<br>")
    return fig.update_layout(title=text, margin={"t": max(top, fig.layout.margin.t or 0)})


class _Shared(go.Figure):
    """A figure made once and shared by every session (`shared`), never changed after: the dict Streamlit asks of it
    on every view is made once too (plotly deep-copies the whole figure on each `to_dict`), and so is its JSON."""

    def to_dict(self) -> dict:
        made = self.__dict__.get("_microbranch_dict")
        if made is None:
            made = _SharedDict(super().to_dict())
            self._microbranch_dict = made
        return made


class _SharedDict(dict):
    """A shared figure's dict, never changed: its JSON is kept beside it (`_to_json`)."""

    json: str | None = None


_plotly_to_json = plotly.io.to_json


def _to_json(fig: object, *args: object, **kwargs: object) -> str:
    """plotly.io.to_json, which st.plotly_chart calls with the figure's dict on every view: a shared figure's JSON is
    made once (plotly walks the whole figure to clean it for JSON each time: a quarter of a view of the residents
    page, with its two maps)."""
    if type(fig) is _SharedDict and not args and kwargs == {"validate": False}:
        if fig.json is None:
            fig.json = _plotly_to_json(fig, validate=False)
        return fig.json
    return _plotly_to_json(fig, *args, **kwargs)


plotly.io.to_json = _to_json


@st.cache_resource(max_entries=1024, show_spinner=False, hash_funcs={pl.DataFrame: data.frame_digest})
def _figure(name: str, _build: Callable[..., go.Figure], language: str, viewer_role: str, retitle: str | None,
            args: tuple, kwargs: dict) -> go.Figure:  # called with keywords only (see ui.data)
    fig = _build(*args, **kwargs)
    return _Shared(titled(fig, retitle) if retitle is not None else fig)


def shared(build: Callable[..., go.Figure]) -> Callable[..., go.Figure]:
    """A chart function whose figures are made once per inputs (frames by content), language and viewer role, and
    shared by every session: the page's next view and the next viewer's cost nothing but sending it. A page names a
    chart with `retitle=`, never by changing the figure it got (other sessions hold the same one)."""
    @functools.wraps(build)
    def figure(*args: object, retitle: str | None = None, **kwargs: object) -> go.Figure:
        language, viewer_role = lang(), role()
        name = f"{build.__module__}.{build.__qualname__}@{build.__code__.co_filename}"  # pages all live in __main__
        return data.through(
            _FIGURES, (name, language, viewer_role, retitle, data.key_of(args), data.key_of(kwargs)),
            lambda: _figure(name=name, _build=build, language=language, viewer_role=viewer_role, retitle=retitle,
                            args=args, kwargs=kwargs))
    return figure


_FIGURES = data.Kept(1024)


def chart(figure: go.Figure, *, where: Any = st, key: str | None = None, **kwargs: Any) -> None:
    """A plotly chart. A chart with nothing to draw says so in words (not empty axes). For officials a chart whose
    data holds a reader pseudonym is not drawn (a bug in the page: it should have drawn `chart_data(frame)`)."""
    checked = getattr(figure, "_microbranch_checked", None)  # a shared figure (charts.shared) is checked once
    if checked is None:
        checked = (_has_points(figure), _pseudonyms_in(figure))
        figure._microbranch_checked = checked
    has_points, pseudonyms = checked
    if not has_points:
        title = (figure.layout.title.text or "").replace("<br>", " ") if figure.layout.title else ""
        where.info(tr("empty_chart", title=title) if title else tr("empty_chart_untitled"),
                   icon=":material/filter_alt_off:")
        return
    if not sees_readers() and pseudonyms:
        where.warning(tr("access_chart_withheld"))
        return
    config = {"displaylogo": False} | dict(kwargs.pop("config", None) or {})
    where.plotly_chart(figure, key=key, config=config, **kwargs)
