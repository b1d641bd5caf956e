"""What every page shares: language, role, the sidebar filters kept in the URL, the "as of" line, downloads."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from microbranch.i18n import definition, entries, t
from microbranch.privacy_tables import SHOWN, suppression
from ui import data

ROLES = ("manager", "staff", "official")
WALKS = (5, 10, 15)
KEPT = ("role", "lang", "from", "to", "kinds", "hosts", "branches", "walk")  # the URL's state, kept across pages
MAIN = Path(__file__).resolve().parent.parent / "dashboard.py"


def carry_params() -> None:
    """Keep role, language and filters when the user moves to another page (navigation drops the URL's query)."""
    kept = st.session_state.setdefault("_kept", {})
    for name in KEPT:
        if name in st.query_params:
            kept[name] = st.query_params[name]
        elif kept.get(name):
            st.query_params[name] = kept[name]


def deep_link() -> tuple[str, dict[str, str]] | None:
    """The page and query a first visit asked for, when it reached a page before the shell (see `_guard`)."""
    return st.session_state.pop("_deep_link", None)


def _running_page() -> str:
    """The url path of the page script calling us: the name of the file in pages/ on the stack."""
    frame = sys._getframe(1)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.parent.name == "pages":
            return path.stem
        frame = frame.f_back
    return ""


def _guard() -> None:
    """On a fresh server the first deep link can run a page without dashboard.py (streamlit#9624), skipping the
    role gate and the navigation: send it through the shell, which then opens the page asked for."""
    if st.session_state.get("_shell_ran"):
        return
    st.session_state["_deep_link"] = (_running_page(), st.query_params.to_dict())
    try:
        st.switch_page(MAIN)
    except StreamlitPageNotFoundError:  # the page runs as an app of its own: its own role checks apply
        st.session_state.pop("_deep_link")


def lang() -> str:
    return "en" if st.query_params.get("lang") == "en" else "zh"


def tr(key: str, **fmt: object) -> str:
    return t(key, lang(), **fmt)


def role() -> str:
    r = st.query_params.get("role", "manager")
    return r if r in ROLES else "manager"


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    kinds: tuple[str, ...]
    host_types: tuple[str, ...]
    branch_ids: tuple[str, ...]
    walk_minutes: int

    @property
    def period(self) -> dict[str, object]:
        return {"date_from": self.date_from, "date_to": self.date_to}


def _param_list(name: str) -> list[str]:
    raw = st.query_params.get(name, "")
    return [v for v in raw.split(",") if v]


def _keep(name: str, values: list[str] | str) -> None:
    text = ",".join(values) if isinstance(values, list) else values
    st.session_state.setdefault("_kept", {})[name] = text
    if text:
        st.query_params[name] = text
    elif name in st.query_params:
        del st.query_params[name]


KINDS = ("central", "branch", "micro")
HOSTS = ("enterprise", "school", "community", "institution", "other")


def _known(name: str, allowed: object, dropped: list[str]) -> list[str]:
    """The URL's values for `name` that are among `allowed`; the parameter is noted in `dropped` if any was not."""
    values = _param_list(name)
    kept = [v for v in dict.fromkeys(values) if v in allowed]  # type: ignore[operator]
    if len(kept) != len(values):
        dropped.append(name)
    return kept


def _period(first: date, last: date, dropped: list[str]) -> tuple[date, date, bool]:
    """The URL's period within the data's days: an unreadable date is dropped, one outside is clamped."""
    picked = []
    for name, default in (("from", first), ("to", last)):
        raw = st.query_params.get(name, "")
        try:
            day = date.fromisoformat(raw) if raw else default
        except ValueError:
            dropped.append(name)
            day = default
        picked.append(day)
    d_from, d_to = picked
    clamped = not (first <= d_from <= last and first <= d_to <= last)
    d_from, d_to = min(max(d_from, first), last), min(max(d_to, first), last)
    if d_from > d_to:
        d_from, d_to = first, last
    return d_from, d_to, clamped


PREFIX = "南沙图书馆"


def short_name(name: str | None) -> str | None:
    """A branch's name without the common "南沙图书馆" prefix, where space is short (full name on hover)."""
    if name and name.startswith(PREFIX) and len(name) > len(PREFIX):
        return name[len(PREFIX):]
    return name


def widget_words() -> None:
    """The file uploader's own words (drop here, size limit, browse) in the UI language: Streamlit writes them in
    English only, so they are hidden and written again from the catalogue."""
    limit = st.get_option("server.maxUploadSize")
    hint = tr("mgr_uploader_hint", mb=limit).replace('"', "'")
    browse = tr("mgr_uploader_browse").replace('"', "'")
    st.html(f"""<style>
[data-testid="stFileUploaderDropzoneInstructions"] > div > span,
[data-testid="stFileUploaderDropzoneInstructions"] > div > small {{display: none;}}
[data-testid="stFileUploaderDropzoneInstructions"] > div::after {{content: "{hint}"; font-size: 0.9rem;}}
[data-testid="stFileUploaderDropzone"] button {{font-size: 0;}}
[data-testid="stFileUploaderDropzone"] button::after {{content: "{browse}"; font-size: 0.9rem;}}
</style>""")


def filters() -> Filters:
    """The sidebar: period, branch kinds, host types, branches, walking threshold; all kept in the URL.

    A link may carry any text: values the data does not have are left out, dates outside it are brought within
    it, and the sidebar says so (naming the parameter, never echoing the value)."""
    _guard()
    status = data.q("data_status").row(0, named=True)
    first, last = status["first_day"] or date.today(), status["as_of"] or date.today()
    branches = data.q("branch_list")
    sb = st.sidebar
    dropped: list[str] = []
    url_from, url_to, clamped = _period(first, last, dropped)
    picked = sb.date_input(tr("period"), value=(url_from, url_to),
                           min_value=first, max_value=last, key="f_period")
    d_from, d_to = (picked[0], picked[1]) if isinstance(picked, tuple) and len(picked) == 2 else (first, last)
    kinds = sb.multiselect(tr("branch_kinds"), KINDS, default=_known("kinds", KINDS, dropped),
                           format_func=lambda k: tr(f"kind_{k}"), placeholder=tr("all"), key="f_kinds")
    hosts = sb.multiselect(tr("host_types"), HOSTS, default=_known("hosts", HOSTS, dropped),
                           format_func=lambda h: tr(f"host_{h}"), placeholder=tr("all"), key="f_hosts")
    options = branches.filter(
        (pl.lit(not kinds) | pl.col("kind").is_in(kinds)) & (pl.lit(not hosts) | pl.col("host_type").is_in(hosts))
    )
    names = dict(zip(options["branch_id"], options["name"], strict=True))
    chosen = _known("branches", names, dropped)
    picked_branches = sb.multiselect(tr("branches"), list(names), default=chosen,
                                     format_func=lambda b: short_name(names[b]), placeholder=tr("all"),
                                     key="f_branches")
    raw_walk = st.query_params.get("walk", "15") or "15"
    if raw_walk not in ("5", "10", "15"):
        dropped.append("walk")
    walk = int(raw_walk) if raw_walk in ("5", "10", "15") else 15
    walk = sb.segmented_control(tr("walk_threshold"), WALKS, default=walk,
                                format_func=lambda m: tr("mgr_minutes_chip", m=m), key="f_walk") or 15
    if dropped:
        sb.warning(tr("url_values_dropped", names=", ".join(dict.fromkeys(dropped))), icon=":material/link_off:")
    if clamped:
        sb.info(tr("url_period_clamped", first=first.isoformat(), last=last.isoformat()), icon=":material/date_range:")
    _keep("from", d_from.isoformat() if d_from != first else "")
    _keep("to", d_to.isoformat() if d_to != last else "")
    _keep("kinds", kinds)
    _keep("hosts", hosts)
    _keep("branches", picked_branches)
    _keep("walk", str(walk) if walk != 15 else "")
    ids = tuple(picked_branches) if picked_branches else tuple(options["branch_id"]) if (kinds or hosts) else ()
    return Filters(d_from, d_to, tuple(kinds), tuple(hosts), ids, walk)


def as_of_line(needs_events: bool = True) -> None:
    """The data's "as of" date and the data set's name, on every page. Without any events, the page says so and
    (unless it works without them, as the upload does) ends there, rather than showing zeros for today's date."""
    _guard()
    status = data.q("data_status").row(0, named=True)
    data_set = tr("data_set_" + (status["data_set"] if status["data_set"] in ("sample", "mixed") else "uploaded"))
    version = data.version().removesuffix(".duckdb")
    st.caption(tr("as_of_line", as_of=status["as_of"] or "—", data_set=data_set, version=version))
    if not status["events"]:
        st.info(tr("no_events_yet"), icon=":material/info:")
        if needs_events:
            st.stop()


def safe_csv(frame: pl.DataFrame) -> bytes:
    """CSV for Excel: UTF-8 with BOM; a text cell starting with = + - @ tab or CR is prefixed with ' ."""
    texts = [c for c, dt in frame.schema.items() if dt == pl.String]
    safe = frame.with_columns(
        pl.when(pl.col(c).str.contains(r"^[=+\-@\t\r]")).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in texts
    )
    return "\ufeff".encode() + safe.write_csv().encode("utf-8")


def table(frame: pl.DataFrame, file_name: str, key: str | None = None, **kwargs: object) -> None:
    """A table with its CSV download button."""
    st.dataframe(frame, hide_index=True, width="stretch", placeholder="—", **kwargs)
    st.download_button(tr("download_csv"), safe_csv(frame), file_name=file_name, mime="text/csv",
                       key=key or f"dl_{file_name}", icon=":material/download:")


# --- Shared by the circulation pages: headings, number formats, metric cards, reader-count suppression. ---

FORMATS = {"transfer_share": "{:.1%}", "coverage_rate": "{:.1%}", "mean_holders": "{:.2f}", "days_per_holder": "{:.1f}",
           "mean_walk_minutes": "{:.1f}", "mean_walk_minutes_without_micro": "{:.1f}", "turnover": "{:.3f}",
           "overdue_share": "{:.1%}", "share_circulated": "{:.1%}", "dead_share": "{:.1%}",
           "mean_days_overdue": "{:.1f}"}
LOWER_IS_BETTER = ("mean_walk_minutes", "mean_walk_minutes_without_micro")


def _entry(column: str) -> str | None:
    known = entries()
    return next((k for k in (column, f"circ_col_{column}", f"circ_{column}") if k in known), None)


def label(column: str) -> str:
    """A column's heading in the current language: the metric's name, else the pages' word for it."""
    key = _entry(column)
    return tr(key) if key else column


def headed(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with its columns named for the reader (the CSV download keeps these headings)."""
    return frame.rename({c: label(c) for c in frame.columns})


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


def metric_cards(row: dict, keys: tuple[str, ...], before: dict | None = None, per_row: int = 6) -> None:
    """One st.metric per key (named like the query's column), with its definition as help."""
    per_row = min(per_row, len(keys))
    for start in range(0, len(keys), per_row):
        for col, key in zip(st.columns(per_row), keys[start:start + per_row], strict=False):
            same = before is not None and number(key, row[key]) == number(key, before[key])
            col.metric(label(key), number(key, row[key]),
                       delta=change(key, row[key], before[key]) if before else None,
                       delta_color="off" if same else "inverse" if key in LOWER_IS_BETTER else "normal",
                       delta_arrow="off" if same else "auto", help=definition(_entry(key) or key, lang()) or None,
                       border=True)


def readers_for_role(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """For the district official, reader counts from 1 to 9 become `<10` (metrics.md, "Suppression").
    For breakdowns published without totals, so no complementary suppression is needed."""
    if role() != "official":
        return frame
    return frame.with_columns(
        pl.Series(c, [SHOWN[h] if h else None if v is None else f"{v:,}"
                      for v, h in zip(frame[c], suppression(frame[c].to_list(), []), strict=True)], dtype=pl.String)
        for c in columns
    )


def words(frame: pl.DataFrame, column: str, word: Callable[[Any], str]) -> pl.DataFrame:
    """Replace a column's codes by their words (`word(code)`), computed here: `tr` reads the page's URL, which a
    polars worker thread (map_elements) cannot see."""
    mapping = {v: word(v) for v in frame[column].drop_nulls().unique()}
    return frame.with_columns(pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String))
