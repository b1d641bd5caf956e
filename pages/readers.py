"""读者拓展 Readers won and kept: new readers by month and branch of their first loan, micro-branches against the
others, and how many of each month's new readers borrow again within 1, 3 and 6 months.

The page publishes one count in four shapes (the two cards, the chart and the cohort table, the table by branch):
for the district official they are suppressed together (`microbranch.access.protect`), so that no card, total or
change gives a hidden count away."""

from datetime import date

import polars as pl
import streamlit as st

from microbranch import access
from ui import charts, compare
from ui.data import q
from ui.kit import chart, page, sees_readers, table, words
from ui.shell import as_of_line, filters, tr

KEYS = ("month", "branch_group", "branch_id")
MONTH_GROUP = ("month", "branch_group")  # the chart and the cohort table
WINDOWS = ("again_1m", "again_3m", "again_6m")

page("readers")
f = filters()
as_of_line()
ids = list(f.branch_ids) or None
official = not sees_readers()


def won_in(date_from: date, date_to: date) -> dict[tuple[str, ...], pl.DataFrame]:
    """New readers by month and branch, and their sums by month and group, by group and in all; each with `hidden`
    (what the official may not see; nothing for staff and managers)."""
    won = q("new_readers_by_month_branch", date_from=date_from, date_to=date_to, branch_ids=ids).with_columns(
        pl.when(pl.col("kind") == "micro").then(pl.lit("micro")).otherwise(pl.lit("other")).alias("branch_group"))
    plan = access.protect(won, "new_readers", KEYS, (MONTH_GROUP, ("branch_group",), ()))
    if not official:
        plan = {level: frame.with_columns(pl.lit(None, pl.String).alias("hidden")) for level, frame in plan.items()}
    return {**plan, KEYS: won.join(plan[KEYS].select(*KEYS, "hidden"), on=KEYS, how="left", nulls_equal=True)}


def _card(frame: pl.DataFrame) -> int | str:
    if frame.is_empty():
        return 0
    hidden, value = frame.row(0, named=True)["hidden"], frame.row(0, named=True)["new_readers"]
    return access.SHOWN[hidden] if hidden else value


def numbers(date_from: date, date_to: date) -> dict:
    """The cards' numbers: sums of the new-readers table below (a hidden one as the official sees it)."""
    plan = won_in(date_from, date_to)
    return {"new_readers": _card(plan[()]),
            "new_readers_micro": _card(plan[("branch_group",)].filter(pl.col("branch_group") == "micro"))}


compare.cards(numbers(f.date_from, f.date_to), ("new_readers", "new_readers_micro"),
              compare.rows(numbers, f.date_from, f.date_to), per_row=2)
st.caption(tr("mgr_new_readers_caption"))

plan = won_in(f.date_from, f.date_to)
by_group = plan[MONTH_GROUP]
cohorts = q("retention_by_cohort", **f.period, branch_ids=ids).join(
    by_group.select(*MONTH_GROUP, "hidden"), on=MONTH_GROUP, how="left", nulls_equal=True)
left, right = st.columns(2)
chart(charts.new_readers(by_group.with_columns(pl.when(pl.col("hidden").is_null()).then(pl.col("new_readers")))),
      where=left)
chart(charts.retention(cohorts.filter(pl.col("hidden").is_null())), where=right)
right.caption(tr("mgr_retention_caption"))

st.subheader(tr("mgr_cohorts"))
shown = words(cohorts, "branch_group", lambda g: tr(f"mgr_group_{g}"))
if official:  # a hidden cohort hides its returns too; a return count from 1 to 9 is hidden on its own
    marks = shown["hidden"].to_list()
    shown = access.hide(shown, "new_readers", marks)
    for w in WINDOWS:
        shown = access.hide(shown, w, [m or (access.PRIMARY if access.small(v) else None)
                                       for m, v in zip(marks, shown[w].to_list(), strict=True)])
table(shown.drop("hidden"), "retention_by_cohort.csv")
with st.expander(tr("mgr_new_readers_table")):
    won = plan[KEYS]
    won = access.hide(won, "new_readers", won["hidden"].to_list()) if official else won
    table(won.drop("hidden", "branch_group"), "new_readers_by_month_branch.csv")
