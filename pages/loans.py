"""借阅 Loans: loans per month and branch, readers, turnover, when copies are taken, what is read, what is not."""

import polars as pl
import streamlit as st

from ui import charts
from ui.data import q
from ui.shell import as_of_line, filters, headed, label, metric_cards, table, tr, words

TOP_TITLES = 20

st.title(tr("page_loans"))
f = filters()
as_of_line()
ids = list(f.branch_ids) or None
scope = {**f.period, "branch_ids": ids}

metric_cards(q("kpis", **f.period, walk_minutes=f.walk_minutes).row(0, named=True),
             ("loans", "checkouts", "transfers", "transfer_share", "active_readers"), per_row=5)
if ids:
    st.caption(tr("circ_kpi_scope"))

monthly = q("loans_by_branch_month", **f.period)
if ids:
    monthly = monthly.filter(pl.col("branch_id").is_in(ids))
left, right = st.columns(2)
left.plotly_chart(charts.loans_by_month(monthly, f.date_from, f.date_to))
left.plotly_chart(charts.readers_by_month(q("readers_by_month", **scope), f.date_from, f.date_to))
right.plotly_chart(charts.loans_by_branch(monthly, q("branch_list")))

left, right = st.columns(2)
turnover = q("turnover_by_branch", **scope)
left.plotly_chart(charts.turnover_by_branch(turnover))
right.plotly_chart(charts.weekday_hour(q("loans_by_weekday_hour", **scope)))
right.caption(tr("circ_weekday_hour_caption"))
with st.expander(label("turnover")):
    table(headed(turnover), "turnover_by_branch.csv")

left, right = st.columns(2)
left.plotly_chart(charts.loans_by_clc(q("loans_by_clc", **scope)))
with right:
    st.subheader(tr("circ_top_titles", n=TOP_TITLES))
    titles = q("titles_by_loans", **scope, top=TOP_TITLES)
    table(headed(words(titles, "clc_class", charts.clc_name)), "titles_by_loans.csv", height=420)

st.subheader(tr("circ_owner_compare"))
left, right = st.columns([1, 2])
owners = q("loans_by_owner", **scope)
left.plotly_chart(charts.loans_by_owner(owners))
with right:
    table(headed(words(owners, "owner", lambda o: tr(f"circ_owner_{o}"))), "loans_by_owner.csv")

st.subheader(tr("circ_never_borrowed"))
never = q("items_never_borrowed", date_to=f.date_to, branch_ids=ids)
st.caption(tr("circ_never_borrowed_caption", n=f"{len(never):,}"))
table(headed(never), "items_never_borrowed.csv", height=360)
