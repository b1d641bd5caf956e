"""总览 Overview: the period's headline numbers against the previous period and a year earlier, weekly loans, top
branches, drift. Every number follows the filters; the residents numbers are the whole district's."""

import streamlit as st

from ui import charts, compare
from ui.data import q
from ui.kit import chart, page, readers_for_role, table
from ui.shell import as_of_line, filters, freshness, tr
from ui.signin import viewer

CIRCULATION = ("loans", "checkouts", "transfers", "transfer_share", "active_readers")
DRIFT = ("copies_out", "copies_adrift", "chains_returned", "mean_holders", "branches_open", "micro_branches_open")
RESIDENTS = ("residents_covered", "coverage_rate", "mean_walk_minutes", "mean_walk_minutes_without_micro")

page("overview")
f = filters()
as_of_line()
if viewer().role == "manager":  # staff see it on every page
    freshness()
ids = list(f.branch_ids) or None
scope = {**f.period, "branch_ids": ids}

now = q("kpis", **scope, walk_minutes=f.walk_minutes).row(0, named=True)
before = compare.rows("kpis", f.date_from, f.date_to, walk_minutes=f.walk_minutes, branch_ids=ids)
district = {k: tr("mgr_whole_district") for k in RESIDENTS} if ids else None

st.subheader(tr("circ_section_circulation"))
compare.cards(now, CIRCULATION, before)
st.subheader(tr("circ_section_drift"))
compare.cards(now, DRIFT, before)
st.subheader(tr("circ_section_residents"))
compare.cards(now, RESIDENTS, before, scope_note=district)

left, right = st.columns(2)
chart(charts.loans_by_week_kind(q("loans_by_week_kind", **scope), f.date_from, f.date_to), where=left)
chart(charts.transfer_share_by_week(q("loans_by_week", **scope)), where=right)

branches = q("loans_by_branch", **scope)
others, micro = charts.split_micro(branches)
left, right = st.columns(2)
chart(charts.top_branches(others, retitle=tr("mgr_chart_top_others", n=min(10, len(others)))), where=left)
chart(charts.top_branches(micro, retitle=tr("mgr_chart_top_micro", n=min(10, len(micro)))), where=right)
chart(charts.adrift_by_branch(q("adrift_by_branch", date_to=f.date_to, branch_ids=ids)))
# The table is made and sent when its box is opened.
table_box = st.expander(tr("circ_top_branches_table"), expanded=bool(ids), key="overview_table_box", on_change="rerun")
if table_box.open:
    with table_box:
        shown = branches.select("name", "loans", "checkouts", "transfers", "transfer_share", "active_readers",
                                "branch_id")
        shown, notes = compare.changes(shown, "loans", lambda a, b: q("loans_by_branch", date_from=a, date_to=b,
                                                                      branch_ids=ids), f.date_from, f.date_to)
        table(readers_for_role(shown, "active_readers", total=True), "loans_by_branch.csv")  # the card: the total
        st.caption(tr("list_sep").join(notes))
