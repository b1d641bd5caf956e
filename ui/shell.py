"""What every page shares: the language, the sidebar filters kept in the URL, the "as of" line.

Tables, cards, charts and downloads are drawn by the rendering kit, `ui.kit`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
import streamlit as st

from microbranch import clock, settings
from microbranch.i18n import t
from ui import data

WALKS = (5, 10, 15)
KEPT = ("lang", "from", "to", "kinds", "hosts", "branches", "walk")  # the URL's state, kept across pages; never a role


def carry_params() -> None:
    """Keep language and filters when the user moves to another page (navigation drops the URL's query). A role
    in the URL means nothing (the role is the signed-in account's) and is dropped, so shared links carry none."""
    if "role" in st.query_params:
        del st.query_params["role"]
    kept = st.session_state.setdefault("_kept", {})
    for name in KEPT:
        if name in st.query_params:
            kept[name] = st.query_params[name]
        elif kept.get(name):
            st.query_params[name] = kept[name]


def lang() -> str:
    """`en` when the address says so, else `zh`. Read once per script run: a page asks with every label, and each
    read of st.query_params takes the session's lock (the language button sets it, then starts a new run)."""
    return data.language()


def tr(key: str, **fmt: object) -> str:
    return t(key, lang(), **fmt)


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


def whole_words() -> None:
    """Cards and facet titles say their words whole: a card's title and its comparison wrap onto a second line
    instead of ending in "…" ("Micro-branch…", "较…")."""
    st.html("""<style>
[data-testid="stMetricLabel"] .stMarkdownEllipsis, [data-testid="stMetricLabel"] p,
[data-testid="stMetricDeltaDescription"] .stMarkdownEllipsis, [data-testid="stMetricDeltaDescription"] p
{white-space: normal; overflow: visible; text-overflow: clip;}
[data-testid="stMetricDeltaDescription"] {overflow: visible; white-space: normal; flex: 1 1 9em; min-width: 0;}
div:has(> [data-testid="stMetricDeltaDescription"]) {flex-wrap: wrap; row-gap: 0.25rem;}
[data-testid="stMetricDelta"] {flex-shrink: 0;}
</style>""")


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
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] {{display: none;}}
[data-testid="stFileUploaderDropzone"] button {{font-size: 0;}}
[data-testid="stFileUploaderDropzone"] button::after {{content: "{browse}"; font-size: 0.9rem;}}
</style>""")


def filters() -> Filters:
    """The sidebar: period, branch kinds, host types, branches, walking threshold; all kept in the URL.

    A link may carry any text: values the data does not have are left out, dates outside it are brought within
    it, and the sidebar says so (naming the parameter, never echoing the value)."""
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
    names = data.made(_branch_names, branches, tuple(kinds), tuple(hosts))
    chosen = _known("branches", names, dropped)
    picked_branches = sb.multiselect(tr("branches"), list(names), default=chosen, format_func=names.__getitem__,
                                     placeholder=tr("all"), key="f_branches")
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
    ids = tuple(picked_branches) if picked_branches else tuple(names) if (kinds or hosts) else ()
    return Filters(d_from, d_to, tuple(kinds), tuple(hosts), ids, walk)


def _branch_names(branches: pl.DataFrame, kinds: tuple[str, ...], hosts: tuple[str, ...]) -> dict[str, str]:
    """The branches of these kinds and host types (all where none is chosen): id -> short name, in list order."""
    options = branches.filter(
        (pl.lit(not kinds) | pl.col("kind").is_in(kinds)) & (pl.lit(not hosts) | pl.col("host_type").is_in(hosts)))
    return {b: short_name(n) for b, n in zip(options["branch_id"], options["name"], strict=True)}


def as_of_line(needs_events: bool = True) -> None:
    """The data's "as of" date and the data set's name, on every page. Without any events, the page says so and
    (unless it works without them, as the upload does) ends there, rather than showing zeros for today's date."""
    status = data.q("data_status").row(0, named=True)
    data_set = tr("data_set_" + (status["data_set"] if status["data_set"] in ("sample", "mixed") else "uploaded"))
    version = data.version().removesuffix(".duckdb")
    st.caption(tr("as_of_line", as_of=status["as_of"] or "—", data_set=data_set, version=version))
    if not status["events"]:
        st.info(tr("no_events_yet"), icon=":material/info:")
        if needs_events:
            st.stop()


def freshness() -> None:
    """How old the newest data is: when the last import arrived and the newest event's day; a warning when no
    import arrived for `stale_days` (a setting). Staff see it on every page, managers on the overview."""
    row = data.q("data_freshness").row(0, named=True)
    last = row["last_import_at"]
    if last is None:  # the sample data only: nothing is expected to arrive
        return
    now = clock.now()
    days = max((now - last.replace(microsecond=0)).days, 0)  # both to the second: an import this second is no later
    as_of = row["as_of"]
    words = {"last": f"{last:%Y-%m-%d %H:%M}", "days": days, "as_of": as_of or "—",
             "age": (now.date() - as_of).days if as_of else "—"}
    stale = settings.current().stale_days
    if days >= stale:
        st.warning(tr("fresh_stale", stale=stale, **words), icon=":material/schedule:")
    else:
        st.caption(tr("fresh_line", **words))


def ignores(f: Filters, *names: str) -> None:
    """Say under the title which filters this page does not use (`names`: period_start, branches, kinds, hosts,
    walk); as a warning when one of them is set, so a chosen filter is never silently ignored."""
    if not names:
        return
    text = tr("ignored_filters", names=tr("list_sep").join(tr(f"ignored_{n}") for n in names))
    status = data.q("data_status").row(0, named=True)
    set_now = {"period_start": f.date_from != status["first_day"], "branches": bool(f.branch_ids),
               "kinds": bool(f.kinds), "hosts": bool(f.host_types), "walk": f.walk_minutes != 15}
    if any(set_now.get(n) for n in names):
        st.warning(text, icon=":material/filter_alt_off:")
    else:
        st.caption(text)
