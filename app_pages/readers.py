"""读者拓展 Readers won and kept: new readers by month and branch of their first loan, micro-branches against the
others, and how many of each month's new readers borrow again within 1, 3 and 6 months.

The page publishes the new readers in four shapes (the two cards, the chart, the table by branch) and the cohorts in
a table and a chart: for the district official each is suppressed together with the sums shown beside it
(`microbranch.access.protect`), so that no card, total or change gives a hidden count away."""

from datetime import date

import polars as pl
import streamlit as st

from microbranch import access, periods
from ui import charts, compare
from ui.data import made, q
from ui.kit import chart, page, sees_readers, table, words
from ui.shell import as_of_line, filters, ignores, tr

KEYS = ("month", "branch_group", "branch_id")
MONTH_GROUP = ("month", "branch_group")  # the chart
SUBCOUNTS = ("registered", "again_1m", "again_3m", "again_6m")  # readers among a row's new readers
WARMUP_MONTHS = 3  # the data's first months in which a first loan does not prove a reader new (metrics.md)

page("readers")
f = filters()
as_of_line()
ignores(f, "walk")
ids = list(f.branch_ids) or None
official = not sees_readers()


def _group(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("kind") == "micro").then(pl.lit("micro")).otherwise(pl.lit("other")).alias("branch_group"))


def won_in(date_from: date, date_to: date) -> dict[tuple[str, ...], pl.DataFrame]:
    """New readers by month and branch, and their sums by month and group, by group and in all; each with `hidden`
    (what the official may not see; nothing for staff and managers). Worked out once per data and role."""
    return made(_won, q("new_readers_by_month_branch", date_from=date_from, date_to=date_to, branch_ids=ids,
                        warmup_months=WARMUP_MONTHS), official)


def _won(won: pl.DataFrame, official: bool) -> dict[tuple[str, ...], pl.DataFrame]:
    won = _group(won)
    plan = access.protect(won, "new_readers", KEYS, (MONTH_GROUP, ("branch_group",), ()))
    if not official:
        plan = {level: frame.with_columns(pl.lit(None, pl.String).alias("hidden")) for level, frame in plan.items()}
    return {**plan, KEYS: won.join(plan[KEYS].select(*KEYS, "hidden"), on=KEYS, how="left", nulls_equal=True)}


def _card(frame: pl.DataFrame) -> int | str:
    if frame.is_empty():
        return 0
    row = frame.row(0, named=True)
    return access.SHOWN[row["hidden"]] if row["hidden"] else row["new_readers"]


def numbers(date_from: date, date_to: date) -> dict:
    """The cards' numbers: sums of the new-readers table below (a hidden one as the official sees it)."""
    plan = won_in(date_from, date_to)
    return {"new_readers": _card(plan[()]),
            "new_readers_micro": _card(plan[("branch_group",)].filter(pl.col("branch_group") == "micro"))}


def hidden_rows(frame: pl.DataFrame, official: bool) -> pl.DataFrame:
    """For the official: the new readers as `hidden` says, and the readers counted among them (registered, again
    within 1/3/6 months) hidden with them, or on their own from 1 to 9."""
    if not official:
        return frame
    marks = frame["hidden"].to_list()
    frame = access.hide(frame, "new_readers", marks)
    for c in (c for c in SUBCOUNTS if c in frame.columns):
        frame = access.hide(frame, c, [m or (access.PRIMARY if access.small(v) else None)
                                       for m, v in zip(marks, frame[c].to_list(), strict=True)])
    return frame


compare.cards(numbers(f.date_from, f.date_to), ("new_readers", "new_readers_micro"),
              compare.rows(numbers, f.date_from, f.date_to), per_row=2)
st.caption(tr("mgr_new_readers_caption", warmup=WARMUP_MONTHS))

def by_month_group(won: dict[tuple[str, ...], pl.DataFrame]) -> pl.DataFrame:
    """The chart's rows: new readers by month and group as the viewer may see them, with the warm-up flag."""
    censored = won[KEYS].group_by(MONTH_GROUP).agg(pl.col("censored").any())
    return won[MONTH_GROUP].join(censored, on=MONTH_GROUP, how="left", nulls_equal=True).with_columns(
        pl.when(pl.col("hidden").is_null()).then(pl.col("new_readers")).alias("new_readers"))


plan = won_in(f.date_from, f.date_to)
# A short period is drawn among the months around it (one month alone would be one pair of bars), shaded.
status = q("data_status").row(0, named=True)
# Not for officials: months drawn beside the period are counts of their own, and one of them minus the card's
# total could give away a count the period's suppression hides.
drawn_from, drawn_to = ((f.date_from, f.date_to) if official else
                        periods.around(f.date_from, f.date_to, status["first_day"], status["as_of"]))
selected = (f.date_from, f.date_to) if (drawn_from, drawn_to) != (f.date_from, f.date_to) else None
by_group = made(by_month_group, won_in(drawn_from, drawn_to) if selected else plan)


def with_hidden(cohorts: pl.DataFrame, official: bool) -> pl.DataFrame:
    """The cohorts (by the month of the first loan) are another table: suppressed as if their sum were shown too."""
    return cohorts.with_columns(pl.Series("hidden", access.suppression(
        [*cohorts["new_readers"].to_list(), cohorts["new_readers"].sum()],
        [(cohorts.height, range(cohorts.height))])[:-1] if official else [None] * cohorts.height, dtype=pl.String))


cohorts = made(with_hidden, q("retention_by_cohort", **f.period, branch_ids=ids, warmup_months=WARMUP_MONTHS),
               official)
# One chart a row: the retention's three panels and its title need the whole width.
drawn = cohorts.filter(pl.col("hidden").is_null())
if official and by_group["new_readers"].is_null().all() and not by_group.is_empty():
    st.info(tr("rules_chart_hidden"), icon=":material/visibility_off:")  # a sentence, not empty axes
else:
    chart(charts.new_readers(by_group, drawn_from, drawn_to, selected))
if official and drawn.is_empty() and not cohorts.is_empty():
    st.info(tr("rules_chart_hidden"), icon=":material/visibility_off:")
else:
    chart(charts.retention(drawn))
st.caption(tr("mgr_retention_caption"))


def table_rows(frame: pl.DataFrame, drop: tuple[str, ...], date_from: date, date_to: date,
               official: bool) -> pl.DataFrame:
    """A table's rows as the viewer may see them (`hidden_rows`), with a flag on each month the period (within the
    data) holds only in part, so its low count reads as such. Made once per frame, period and role."""
    frame = hidden_rows(frame, official).drop(*drop)
    return frame.with_columns(pl.Series("partial_month", [not periods.whole_month(m, date_from, date_to)
                                                          for m in frame["month"]], dtype=pl.Boolean))


st.subheader(tr("mgr_cohorts"))
shown = words(cohorts, "branch_group", lambda g: tr(f"mgr_group_{g}"))
table(made(table_rows, shown, ("hidden",), f.date_from, f.date_to, official), "retention_by_cohort.csv")
table_box = st.expander(tr("mgr_new_readers_table"), key="new_readers_box", on_change="rerun")  # made when opened
if table_box.open:
    with table_box:
        table(made(table_rows, plan[KEYS], ("hidden", "branch_group"), f.date_from, f.date_to, official),
              "new_readers_by_month_branch.csv")
