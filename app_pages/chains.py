"""转借链 Drift chains: how far copies travel between readers, where they come back, and one copy's journey."""

from datetime import datetime, time, timedelta

import polars as pl
import streamlit as st

from ui import charts, compare
from ui.data import q
from ui.kit import PAGE_ROWS, chart, page, paged_table, sees_readers, table, words
from ui.shell import as_of_line, filters, ignores, tr

KPIS = ("chains_returned", "copies_out", "copies_adrift", "chains_unterminated", "chains_partial",
        "cross_branch_returns", "mean_holders", "days_per_holder", "returns_avoided")
PAIRS = 30


def statuses(frame: pl.DataFrame) -> pl.DataFrame:
    return words(frame, "status", lambda s: tr(f"circ_status_{s}"))


page("chains")
f = filters()
as_of_line()
ignores(f, "walk")
ids = list(f.branch_ids) or None
scope = {**f.period, "branch_ids": ids}

compare.cards(q("chain_kpis", **scope).row(0, named=True), KPIS, compare.rows("chain_kpis", f.date_from, f.date_to,
                                                                           branch_ids=ids), per_row=5)
st.caption(tr("circ_chains_caption"))

left, right = st.columns(2)
chart(charts.chains_by_holders(q("chains_by_holders", **scope)), where=left)
chart(charts.chains_by_days_per_holder(q("chains_by_days_per_holder", **scope)), where=right)
pairs = q("returns_by_branch_pair", **scope, top=PAIRS)
if len(pairs):
    chart(charts.returns_sankey(pairs, PAIRS))
else:
    st.info(tr("circ_no_cross"))

# Tables that hold numbers take the whole width, their key columns first.
st.subheader(tr("circ_longest"))
longest = q("chains_longest", **scope)
table(statuses(longest), "chains_longest.csv", height=380,
      columns=["title", "holders", "days", "status", "start_branch", "end_branch", "started_at", "ended_at", "partial",
               "item_id", "chain_no"])
st.subheader(tr("circ_adrift_longest"))
adrift = {"date_to": f.date_to, "branch_ids": ids}
total = paged_table("chains_adrift", adrift, "chains_adrift.csv", ("longest", "holders"), key="adrift",
                    columns=["title", "days_out", "holders", "start_branch", "started_at", "last_transfer_at", "holder",
                             "item_id", "chain_no", "start_branch_id"])
st.caption(tr("circ_adrift_caption", n=f"{total:,}"))

if not sees_readers():
    st.info(tr("circ_official_no_readers"))
    st.stop()

st.subheader(tr("circ_explorer"))
adrift_first = q("chains_adrift", **adrift, sort="longest", page_size=PAGE_ROWS, skip=0)  # the first page
choices = pl.concat([adrift_first.select("item_id", "title").head(30), longest.select("item_id", "title")]).unique(
    "item_id", keep="first", maintain_order=True)
names = dict(zip(choices["item_id"], choices["title"], strict=True))
left, right = st.columns(2)
picked = left.selectbox(tr("circ_explorer_pick"), list(names), format_func=lambda i: f"{i} {names[i]}",
                        index=0 if names else None, key="chain_item")
typed = right.text_input(tr("circ_explorer_type"), key="chain_item_typed").strip()
item = typed or picked
if item:
    steps = q("chain_steps_by_item", item_id=item)
    if steps.is_empty():
        st.warning(tr("circ_explorer_none", item=item))
    else:
        until = datetime.combine(q("data_status")["as_of"][0], time()) + timedelta(days=1)
        chart(charts.chain_timeline(steps, item, steps["title"][0] or "", until))
        with st.expander(tr("circ_steps")):
            actions = words(steps.drop("title"), "action", lambda a: tr(f"circ_action_{a}"))
            table(actions, f"chain_steps_{item}.csv")

st.subheader(tr("circ_anomalies"))
anomalies = q("anomalies", **scope)
if anomalies.is_empty():
    st.caption(tr("circ_anomalies_none"))
else:
    table(anomalies, "anomalies.csv")
