"""What every page shares: language, role, the sidebar filters kept in the URL, the "as of" line, downloads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
import streamlit as st

from microbranch.i18n import t
from ui import data

ROLES = ("manager", "staff", "official")
WALKS = (5, 10, 15)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    if text:
        st.query_params[name] = text
    elif name in st.query_params:
        del st.query_params[name]


def _date(name: str, default: date) -> date:
    try:
        return date.fromisoformat(st.query_params.get(name, ""))
    except ValueError:
        return default


def filters() -> Filters:
    """The sidebar: period, branch kinds, host types, branches, walking threshold; all kept in the URL."""
    status = data.q("data_status").row(0, named=True)
    first, last = status["first_day"] or date.today(), status["as_of"] or date.today()
    branches = data.q("branch_list")
    sb = st.sidebar
    picked = sb.date_input(tr("period"), value=(_date("from", first), _date("to", last)),
                           min_value=first, max_value=last, key="f_period")
    d_from, d_to = (picked[0], picked[1]) if isinstance(picked, tuple) and len(picked) == 2 else (first, last)
    kinds = sb.multiselect(tr("branch_kinds"), ["central", "branch", "micro"], default=_param_list("kinds"),
                           format_func=lambda k: tr(f"kind_{k}"), placeholder=tr("all"), key="f_kinds")
    hosts = sb.multiselect(tr("host_types"), ["enterprise", "school", "community", "institution", "other"],
                           default=_param_list("hosts"), format_func=lambda h: tr(f"host_{h}"),
                           placeholder=tr("all"), key="f_hosts")
    options = branches.filter(
        (pl.lit(not kinds) | pl.col("kind").is_in(kinds)) & (pl.lit(not hosts) | pl.col("host_type").is_in(hosts))
    )
    names = dict(zip(options["branch_id"], options["name"], strict=True))
    chosen = [b for b in _param_list("branches") if b in names]
    picked_branches = sb.multiselect(tr("branches"), list(names), default=chosen, format_func=lambda b: names[b],
                                     placeholder=tr("all"), key="f_branches")
    walk = int(st.query_params.get("walk", "15")) if st.query_params.get("walk") in ("5", "10", "15") else 15
    walk = sb.segmented_control(tr("walk_threshold"), WALKS, default=walk, format_func=lambda m: f"{m} min",
                                key="f_walk") or 15
    _keep("from", d_from.isoformat() if d_from != first else "")
    _keep("to", d_to.isoformat() if d_to != last else "")
    _keep("kinds", kinds)
    _keep("hosts", hosts)
    _keep("branches", picked_branches)
    _keep("walk", str(walk) if walk != 15 else "")
    ids = tuple(picked_branches) if picked_branches else tuple(options["branch_id"]) if (kinds or hosts) else ()
    return Filters(d_from, d_to, tuple(kinds), tuple(hosts), ids, walk)


def as_of_line() -> None:
    """The data's "as of" date and the data set's name, on every page."""
    status = data.q("data_status").row(0, named=True)
    data_set = tr("data_set_sample") if status["data_set"] == "sample" else tr("data_set_uploaded")
    st.caption(tr("as_of_line", as_of=status["as_of"] or "—", data_set=data_set, version=data.version()))


def safe_csv(frame: pl.DataFrame) -> bytes:
    """CSV for Excel: UTF-8 with BOM; a text cell starting with = + - @ tab or CR is prefixed with ' ."""
    texts = [c for c, dt in frame.schema.items() if dt == pl.String]
    safe = frame.with_columns(
        pl.when(pl.col(c).str.starts_with(FORMULA_START[0])
                | pl.col(c).str.contains(r"^[=+\-@\t\r]"))
        .then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in texts
    )
    return "\ufeff".encode() + safe.write_csv().encode("utf-8")


def table(frame: pl.DataFrame, file_name: str, key: str | None = None, **kwargs: object) -> None:
    """A table with its CSV download button."""
    st.dataframe(frame, hide_index=True, width="stretch", **kwargs)
    st.download_button(tr("download_csv"), safe_csv(frame), file_name=file_name, mime="text/csv",
                       key=key or f"dl_{file_name}", icon=":material/download:")
