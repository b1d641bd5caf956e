"""单馆 One branch: all of a branch's numbers, its drift chains, its stock and the readers it won, at its own address
(`/branch?branch=<id>`), reached from the branch picker here, from any table that lists branches, and from the
sidebar's branch filter when it holds one branch."""

import polars as pl
import streamlit as st

from microbranch import access
from ui import compare
from ui.data import q
from ui.kit import metric, page, paged_table, readers_for_role, role, table, town_name
from ui.shell import as_of_line, filters, ignores, short_name, tr

CIRCULATION = ("loans", "checkouts", "transfers", "transfer_share", "active_readers")
DRIFT = ("copies_out", "copies_adrift", "chains_returned", "mean_holders")

page("branch")
f = filters()
as_of_line()
ignores(f, "kinds", "hosts", "walk")
branches = q("branch_list")
names = dict(zip(branches["branch_id"], branches["name"], strict=True))
asked = st.query_params.get("branch") or (f.branch_ids[0] if len(f.branch_ids) == 1 else None)
branch_id = st.selectbox(tr("pages_branch_pick"), list(names),
                         index=list(names).index(asked) if asked in names else None,
                         format_func=lambda b: f"{short_name(names[b])} · {b}", placeholder=tr("pages_branch_none"),
                         key="one_branch")
if branch_id is None:
    st.info(tr("pages_branch_none"), icon=":material/storefront:")
    st.stop()
st.query_params["branch"] = branch_id  # the page's own address names the branch
one = branches.filter(pl.col("branch_id") == branch_id).row(0, named=True)
st.header(one["name"])
st.caption(tr("pages_branch_facts", kind=tr(f"kind_{one['kind']}"), town=town_name(one["town_code"]),
              address=one["address"] or "—", opened=one["opened_on"]))
ids = [branch_id]
scope = {**f.period, "branch_ids": ids}

st.subheader(tr("pages_branch_numbers"))
now = q("kpis", **scope, walk_minutes=f.walk_minutes).row(0, named=True)
before = compare.rows("kpis", f.date_from, f.date_to, walk_minutes=f.walk_minutes, branch_ids=ids)
compare.cards(now, CIRCULATION, before)
compare.cards(now, DRIFT, before)

chains_tab, stock_tab, readers_tab = st.tabs(
    [tr("pages_branch_chains"), tr("pages_branch_stock"), tr("pages_branch_readers")], key="branch_tab",
    on_change="rerun")  # only the open tab's section runs
if chains_tab.open:
    with chains_tab:
        paged_table("chains", scope, f"chains_{branch_id}.csv", ("latest", "holders", "transfers", "copy"),
                    key="branch_chains", columns=["item_id", "chain_no", "started_at", "ended_at", "start_branch_id",
                                                  "end_branch_id", "transfers", "holders", "status"])
if stock_tab.open:
    with stock_tab:
        if not access.may_open(role(), "stock"):  # the stock page's rule holds here too
            st.caption(tr("access_refused", page=tr("page_stock"), role=tr(f"role_{role()}"),
                          needed=tr("access_or").join(tr(f"role_{r}") for r in access.PAGES["stock"])))
        else:
            stock = q("stock_by_branch", date_to=f.date_to, branch_ids=ids)
            table(stock, f"stock_{branch_id}.csv", key="dl_branch_stock")
            dead = q("dead_stock_by_branch", date_to=f.date_to, months=6, branch_ids=ids)
            table(dead, f"dead_stock_{branch_id}.csv", key="dl_branch_dead")
            stops = q("moves_by_branch", date_to=f.date_to, branch_ids=ids)
            table(stops, f"moves_{branch_id}.csv", key="dl_branch_moves",
                  columns=["from_branch", "copies", "to_branches"])
if readers_tab.open:
    with readers_tab:
        won = (q("new_readers_by_month_branch", **scope).filter(~pl.col("censored"))  # warm-up months prove nothing
               .select("month", "new_readers", "registered"))
        metric(tr("pages_branch_readers"), int(won["new_readers"].sum()), readers=True)
        table(readers_for_role(won, "new_readers", total=True), f"new_readers_{branch_id}.csv",
              key="dl_branch_readers")
