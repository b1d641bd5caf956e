"""借阅 Loans: the whole circulation (checkouts, transfers, renewals, returns) per month and branch, overdue copies,
where each branch's copies are borrowed, who borrows (reader type, age), how much of each collection circulated,
turnover, when copies are taken, what is read and what is not."""

from datetime import date

import polars as pl
import streamlit as st

from microbranch import periods
from ui import charts, compare
from ui.data import derived, made, q
from ui.kit import chart, chart_data, label, page, paged_table, readers_for_role, table, words
from ui.shell import as_of_line, filters, ignores, tr

TOP_TITLES = 20
CARDS = ("loans", "checkouts", "transfers", "transfer_share", "active_readers", "renewals", "returns")
OVERDUE = ("copies_out", "copies_overdue", "overdue_share", "copies_adrift_overdue")

page("loans")
f = filters()
as_of_line()
ignores(f, "walk")
ids = list(f.branch_ids) or None
scope = {**f.period, "branch_ids": ids}
branch_list = q("branch_list")


def per_branch(date_from: date, date_to: date) -> pl.DataFrame:
    """circulation_by_period_branch summed over the months: one row per branch (the table beside the cards)."""
    def make() -> pl.DataFrame:
        months = q("circulation_by_period_branch", date_from=date_from, date_to=date_to, branch_ids=ids)
        return (months.group_by("branch_id", "name", "kind")
                .agg(pl.col("checkouts", "transfers", "loans", "renewals", "returns").sum())
                .sort("loans", "branch_id", descending=[True, False], nulls_last=True))
    return derived("circulation_per_branch", make, date_from=date_from, date_to=date_to, branch_ids=ids)


def numbers(date_from: date, date_to: date) -> dict:
    kpis = q("kpis", date_from=date_from, date_to=date_to, branch_ids=ids).row(0, named=True)
    sums = per_branch(date_from, date_to).select(pl.col("renewals", "returns").sum()).row(0, named=True)
    return kpis | sums


compare.cards(numbers(f.date_from, f.date_to), CARDS, compare.rows(numbers, f.date_from, f.date_to), per_row=4)

# A short period is drawn among the months around it (one month alone would be one bar), its circulation by week.
status = q("data_status").row(0, named=True)
drawn_from, drawn_to = periods.around(f.date_from, f.date_to, status["first_day"], status["as_of"])
short = (drawn_from, drawn_to) != (f.date_from, f.date_to)
selected = (f.date_from, f.date_to) if short else None
unit = "week" if periods.calendar_months(f.date_from, f.date_to) < 3 else "month"
if short:
    st.caption(tr("chart_months_around"))


def by_month(date_from: date, date_to: date) -> pl.DataFrame:
    frame = q("loans_by_branch_month", date_from=date_from, date_to=date_to)
    return frame.filter(pl.col("branch_id").is_in(ids)) if ids else frame


def kinds_apart(frame: pl.DataFrame, branches: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of the other branches and those of the micro-branches (made once per frame)."""
    micro = pl.col("branch_id").is_in(branches.filter(pl.col("kind") == "micro")["branch_id"].implode())
    return frame.filter(~micro), frame.filter(micro)


monthly = by_month(f.date_from, f.date_to)
left, right = st.columns(2)
chart(charts.loans_by_month(by_month(drawn_from, drawn_to), drawn_from, drawn_to, selected), where=left)
chart(charts.circulation_by_period(q("circulation_by_period_branch", **scope, unit=unit), f.date_from, f.date_to,
                                   unit), where=right)
others, micro = made(kinds_apart, monthly, branch_list)
left, right = st.columns(2)
chart(charts.loans_by_branch(others, branch_list, retitle=tr("mgr_chart_branch_others")), where=left)
chart(charts.loans_by_branch(micro, branch_list, retitle=tr("mgr_chart_branch_micro")), where=right)
# Tables in a closed box are made and sent when it is opened (as the tabs' sections below).
table_box = st.expander(tr("mgr_circulation_table"), expanded=bool(ids), key="loans_table_box", on_change="rerun")
if table_box.open:
    with table_box:
        # the key columns first (branch, loans and their change), then the other counts
        rows, notes = compare.changes(per_branch(f.date_from, f.date_to), "loans", per_branch, f.date_from, f.date_to)
        key = ["name", "loans", *[c for c in rows.columns if c.startswith("loans_vs_")]]
        table(rows.select(*key, pl.exclude(*key, "kind", "branch_id"), "kind", "branch_id"),
              "circulation_by_branch.csv")
        st.caption(tr("list_sep").join(notes))
chart(charts.readers_by_month(chart_data(q("readers_by_month", date_from=drawn_from, date_to=drawn_to, branch_ids=ids)),
                              drawn_from, drawn_to, selected))


def overdue_numbers(_: date, day: date) -> dict:
    rows = q("overdue_by_branch", date_to=day, branch_ids=ids)
    out = rows.select(pl.col("copies_out", "copies_overdue", "copies_adrift_overdue").sum()).row(0, named=True)
    return out | {"overdue_share": out["copies_overdue"] / out["copies_out"] if out["copies_out"] else None}


# Below the fold: one section at a time, run only when its tab is open. Tables that hold numbers take the whole
# width, their key columns first (no number behind a scroll inside the grid).
overdue_tab, pairs_tab, who_tab, collection_tab, never_tab = st.tabs(
    [tr("mgr_overdue"), tr("mgr_lending_owning"), tr("mgr_who"), tr("share_circulated"), tr("circ_never_borrowed")],
    key="loans_tab", on_change="rerun")

if overdue_tab.open:
    with overdue_tab:
        overdue = q("overdue_by_branch", date_to=f.date_to, branch_ids=ids)
        totals = overdue_numbers(f.date_from, f.date_to)

        compare.cards(totals, OVERDUE, compare.rows(overdue_numbers, f.date_from, f.date_to), per_row=4)
        st.caption(tr("mgr_overdue_caption", day=f.date_to))
        if totals["copies_overdue"]:
            chart(charts.overdue_by_branch(overdue))
        else:
            st.info(tr("mgr_no_overdue", day=f.date_to))
        table(overdue, "overdue_by_branch.csv", height=360,
              columns=["name", "copies_overdue", "overdue_share", "copies_out", "copies_adrift_overdue",
                       "overdue_1_30", "overdue_31_90", "overdue_over_90", "mean_days_overdue", "max_days_overdue",
                       "kind", "branch_id"])

if pairs_tab.open:
    with pairs_tab:
        if ids and len(ids) <= charts.TOP:  # a few branches chosen: branch by branch, their busiest pairs
            chart(charts.lending_owning(q("loans_by_lending_owning", **scope, page_size=charts.TOP * charts.TOP)))
        else:
            st.caption(tr("pages_by_town", n=charts.TOP))
            chart(charts.lending_owning_town(q("loans_by_lending_owning_town", **scope)))
        pairs_box = st.expander(tr("mgr_lending_owning_table"), key="pairs_box", on_change="rerun")
        if pairs_box.open:
            with pairs_box:
                paged_table("loans_by_lending_owning", scope, "loans_by_lending_owning.csv",
                            ("loans", "transfers", "lending"), key="pairs")

if who_tab.open:
    with who_tab:
        types = words(q("loans_by_reader_type", **scope), "reader_type", lambda v: v)
        ages = q("loans_by_age_band", **scope)
        left, right = st.columns(2)
        chart(charts.readers_by(chart_data(types, total=True), "reader_type", tr("mgr_chart_reader_type")), where=left)
        left.caption(tr("mgr_readers_caption"))
        with left:
            table(readers_for_role(types, "active_readers", total=True), "loans_by_reader_type.csv")
        chart(charts.readers_by(chart_data(ages, total=True), "age_band",
                                tr("mgr_chart_age_band", year=f.date_to.year)), where=right)
        with right:
            table(readers_for_role(ages.drop("age_from"), "active_readers", total=True), "loans_by_age_band.csv")

if collection_tab.open:
    with collection_tab:
        circulated = q("circulated_by_branch", **scope)
        chart(charts.branch_bars(circulated, "share_circulated", tr("mgr_chart_circulated"), share=True,
                                 hover=("copies_circulated", "copies")))
        table(circulated, "circulated_by_branch.csv", height=420,
              columns=["name", "share_circulated", "copies_circulated", "copies", "kind", "branch_id"])

        left, right = st.columns(2)
        turnover = q("turnover_by_branch", **scope)
        chart(charts.turnover_by_branch(turnover), where=left)
        chart(charts.weekday_hour(q("loans_by_weekday_hour", **scope)), where=right)
        right.caption(tr("circ_weekday_hour_caption"))
        turnover_box = st.expander(label("turnover"), key="turnover_box", on_change="rerun")
        if turnover_box.open:
            with turnover_box:
                table(turnover, "turnover_by_branch.csv",
                      columns=["name", "turnover", "loans", "copies", "volumes", "kind", "branch_id"])

        chart(charts.loans_by_clc(q("loans_by_clc", **scope)))
        st.subheader(tr("circ_top_titles", n=TOP_TITLES))
        titles = q("titles_by_loans", **scope, top=TOP_TITLES)
        table(words(titles, "clc_class", charts.clc_name), "titles_by_loans.csv", height=420,
              columns=["title", "loans", "copies", "author", "clc_class"])

        st.subheader(tr("circ_owner_compare"))
        left, _ = st.columns(2)
        owners = q("loans_by_owner", **scope)
        chart(charts.loans_by_owner(owners), where=left)
        table(words(owners, "owner", lambda o: tr(f"circ_owner_{o}")), "loans_by_owner.csv")

if never_tab.open:
    with never_tab:
        # At the data's last day, the day left empty (the query's default): its download then reads the weeding list
        # as stored.
        day = None if f.date_to == status["as_of"] else f.date_to
        never = paged_table("items_never_borrowed", {"date_to": day, "branch_ids": ids},
                            "items_never_borrowed.csv", ("longest", "branch", "call_number"), key="never")
        st.caption(tr("circ_never_borrowed_caption", n=f"{never:,}"))
