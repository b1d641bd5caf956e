"""读者拓展 Readers won and kept: new readers by month and branch of their first loan, micro-branches against the
others, and how many of each month's new readers borrow again within 1, 3 and 6 months."""

from datetime import date

import polars as pl
import streamlit as st

from ui import charts, compare
from ui.data import q
from ui.kit import chart, page, readers_for_role, sees_readers, table, words
from ui.shell import as_of_line, filters, ignores, tr

page("readers")
f = filters()
as_of_line()
ignores(f, "walk")
ids = list(f.branch_ids) or None
WARMUP_MONTHS = 3  # the data's first months in which a first loan does not prove a reader new (metrics.md)


def numbers(date_from: date, date_to: date) -> dict:
    """The cards' numbers: sums of the new-readers table below."""
    won = q("new_readers_by_month_branch", date_from=date_from, date_to=date_to, branch_ids=ids,
            warmup_months=WARMUP_MONTHS)
    return {"new_readers": won["new_readers"].sum(),
            "new_readers_micro": won.filter(pl.col("kind") == "micro")["new_readers"].sum()}


compare.cards(numbers(f.date_from, f.date_to), ("new_readers", "new_readers_micro"),
              compare.rows(numbers, f.date_from, f.date_to), per_row=2)
st.caption(tr("mgr_new_readers_caption", warmup=WARMUP_MONTHS))

won = q("new_readers_by_month_branch", **f.period, branch_ids=ids, warmup_months=WARMUP_MONTHS)
cohorts = q("retention_by_cohort", **f.period, branch_ids=ids, warmup_months=WARMUP_MONTHS)
left, right = st.columns(2)
official = not sees_readers()
chart(charts.new_readers(won, suppress=official), where=left)
chart(charts.retention(cohorts, suppress=official), where=right)
right.caption(tr("mgr_retention_caption"))

st.subheader(tr("mgr_cohorts"))
shown = words(cohorts, "branch_group", lambda g: tr(f"mgr_group_{g}"))
table(readers_for_role(shown, "new_readers", "again_1m", "again_3m", "again_6m"), "retention_by_cohort.csv")
with st.expander(tr("mgr_new_readers_table")):
    table(readers_for_role(won, "new_readers"), "new_readers_by_month_branch.csv")
