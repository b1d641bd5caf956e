"""馆藏调配 Stock to move: copies on shelves that belong elsewhere, own copies away, the move list for the van,
dead stock."""

from datetime import date

import polars as pl
import streamlit as st

from microbranch import vanrun
from ui import charts, compare, data
from ui.data import q
from ui.kit import ROWS_SHOWN, chart, csv_frame, csv_words, download, label, page, paged_table, table
from ui.shell import as_of_line, filters, ignores, lang, tr

MONTHS = (3, 6, 12)

page("stock")
f = filters()
as_of_line()
ignores(f, "period_start", "walk")
ids = list(f.branch_ids) or None
months = st.segmented_control(tr("mgr_dead_months"), MONTHS, default=6, key="dead_months",
                              format_func=lambda n: tr("mgr_months", n=n)) or 6


def numbers(_: date, day: date) -> dict:
    """The cards' numbers at the end of `day`: sums of the tables below, the van's stops and how long the copies to
    move have waited. Dead stock leaves out the branches too new to judge."""
    stock = q("stock_by_branch", date_to=day, branch_ids=ids)
    dead = q("dead_stock_by_branch", date_to=day, months=months, branch_ids=ids)
    totals = stock.select(pl.col("foreign_here", "own_away", "own_on_loan").sum()).row(0, named=True)
    waiting = q("moves_waiting", date_to=day, branch_ids=ids).select("van_stop_count", "move_days_median")
    return totals | waiting.row(0, named=True) | {"copies_dead": dead["copies_dead"].sum()}


# Each card says something of its own: for the whole district the copies away from home are the copies on others'
# shelves (and the move list), so "on other shelves" shows only when branches are chosen.
CARDS = ("foreign_here", *(("own_away",) if ids else ()), "van_stop_count", "move_days_median", "own_on_loan",
         "copies_dead")
st.caption(tr("mgr_stock_caption", day=f.date_to))
compare.cards(numbers(f.date_from, f.date_to), CARDS, compare.rows(numbers, f.date_from, f.date_to), per_row=6)

stock = q("stock_by_branch", date_to=f.date_to, branch_ids=ids)
others, micro = charts.split_micro(stock)
left, right = st.columns(2)
chart(charts.stock_to_move(others, tr("mgr_chart_stock_others")), where=left)
chart(charts.stock_to_move(micro, tr("mgr_chart_stock_micro")), where=right)
table_box = st.expander(tr("mgr_stock_table"), key="stock_table_box", on_change="rerun")  # made when opened
if table_box.open:
    with table_box:
        table(stock, "stock_by_branch.csv", columns=["name", "foreign_here", "own_away", "own_on_loan", "own_here",
                                                     "copies_own", "kind", "branch_id"])

# Below the fold: one section at a time, run only when its tab is open
moves_tab, dead_tab = st.tabs([tr("move_list"), tr("copies_dead")], key="stock_tab", on_change="rerun")
if moves_tab.open:
    with moves_tab:
        where = {"date_to": f.date_to, "branch_ids": ids}
        stops = q("moves_by_branch", **where)
        st.caption(tr("mgr_move_caption", n=f"{stops['copies'].sum():,}", day=f.date_to))
        if len(stops):
            # the list as a van run: stops in order, copies of each in shelf order with a box to tick, a printable sheet
            chart(charts.move_routes(q("moves_by_route", **where, top=charts.TOP)))
            st.markdown(f"**{tr('van_stops')}**")  # tables that hold numbers take the whole width, key columns first
            table(stops, f"van_stops_{f.date_to}.csv", key="dl_van_stops", brief=["to_branches"],
                  columns=["stop", "from_branch", "copies", "to_branches", "from_address"])
            # the whole list, made when asked for; at the data's last day with the day left empty (the query's
            # default), so it is read as stored
            day = None if f.date_to == q("data_status")["as_of"][0] else f.date_to
            moves, language = data.full_list("moves_by_item", date_to=day, branch_ids=ids), lang()
            st.download_button(tr("van_print"), lambda: vanrun.printable(moves(), f.date_to, language).encode("utf-8"),
                               file_name=f"van_run_{f.date_to}.html", mime="text/html", key="dl_van_print",
                               icon=":material/print:", on_click="ignore")
            st.markdown(f"**{tr('van_sheet')}**")
            sheet = ["stop", "from_branch", "call_number", "item_id", "title", "to_branch", "tick", "from_address"]
            if stops["copies"].sum() <= ROWS_SHOWN:  # the driver's sheet itself, copy by copy
                table(vanrun.sheet(moves()), f"move_list_{f.date_to}.csv", key="dl_moves", height=420, columns=sheet)
            else:  # a city's list: the sheet is the download, the list is paged here
                headings = {c: label(c) for c in sheet}
                said = csv_words(headings)
                download(lambda: csv_frame(vanrun.sheet(moves()).select(sheet), headings, said),
                         f"move_list_{f.date_to}.csv", key="dl_moves")
                paged_table("moves_by_item", where, f"moves_{f.date_to}.csv", ("route", "longest"), key="move_page")
if dead_tab.open:
    with dead_tab:
        dead = q("dead_stock_by_branch", date_to=f.date_to, months=months, branch_ids=ids)
        st.caption(tr("mgr_dead_caption", n=months, day=f.date_to))
        too_new = dead.filter("too_new")
        if len(too_new):  # opened within the window: not 0%, not judged (as the scorecards' grace period)
            st.caption(tr("dead_too_new_caption", n=months, count=len(too_new)))
        chart(charts.branch_bars(dead.filter(~pl.col("too_new")), "dead_share", tr("mgr_chart_dead", n=months),
                                 share=True, hover=("copies_dead", "copies")))
        table(dead.with_columns(pl.when("too_new").then(pl.lit(tr("dead_too_new", n=months))).alias("dead_note")),
              "dead_stock_by_branch.csv", height=420,
              columns=["name", "dead_share", "copies_dead", "dead_note", "copies", "kind", "branch_id"])
        items_box = st.expander(tr("mgr_dead_items"), key="dead_items_box", on_change="rerun")
        if items_box.open:
            with items_box:
                paged_table("dead_stock_by_item", {"date_to": f.date_to, "months": months, "branch_ids": ids},
                            f"dead_stock_{f.date_to}.csv", ("longest", "branch", "call_number"), key="dead_items")
