"""总览 Overview: the period's headline numbers against the previous period, weekly loans, top branches, drift."""

from datetime import timedelta

import streamlit as st

from ui import charts
from ui.data import q
from ui.shell import as_of_line, filters, headed, metric_cards, readers_for_role, table, tr

CIRCULATION = ("loans", "checkouts", "transfers", "transfer_share", "active_readers")
DRIFT = ("copies_out", "copies_adrift", "chains_returned", "mean_holders", "branches_open", "micro_branches_open")
RESIDENTS = ("residents_covered", "coverage_rate", "mean_walk_minutes", "mean_walk_minutes_without_micro")

st.title(tr("page_overview"))
f = filters()
as_of_line()
scope = {**f.period, "branch_ids": list(f.branch_ids) or None}

now = q("kpis", **f.period, walk_minutes=f.walk_minutes).row(0, named=True)
prev_to = f.date_from - timedelta(days=1)
prev_from = prev_to - (f.date_to - f.date_from)
first_day = q("data_status")["first_day"][0]
before = None
if first_day and prev_from >= first_day:
    before = q("kpis", date_from=prev_from, date_to=prev_to, walk_minutes=f.walk_minutes).row(0, named=True)

st.subheader(tr("circ_section_circulation"))
metric_cards(now, CIRCULATION, before)
st.subheader(tr("circ_section_drift"))
metric_cards(now, DRIFT, before)
st.subheader(tr("circ_section_residents"))
metric_cards(now, RESIDENTS, before)
notes = [tr("circ_change_caption", prev_from=prev_from, prev_to=prev_to) if before else tr("circ_no_previous")]
if f.branch_ids:
    notes.append(tr("circ_kpi_scope"))
st.caption(" ".join(notes))

left, right = st.columns(2)
left.plotly_chart(charts.loans_by_week_kind(q("loans_by_week_kind", **scope), f.date_from, f.date_to))
right.plotly_chart(charts.transfer_share_by_week(q("loans_by_week", **scope)))

branches = q("loans_by_branch", **scope)
left, right = st.columns(2)
left.plotly_chart(charts.top_branches(branches))
right.plotly_chart(charts.adrift_by_branch(q("adrift_by_branch", date_to=f.date_to, branch_ids=scope["branch_ids"])))
with st.expander(tr("circ_top_branches_table")):
    shown = branches.select("branch_id", "name", "checkouts", "transfers", "loans", "transfer_share", "active_readers")
    table(headed(readers_for_role(shown, "active_readers")), "loans_by_branch.csv",
          column_config={tr("transfer_share"): st.column_config.NumberColumn(format="percent")})
