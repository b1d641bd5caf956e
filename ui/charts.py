"""Figures of the circulation pages: each takes the polars frame of a named query and returns a plotly figure
with its title, axis units and labels in the current language."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import plotly.express as px
import plotly.graph_objects as go
import polars as pl

from microbranch import numbers
from ui import data
from ui.kit import label, shared, titled, town_name, words
from ui.shell import short_name, tr

KIND_COLOURS = {"central": "#1b2a49", "branch": "#2f6fdb", "micro": "#7b3fbf", "unknown": "#a0a0a0",
                "others": "#d0d0d0"}
TOP = 15  # branches drawn one by one in a chart over branches; the rest are summed as others
LOAN_COLOURS = {"checkouts": "#2f6fdb", "transfers": "#e67700"}
STATUS_COLOURS = {"returned": "#2b8a3e", "open": "#e67700", "unterminated": "#a0a0a0"}


def _layout(fig: go.Figure, title: str, x: str | None = None, y: str | None = None, **more: object) -> go.Figure:
    fig.update_layout(xaxis_title=x, yaxis_title=y, legend_title_text="",
                      margin={"l": 10, "r": 10, "t": 50, "b": 10}, **more)
    titled(fig, title)
    _numeric_dates(fig)
    return fig


def _numeric_dates(fig: go.Figure) -> None:
    """Date axes in numbers (2024-05, 2024-05-06), never plotly's English month names ("May 2024")."""
    def dated(values: object) -> bool:
        first = next(iter(values), None) if values is not None else None
        return isinstance(first, (date, datetime)) or type(first).__name__ == "datetime64"

    for trace in fig.data:
        if getattr(trace, "x", None) is not None and dated(trace.x):
            fig.update_xaxes(tickformat=fig.layout.xaxis.tickformat or "%Y-%m-%d", hoverformat="%Y-%m-%d")
            return


def _short(frame: pl.DataFrame, column: str = "name", to: str = "short") -> pl.DataFrame:
    mapping = {n: short_name(n) for n in frame[column].drop_nulls().unique()}
    return frame.with_columns(pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String).alias(to))


def split_micro(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The central library and town branches, and the micro-branches: charted apart, so a branch ten times the
    others does not squeeze the micro-branches into slivers."""
    micro, others = data.split(frame, "kind", "micro")  # the same two frames on every view
    return others, micro


def top(frame: pl.DataFrame, value: str | pl.Expr, n: int = TOP,
        ratio: tuple[str, str, str] | None = None) -> tuple[pl.DataFrame, int, float]:
    """The `n` rows with the largest `value`, and how many rows are left out and their sum of `value`. With
    `ratio` (column, numerator, denominator), the rest become one more row, "others", whose ratio is the sum of
    numerators over the sum of denominators (a share or a rate is not summed)."""
    key = pl.col(value) if isinstance(value, str) else value
    ranked = frame.sort(key, descending=True, nulls_last=True)
    if {"name", "branch_id"} <= set(frame.columns):  # two branches of one name are two bars: each with its id
        same = pl.col("name").is_duplicated() & pl.col("branch_id").is_not_null()
        ranked = ranked.with_columns(pl.when(same).then(pl.col("name") + " · " + pl.col("branch_id"))
                                     .otherwise(pl.col("name")).alias("name"))
    if frame.height <= n:
        return ranked, 0, 0
    head, rest = ranked.head(n), ranked.slice(n)
    rest_sum = rest.select(key.sum()).item() or 0
    if ratio is None:
        return head, rest.height, rest_sum
    column, num, den = ratio
    sums = {c: rest[c].sum() for c, d in frame.schema.items() if d.is_numeric() and c != column}
    row = {c: None for c in frame.columns} | sums | {"name": tr("pages_others", n=rest.height), "kind": "others",
                                                     column: sums[num] / sums[den] if sums.get(den) else None}
    return pl.concat([head, pl.DataFrame([row], schema=frame.schema, strict=False)]), rest.height, rest_sum


def _others_note(fig: go.Figure, left_out: int, total: float, unit: str = "") -> go.Figure:
    """Say above the chart how many branches are left out of it and their sum."""
    if left_out:
        fig.add_annotation(x=1, y=1, xref="paper", yref="paper", xanchor="right", yanchor="bottom", showarrow=False,
                           font={"size": 11, "color": "#555"},
                           text=tr("pages_others_note", n=f"{left_out:,}", value=f"{total:,.0f}{unit}"))
    return fig


def _kind(frame: pl.DataFrame, column: str = "kind") -> pl.DataFrame:
    words = {k: tr(f"kind_{k}") for k in ("central", "branch", "micro")} | {"others": tr("pages_others_legend")}
    unknown = tr("circ_unknown_branch")
    return frame.with_columns(pl.col(column).replace_strict(words, default=unknown).alias("kind_label"))


def _kind_colours() -> dict[str, str]:
    out = {tr(f"kind_{k}"): c for k, c in KIND_COLOURS.items() if k not in ("unknown", "others")}
    out[tr("pages_others_legend")] = KIND_COLOURS["others"]
    return out | {tr("circ_unknown_branch"): KIND_COLOURS["unknown"]}


def _loans_long(frame: pl.DataFrame, by: str | list[str]) -> pl.DataFrame:
    """checkouts / transfers columns as rows, named in the current language."""
    return frame.unpivot(["checkouts", "transfers"], index=by, variable_name="loan_kind", value_name="n").with_columns(
        pl.col("loan_kind").replace_strict({k: label(k) for k in LOAN_COLOURS}).alias("loan_kind"))


def _loan_colours() -> dict[str, str]:
    return {label(k): c for k, c in LOAN_COLOURS.items()}


# --- Overview ---

@shared
def loans_by_week_kind(frame: pl.DataFrame, date_from: date, date_to: date) -> go.Figure:
    data = _kind(frame)
    fig = px.bar(data, x="week", y="loans", color="kind_label", color_discrete_map=_kind_colours(),
                 hover_data={"checkouts": True, "transfers": True},
                 labels={"week": tr("circ_week"), "loans": label("loans"), "kind_label": tr("circ_kind"),
                         "checkouts": label("checkouts"), "transfers": label("transfers")})
    _partial(fig, date_from, date_to, "week")
    return _layout(fig, tr("circ_chart_week_kind"), tr("circ_week"), tr("circ_loans_unit"), barmode="stack")


@shared
def transfer_share_by_week(frame: pl.DataFrame) -> go.Figure:
    fig = px.line(frame, x="week", y="transfer_share", markers=True, hover_data={"loans": True},
                  labels={"week": tr("circ_week"), "transfer_share": label("transfer_share"), "loans": label("loans")})
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(fig, tr("circ_chart_transfer_share"), tr("circ_week"), label("transfer_share"))


@shared
def top_branches(frame: pl.DataFrame, n: int = 10) -> go.Figure:
    top = _short(frame.filter(pl.col("loans") > 0).head(n))
    fig = px.bar(_loans_long(top.select("short", "name", "checkouts", "transfers"), ["short", "name"]), x="n",
                 y="short", color="loan_kind", orientation="h", color_discrete_map=_loan_colours(), hover_name="name",
                 hover_data={"short": False},
                 labels={"n": tr("circ_loans_unit"), "short": tr("circ_branch"), "loan_kind": tr("circ_loan_kind")})
    fig.update_yaxes(categoryorder="array", categoryarray=top["short"].reverse().to_list())
    return _layout(fig, tr("circ_chart_top_branches", n=len(top)), tr("circ_loans_unit"), None, barmode="stack")


@shared
def adrift_by_branch(frame: pl.DataFrame) -> go.Figure:
    shown, left_out, rest = top(frame, "copies_adrift")
    data = _short(_kind(shown).with_columns(pl.col("name").fill_null(tr("circ_unknown_branch"))))
    fig = px.bar(data, x="copies_adrift", y="short", color="kind_label", orientation="h", hover_name="name",
                 color_discrete_map=_kind_colours(), hover_data={"mean_days_out": ":.0f", "short": False},
                 labels={"copies_adrift": label("copies_adrift"), "short": tr("circ_branch"),
                         "kind_label": tr("circ_kind"), "mean_days_out": label("mean_days_out")})
    fig.update_yaxes(categoryorder="total ascending")
    fig.update_xaxes(type="log")  # the central library's copies would squeeze the micro-branches' into slivers
    _others_note(fig, left_out, rest)
    return _layout(fig, tr("circ_chart_adrift"), tr("circ_copies_unit") + tr("mgr_log_axis"), None,
                   height=max(300, 22 * len(data) + 80))


# --- Loans ---

def _partial(fig: go.Figure, date_from: date, date_to: date, unit: str = "month",
             selected: tuple[date, date] | None = None) -> go.Figure:
    """Pale bars (open points on a line), and a note above them, for the months (weeks from Monday) the drawn days
    cover only in part: a month just begun looks like a drop in loans otherwise. With `selected` (a short period
    drawn among the months around it) the months outside the period are pale and the period is shaded and named."""
    if unit == "month":
        start, end = date_from.replace(day=1), date_to.replace(day=1)
        last_day = (end + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    else:
        start, end = date_from - timedelta(days=date_from.weekday()), date_to - timedelta(days=date_to.weekday())
        last_day = end + timedelta(days=6)
    partial = {m for m, cut in ((start, date_from > start), (end, date_to < last_day)) if cut}
    days = {m.isoformat() for m in partial}  # bars' x come as numpy datetime64, dates or datetimes
    inside = (selected[0].replace(day=1), selected[1]) if selected else None
    for trace in fig.data:
        xs = [str(x)[:10] for x in (trace.x if trace.x is not None else ())]
        out = [inside is not None and not inside[0].isoformat() <= x <= inside[1].isoformat() for x in xs]
        cut = [x in days for x in xs]
        if trace.type == "bar":
            trace.marker.opacity = [0.3 if o else 0.45 if c else 1.0 for o, c in zip(out, cut, strict=True)]
        else:  # a line: the partial month as an open point
            trace.marker.symbol = ["circle-open" if c else "circle" for c in cut]
            trace.marker.size = 9
    for first in sorted(partial):  # a grey band as well, so a line's last point reads as a month begun
        fig.add_annotation(x=first, y=1, yref="paper", yanchor="bottom", showarrow=False, font={"size": 11},
                           text=tr(f"circ_partial_{unit}"))
        band = timedelta(days=15 if unit == "month" else 3, hours=12 if unit == "week" else 0)
        fig.add_vrect(x0=first - band, x1=first + band, fillcolor="#868e96", opacity=0.12, line_width=0,
                      layer="below")
    if inside:
        half = timedelta(days=15)
        fig.add_vrect(x0=inside[0] - half, x1=inside[1].replace(day=1) + half, fillcolor="#fab005", opacity=0.15,
                      line_width=0, layer="below")
        fig.add_annotation(x=inside[0], y=1.0, yref="paper", yanchor="top", showarrow=False, font={"size": 11},
                           text=tr("chart_selected_period"), bgcolor="rgba(255,255,255,0.7)")
    return fig


def _month_ticks(fig: go.Figure, months: int, most: int = 12) -> None:
    """A month axis labelled every 1, 2, 3, 6 or 12 months, at most `most` labels: 48 monthly labels in half a page
    run into one another."""
    step = next((s for s in (1, 2, 3, 6, 12) if months <= most * s), 24)
    fig.update_xaxes(dtick=f"M{step}", tickformat="%Y-%m")


@shared
def loans_by_month(frame: pl.DataFrame, date_from: date, date_to: date,
                   selected: tuple[date, date] | None = None) -> go.Figure:
    """From loans_by_branch_month over [date_from, date_to]: the months' totals over the branches, checkouts and
    transfers stacked; `selected`: the period chosen, when these are the months around it."""
    months = frame.group_by("month").agg(pl.col("checkouts", "transfers").sum()).sort("month")
    fig = px.bar(_loans_long(months, "month"), x="month", y="n", color="loan_kind", color_discrete_map=_loan_colours(),
                 labels={"month": tr("circ_month"), "n": tr("circ_loans_unit"), "loan_kind": tr("circ_loan_kind")})
    _month_ticks(fig, months.height)
    _partial(fig, date_from, date_to, selected=selected)
    return _layout(fig, tr("circ_chart_month"), tr("circ_month"), tr("circ_loans_unit"), barmode="stack")


@shared
def loans_by_branch(frame: pl.DataFrame, branches: pl.DataFrame) -> go.Figure:
    """From loans_by_branch_month: each branch's total over the months, checkouts and transfers stacked."""
    per_branch = (frame.drop_nulls("branch_id").group_by("branch_id").agg(pl.col("checkouts", "transfers").sum())
                  .join(branches.select("branch_id", "name"), on="branch_id", how="left")
                  .with_columns(pl.col("name").fill_null(pl.col("branch_id")))
                  .sort(pl.col("checkouts") + pl.col("transfers"), descending=True))
    per_branch, left_out, rest = top(per_branch, pl.col("checkouts") + pl.col("transfers"))
    per_branch = _short(per_branch)
    fig = px.bar(_loans_long(per_branch.select("short", "name", "checkouts", "transfers"), ["short", "name"]), x="n",
                 y="short", color="loan_kind", orientation="h", color_discrete_map=_loan_colours(), hover_name="name",
                 hover_data={"short": False},
                 labels={"n": tr("circ_loans_unit"), "short": tr("circ_branch"), "loan_kind": tr("circ_loan_kind")})
    fig.update_yaxes(categoryorder="array", categoryarray=per_branch["short"].reverse().to_list())
    _others_note(fig, left_out, rest)
    return _layout(fig, tr("circ_chart_branch"), tr("circ_loans_unit"), None, barmode="stack",
                   height=max(300, 22 * len(per_branch) + 80))


@shared
def readers_by_month(frame: pl.DataFrame, date_from: date, date_to: date,
                     selected: tuple[date, date] | None = None) -> go.Figure:
    fig = px.bar(frame, x="month", y="active_readers", hover_data={"loans": True, "loans_per_reader": ":.2f"},
                 labels={"month": tr("circ_month"), "active_readers": label("active_readers"), "loans": label("loans"),
                         "loans_per_reader": label("loans") + " / " + tr("circ_readers_unit")})
    fig.update_traces(marker_color="#1a9e77")
    _month_ticks(fig, frame["month"].n_unique())
    _partial(fig, date_from, date_to, selected=selected)
    return _layout(fig, tr("circ_chart_readers_month"), tr("circ_month"), tr("circ_readers_unit"))


@shared
def turnover_by_branch(frame: pl.DataFrame) -> go.Figure:
    shown, _, _ = top(frame.filter(pl.col("turnover").is_not_null()), "turnover",
                      ratio=("turnover", "loans", "volumes"))
    data = _short(_kind(shown))
    fig = px.bar(data, x="turnover", y="short", color="kind_label", orientation="h", color_discrete_map=_kind_colours(),
                 hover_name="name", hover_data={"loans": True, "volumes": True, "short": False},
                 labels={"turnover": label("turnover"), "short": tr("circ_branch"), "kind_label": tr("circ_kind"),
                         "loans": label("loans"), "volumes": label("volumes")})
    fig.update_yaxes(categoryorder="total ascending")
    return _layout(fig, tr("circ_chart_turnover"), label("turnover"), None, height=max(300, 22 * len(data) + 80))


@shared
def weekday_hour(frame: pl.DataFrame, value: str = "checkouts") -> go.Figure:
    busy = frame.filter(pl.col(value) > 0)["hour"]
    shown = frame.filter(pl.col("hour").is_between(busy.min(), busy.max())) if len(busy) else frame
    grid = shown.pivot(on="hour", index="weekday", values=value, sort_columns=True).sort("weekday")
    hours = [c for c in grid.columns if c != "weekday"]
    fig = go.Figure(go.Heatmap(
        z=grid.select(hours).to_numpy(), x=[int(h) for h in hours],
        y=[tr(f"circ_weekday_{d}") for d in grid["weekday"]], colorscale="Blues",
        colorbar={"title": {"text": label(value)}},
        hovertemplate="%{y} %{x}:00 — %{z}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(dtick=1)
    return _layout(fig, tr("circ_chart_weekday_hour"), tr("circ_hour"), tr("circ_weekday"))


def clc_name(letter: str | None) -> str:
    return tr(f"circ_clc_{letter}") if letter else tr("circ_clc_none")


@shared
def loans_by_clc(frame: pl.DataFrame) -> go.Figure:
    data = words(frame.with_columns(pl.col("clc_class").alias("class_name")), "class_name", clc_name).with_columns(
        pl.col("class_name").fill_null(tr("circ_clc_none")))
    fig = px.bar(data, x="loans", y="class_name", orientation="h",
                 hover_data={"copies": True, "loans_per_copy": ":.2f"},
                 labels={"loans": label("loans"), "class_name": tr("circ_clc"), "copies": label("copies"),
                         "loans_per_copy": label("loans_per_copy")})
    fig.update_traces(marker_color="#2f6fdb")
    fig.update_yaxes(categoryorder="total ascending")
    return _layout(fig, tr("circ_chart_clc"), tr("circ_loans_unit"), None, height=max(300, 24 * len(data) + 80))


@shared
def loans_by_owner(frame: pl.DataFrame) -> go.Figure:
    data = words(frame, "owner", lambda o: tr(f"circ_owner_{o}"))
    places = numbers.style("loans_per_copy", 0.0).decimals  # as the table beside it writes it
    fig = px.bar(data, x="owner", y="loans_per_copy", text_auto=f".{places}f",
                 hover_data={"copies": True, "loans": True},
                 labels={"owner": label("owner"), "loans_per_copy": label("loans_per_copy"), "copies": label("copies"),
                         "loans": label("loans")})
    fig.update_traces(marker_color=["#2f6fdb", "#d6336c"][: len(data)])
    return _layout(fig, tr("circ_chart_owner"), None, label("loans_per_copy"))


# --- Drift chains ---

@shared
def chains_by_holders(frame: pl.DataFrame) -> go.Figure:
    long = frame.unpivot(list(STATUS_COLOURS), index="holders", variable_name="status", value_name="n").with_columns(
        pl.col("status").replace_strict({s: tr(f"circ_status_{s}") for s in STATUS_COLOURS}))
    fig = px.bar(long, x="holders", y="n", color="status",
                 color_discrete_map={tr(f"circ_status_{s}"): c for s, c in STATUS_COLOURS.items()},
                 labels={"holders": label("holders"), "n": tr("circ_chains_unit"), "status": tr("circ_status")})
    fig.update_xaxes(dtick=1)
    return _layout(fig, tr("circ_chart_holders"), label("holders"), tr("circ_chains_unit"), barmode="stack")


@shared
def chains_by_days_per_holder(frame: pl.DataFrame) -> go.Figure:
    fig = px.bar(frame, x="days_per_holder", y="chains",
                 labels={"days_per_holder": label("days_per_holder"), "chains": tr("circ_chains_unit")})
    fig.update_traces(marker_color="#2b8a3e")
    return _layout(fig, tr("circ_chart_days_per_holder"), tr("circ_days"), tr("circ_chains_unit"))


@shared
def returns_sankey(frame: pl.DataFrame, n: int = 30) -> go.Figure:
    """Start branches on the left, return branches on the right (separate nodes, so a pair never loops)."""
    top = frame.head(n)
    top = _short(_short(top, "start_branch", "start_branch"), "end_branch", "end_branch")
    starts = top["start_branch"].unique(maintain_order=True).to_list()
    ends = top["end_branch"].unique(maintain_order=True).to_list()
    fig = go.Figure(go.Sankey(
        node={"label": starts + ends, "pad": 16, "color": ["#2f6fdb"] * len(starts) + ["#2b8a3e"] * len(ends)},
        link={"source": [starts.index(s) for s in top["start_branch"]],
              "target": [len(starts) + ends.index(e) for e in top["end_branch"]],
              "value": top["chains"].to_list(), "color": "rgba(47,111,219,0.25)"},
        valueformat=",d", valuesuffix=" " + tr("circ_chains_unit")))
    return _layout(fig, tr("circ_chart_sankey", n=len(top)), height=max(420, 34 * max(len(starts), len(ends)) + 80))


@shared
def chain_timeline(steps: pl.DataFrame, item: str, title: str, until: datetime) -> go.Figure:
    """One bar per holder (checkout or transfer until the next hand-over), coloured by chain; returns as marks."""
    held = (steps.filter(pl.col("action").is_in(["checkout", "transfer"]))
            .with_columns(pl.col("held_until").fill_null(until), pl.col("branch").fill_null("—"),
                          (pl.int_range(pl.len()).over("chain_no") + 1).alias("n")))
    held = held.with_columns(
        pl.Series("who", [tr("circ_holder_label", n=n, who=r[:9])
                          for n, r in zip(held["n"], held["reader"], strict=True)], dtype=pl.String),
        pl.Series("chain", [tr("circ_chain_label", n=c) for c in held["chain_no"]], dtype=pl.String),
        pl.Series("at", [tr("circ_checkout_at", branch=b) if a == "checkout" else ""
                         for a, b in zip(held["action"], held["branch"], strict=True)], dtype=pl.String))
    held = words(held, "action", lambda a: tr(f"circ_action_{a}"))
    fig = px.timeline(held, x_start="occurred_at", x_end="held_until", y="who", color="chain", text="at",
                      hover_data={"action": True, "branch": True, "anomaly": True, "who": False, "at": False},
                      labels={"who": tr("circ_holder"), "chain": label("chain"), "action": label("action"),
                              "branch": label("branch"), "anomaly": label("anomaly"),
                              "occurred_at": label("occurred_at"), "held_until": label("held_until")})
    last_holder = held.group_by("chain_no").agg(pl.col("who").last())
    returns = steps.filter(pl.col("action") == "return").join(last_holder, on="chain_no", how="inner")
    if len(returns):
        fig.add_trace(go.Scatter(
            x=returns["occurred_at"].to_list(), y=returns["who"].to_list(), mode="markers+text",
            text=[tr("circ_return_at", branch=b or "—") for b in returns["branch"]], textposition="middle right",
            marker={"symbol": "diamond", "size": 11, "color": "#2b8a3e"}, name=tr("circ_action_return")))
    fig.update_traces(textposition="outside", cliponaxis=False, selector={"type": "bar"})
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickformat="%Y-%m-%d", hoverformat="%Y-%m-%d")  # the bars hold durations: dates named here
    return _layout(fig, tr("circ_chart_timeline", item=item, title=title), label("occurred_at"), tr("circ_holder"),
                   height=max(300, 34 * held["who"].n_unique() + 120))


# --- The whole circulation ---

ACTIVITY_COLOURS = {"checkouts": "#2f6fdb", "transfers": "#e67700", "renewals": "#1a9e77", "returns": "#868e96"}
OVERDUE_COLOURS = {"overdue_1_30": "#fab005", "overdue_31_90": "#f76707", "overdue_over_90": "#c92a2a"}


def _height(rows: int) -> int:
    return max(300, 22 * rows + 100)


@shared
def circulation_by_period(frame: pl.DataFrame, date_from: date, date_to: date, unit: str = "month") -> go.Figure:
    """From circulation_by_period_branch over [date_from, date_to]: the periods' totals of each kind of event, one
    line each; a month (week) the days hold only in part drawn as an open point with a note."""
    totals = frame.group_by("period").agg(pl.col(list(ACTIVITY_COLOURS)).sum()).sort("period")
    long = totals.unpivot(list(ACTIVITY_COLOURS), index="period", variable_name="what", value_name="n").with_columns(
        pl.col("what").replace_strict({k: label(k) for k in ACTIVITY_COLOURS}))
    fig = px.line(long, x="period", y="n", color="what", markers=True,
                  color_discrete_map={label(k): c for k, c in ACTIVITY_COLOURS.items()},
                  labels={"period": tr(f"circ_{unit}"), "n": tr("mgr_events_unit"), "what": ""})
    if unit == "month":
        _month_ticks(fig, totals.height)
    _partial(fig, date_from, date_to, unit)
    title = tr("mgr_chart_circulation" if unit == "month" else "chart_circulation_week")
    return _layout(fig, title, tr(f"circ_{unit}"), tr("mgr_events_unit"))


@shared
def branch_bars(frame: pl.DataFrame, value: str, title: str, unit: str | None = None, share: bool = False,
                hover: tuple[str, ...] = ()) -> go.Figure:
    """One horizontal bar per branch, coloured by kind, short names on the axis and the full name on hover."""
    ratio = (value, *hover[:2]) if share and len(hover) >= 2 else None
    shown, left_out, rest = top(frame.filter(pl.col(value).is_not_null()), value, ratio=ratio)
    data = _short(_kind(shown).with_columns(pl.col("name").fill_null(tr("circ_unknown_branch"))))
    fig = px.bar(data, x=value, y="short", color="kind_label", orientation="h", color_discrete_map=_kind_colours(),
                 hover_name="name", hover_data={"short": False, **{h: True for h in hover}},
                 labels={value: label(value), "short": tr("circ_branch"), "kind_label": tr("circ_kind"),
                         **{h: label(h) for h in hover}})
    fig.update_yaxes(categoryorder="total ascending")
    if share:
        fig.update_xaxes(tickformat=".0%", range=[0, 1])
    elif ratio is None:
        _others_note(fig, left_out, rest)
    return _layout(fig, title, unit or label(value), None, height=_height(len(data)))


@shared
def overdue_by_branch(frame: pl.DataFrame) -> go.Figure:
    """Copies overdue per lending branch, by how long overdue."""
    shown, left_out, rest = top(frame.filter(pl.col("copies_overdue") > 0), "copies_overdue")
    data = _short(shown.with_columns(pl.col("name").fill_null(tr("circ_unknown_branch"))))
    long = data.unpivot(list(OVERDUE_COLOURS), index=["short", "name"], variable_name="band", value_name="n")
    long = long.with_columns(pl.col("band").replace_strict({k: label(k) for k in OVERDUE_COLOURS}))
    fig = px.bar(long, x="n", y="short", color="band", orientation="h", hover_name="name",
                 hover_data={"short": False},
                 color_discrete_map={label(k): c for k, c in OVERDUE_COLOURS.items()},
                 labels={"n": tr("circ_copies_unit"), "short": tr("circ_branch"), "band": ""})
    fig.update_yaxes(categoryorder="total ascending")
    _others_note(fig, left_out, rest)
    return _layout(fig, tr("mgr_chart_overdue"), tr("circ_copies_unit"), None, barmode="stack",
                   height=_height(len(data)))


@shared
def lending_owning(frame: pl.DataFrame) -> go.Figure:
    """Loans by lending branch (rows) and owning branch (columns); colour on a log scale so the central library's
    own loans do not wash out the rest, the loans themselves on hover and in the cells."""
    data = _short(_short(frame.drop_nulls(["lending_branch", "owning_branch"]), "lending_branch", "lending"),
                  "owning_branch", "owning")
    order = data.group_by("owning").agg(pl.col("loans").sum()).sort("loans", descending=True)["owning"].to_list()
    rows = data.group_by("lending").agg(pl.col("loans").sum()).sort("loans", descending=True)["lending"].to_list()
    grid = {(r["lending"], r["owning"]): r["loans"] for r in data.iter_rows(named=True)}
    z = [[grid.get((a, b)) for b in order] for a in rows]
    fig = go.Figure(go.Heatmap(
        z=[[math.log10(v) if v else None for v in line] for line in z], x=order, y=rows, customdata=z,
        colorscale="Blues", showscale=False, xgap=1, ygap=1,
        text=[[f"{v:,}" if v else "" for v in line] for line in z], texttemplate="%{text}", textfont={"size": 9},
        hovertemplate=tr("mgr_hover_lending_owning") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-45)
    return _layout(fig, tr("mgr_chart_lending_owning"), label("owning_branch"), label("lending_branch"),
                   height=max(420, 24 * len(rows) + 200))


@shared
def lending_owning_town(frame: pl.DataFrame) -> go.Figure:
    """From loans_by_lending_owning_town: loans by lending town (rows) and owning town (columns), the same log colour
    as the branch heatmap; the chart for many branches."""
    data = frame.with_columns(pl.col("lending_town_code").alias("lending"), pl.col("owning_town_code").alias("owning"))
    data = words(words(data, "lending", town_name), "owning", town_name).with_columns(
        pl.col("lending", "owning").fill_null(tr("circ_unknown_branch")))
    order = data.group_by("owning").agg(pl.col("loans").sum()).sort("loans", "owning", descending=[True, False])
    rows = data.group_by("lending").agg(pl.col("loans").sum()).sort("loans", "lending", descending=[True, False])
    grid = {(r["lending"], r["owning"]): r["loans"] for r in data.iter_rows(named=True)}
    z = [[grid.get((a, b)) for b in order["owning"]] for a in rows["lending"]]
    fig = go.Figure(go.Heatmap(
        z=[[math.log10(v) if v else None for v in line] for line in z], x=order["owning"].to_list(),
        y=rows["lending"].to_list(), customdata=z, colorscale="Blues", showscale=False, xgap=1, ygap=1,
        text=[[f"{v:,}" if v else "" for v in line] for line in z], texttemplate="%{text}", textfont={"size": 9},
        hovertemplate=tr("mgr_hover_lending_owning") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(tickangle=-45)
    return _layout(fig, tr("pages_chart_lending_owning_town"), tr("pages_owning_town"), tr("pages_lending_town"),
                   height=max(420, 28 * len(rows) + 200))


@shared
def readers_by(frame: pl.DataFrame, column: str, title: str) -> go.Figure:
    """Loans per reader type or age band, with the active readers on hover."""
    data = frame.with_columns(pl.col(column).cast(pl.String).fill_null(tr("mgr_unknown")))
    fig = px.bar(data, x=column, y="loans", hover_data={"active_readers": True, "loans_per_reader": ":.2f"},
                 labels={column: label(column), "loans": label("loans"), "active_readers": label("active_readers"),
                         "loans_per_reader": label("loans_per_reader")})
    fig.update_traces(marker_color="#2f6fdb")
    fig.update_xaxes(type="category")
    return _layout(fig, title, None, tr("circ_loans_unit"))


# --- Stock to move ---

STOCK_COLOURS = {"foreign_here": "#e67700", "own_away": "#2f6fdb"}


@shared
def stock_to_move(frame: pl.DataFrame, title: str) -> go.Figure:
    """Per branch: the copies on its shelves that belong elsewhere against its own copies on other shelves."""
    moving = pl.col("foreign_here") + pl.col("own_away")
    shown, left_out, rest = top(frame.filter(moving > 0), moving)
    data = _short(shown)
    long = data.unpivot(list(STOCK_COLOURS), index=["short", "name"], variable_name="what", value_name="n")
    long = long.with_columns(pl.col("what").replace_strict({k: label(k) for k in STOCK_COLOURS}))
    fig = px.bar(long, x="n", y="short", color="what", orientation="h", barmode="group", hover_name="name",
                 hover_data={"short": False}, color_discrete_map={label(k): c for k, c in STOCK_COLOURS.items()},
                 labels={"n": tr("circ_copies_unit"), "short": tr("circ_branch"), "what": ""})
    fig.update_yaxes(categoryorder="array", categoryarray=data.sort(pl.col("foreign_here") + pl.col("own_away"))[
        "short"].to_list())
    _others_note(fig, left_out, rest)
    return _layout(fig, title, tr("circ_copies_unit"), None, height=max(300, 34 * len(data) + 100))


@shared
def move_routes(routes: pl.DataFrame) -> go.Figure:
    """The move list's busiest routes (moves_by_route): copies to send from one branch to another."""
    routes = (_short(_short(routes, "from_branch", "from"), "to_branch", "to")
              .with_columns((pl.col("from") + " → " + pl.col("to")).alias("route"),
                            (pl.col("from_branch") + " → " + pl.col("to_branch")).alias("full")))
    fig = px.bar(routes, x="copies", y="route", orientation="h", hover_name="full", hover_data={"route": False},
                 labels={"copies": tr("circ_copies_unit"), "route": tr("mgr_route")})
    fig.update_traces(marker_color="#e67700")
    fig.update_yaxes(categoryorder="total ascending")
    return _layout(fig, tr("mgr_chart_routes", n=len(routes)), tr("circ_copies_unit"), None,
                   height=_height(len(routes)))


# --- Readers won and kept ---

GROUP_COLOURS = {"micro": "#7b3fbf", "other": "#2f6fdb"}
CENSORED_COLOUR = "#c8c8c8"


@shared
def new_readers(frame: pl.DataFrame, date_from: date, date_to: date,
                selected: tuple[date, date] | None = None) -> go.Figure:
    """New readers per month, micro-branches against the other branches (grouped, so the smaller shows), on a
    linear axis: one row per `month` and `branch_group`, an empty count (suppressed for the viewer) left out.
    Censored months (the data's warm-up, where a first loan does not prove a reader new) are grey."""
    data = frame.drop_nulls("new_readers").sort("month", "branch_group")
    fig = go.Figure()
    for group, colour in GROUP_COLOURS.items():
        part = data.filter(pl.col("branch_group") == group)
        if part.is_empty():
            continue
        fig.add_bar(x=part["month"].to_list(), y=part["new_readers"].to_list(), name=tr(f"mgr_group_{group}"),
                    marker_color=[CENSORED_COLOUR if c else colour for c in part["censored"].to_list()],
                    marker_pattern_shape=["/" if c else "" for c in part["censored"].to_list()],
                    hovertemplate="%{x|%Y-%m}: %{y:,}<extra>" + tr(f"mgr_group_{group}") + "</extra>")
    if data["censored"].any():  # a legend entry that says what grey means
        fig.add_bar(x=[None], y=[None], name=tr("mgr_censored_legend"), marker_color=CENSORED_COLOUR,
                    marker_pattern_shape="/", hoverinfo="skip")
    fig.update_layout(barmode="group")
    _month_ticks(fig, data["month"].n_unique())
    fig.update_yaxes(rangemode="tozero", tickformat=",d")
    _partial(fig, date_from, date_to, selected=selected)  # the month just begun pale and noted, not a drop
    return _layout(fig, tr("mgr_chart_new_readers"), tr("circ_month"), tr("circ_readers_unit"))


@shared
def retention(frame: pl.DataFrame) -> go.Figure:
    """For each cohort month and group, the share who borrowed again within 1, 3 and 6 months (one panel each).
    The page leaves out the cohorts the viewer may not see (their shares would give the counts away)."""
    windows = ("again_1m", "again_3m", "again_6m")
    frame = frame.filter(~pl.col("censored"))  # warm-up cohorts mix in long-time readers: left out, see caption
    long = frame.unpivot(list(windows), index=["month", "branch_group", "new_readers"], variable_name="window",
                         value_name="again").drop_nulls("again").with_columns(
        (pl.col("again") / pl.col("new_readers")).alias("share"),
        pl.col("window").replace_strict({w: label(w) for w in windows}),
        pl.col("branch_group").replace_strict({g: tr(f"mgr_group_{g}") for g in GROUP_COLOURS}))
    fig = px.line(long, x="month", y="share", color="branch_group", facet_col="window", markers=True,
                  facet_col_spacing=0.06, category_orders={"window": [label(w) for w in windows]},
                  color_discrete_map={tr(f"mgr_group_{g}"): c for g, c in GROUP_COLOURS.items()},
                  hover_data={"new_readers": True, "again": True},
                  labels={"month": tr("circ_month"), "share": tr("mgr_share_again"), "branch_group": "",
                          "new_readers": label("new_readers"), "again": tr("mgr_again"), "window": ""})
    fig.for_each_annotation(lambda a: a.update(text=a.text.split("=")[-1], font_size=11))
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    _month_ticks(fig, long["month"].n_unique(), most=6)  # three panels side by side
    # the legend below the panels, so each panel's title has a third of the whole width
    return _layout(fig, tr("mgr_chart_retention"), None, None,
                   legend={"orientation": "h", "yanchor": "top", "y": -0.3, "x": 0})
