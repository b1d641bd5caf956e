"""Charts that read a period mark the months and weeks it covers only in part."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from ui import charts

MONTHS = pl.DataFrame({
    "branch_id": ["A", "A", "B", "A"],
    "month": [date(2024, 4, 1), date(2024, 5, 1), date(2024, 5, 1), date(2024, 6, 1)],
    "checkouts": [3, 4, 5, 6],
    "transfers": [1, 1, 1, 1],
})


def faded(fig) -> list[str]:
    """The x of the pale bars, as ISO dates, over every trace."""
    return sorted({str(x)[:10] for t in fig.data for x, o in zip(t.x, t.marker.opacity, strict=True) if o < 1})


@pytest.mark.parametrize(("date_from", "date_to", "expected"), [
    (date(2024, 4, 10), date(2024, 6, 15), ["2024-04-01", "2024-06-01"]),  # begun late, cut early
    (date(2024, 4, 1), date(2024, 6, 30), []),  # whole months
    (date(2024, 4, 1), date(2024, 6, 29), ["2024-06-01"]),
    (date(2024, 4, 2), date(2024, 6, 30), ["2024-04-01"]),
])
def test_loans_by_month_fades_partial_months(date_from, date_to, expected):
    fig = charts.loans_by_month(MONTHS, date_from, date_to)
    assert faded(fig) == expected
    assert len(fig.layout.annotations) == len(expected)


@pytest.mark.parametrize(("months", "every"), [(3, 1), (12, 1), (13, 2), (36, 3), (48, 6)])
def test_month_axes_are_labelled_at_most_twelve_times(months, every):
    """Four years of months in half a page: a label every month would run the labels into one another."""
    first = pl.date_range(date(2022, 1, 1), date(2029, 12, 1), interval="1mo", eager=True).head(months)
    frame = pl.DataFrame({"branch_id": "A", "month": first, "checkouts": 1, "transfers": 1})
    fig = charts.loans_by_month(frame, frame["month"].min(), date(2025, 12, 31))
    assert fig.layout.xaxis.dtick == f"M{every}"
    assert months / every <= 12


def test_readers_by_month_in_february_of_a_leap_year():
    frame = pl.DataFrame({"month": [date(2024, 1, 1), date(2024, 2, 1)], "active_readers": [2, 3], "loans": [4, 5],
                          "loans_per_reader": [2.0, 1.67]})
    assert faded(charts.readers_by_month(frame, date(2024, 1, 1), date(2024, 2, 29))) == []
    assert faded(charts.readers_by_month(frame, date(2024, 1, 1), date(2024, 2, 28))) == ["2024-02-01"]


def test_loans_by_week_fades_a_week_not_ended_by_sunday():
    frame = pl.DataFrame({"week": [date(2024, 4, 8), date(2024, 4, 15)], "kind": ["micro", "branch"],
                          "loans": [3, 4], "checkouts": [2, 3], "transfers": [1, 1]})
    # 2024-04-08 is a Monday; 04-17 a Wednesday, 04-21 a Sunday
    assert faded(charts.loans_by_week_kind(frame, date(2024, 4, 8), date(2024, 4, 17))) == ["2024-04-15"]
    assert faded(charts.loans_by_week_kind(frame, date(2024, 4, 8), date(2024, 4, 21))) == []
    assert faded(charts.loans_by_week_kind(frame, date(2024, 4, 9), date(2024, 4, 21))) == ["2024-04-08"]


def test_an_open_chains_timeline_names_its_dates_in_numbers():
    """A copy lent and handed on, not yet returned: its bars hold durations, so the axis must be told it shows
    dates (plotly's default reads "Apr 2024", English on a Chinese page)."""
    steps = pl.DataFrame({
        "chain_no": [1, 1], "action": ["checkout", "transfer"], "branch": ["W01", None],
        "reader": ["R" + "a" * 20, "R" + "b" * 20], "anomaly": [None, None],
        "occurred_at": [datetime(2024, 4, 3, 10), datetime(2024, 4, 20, 9)],
        "held_until": [datetime(2024, 4, 20, 9), None]})
    fig = charts.chain_timeline(steps, "I1", "Book", datetime(2024, 5, 1))
    assert fig.layout.xaxis.tickformat == "%Y-%m-%d"


def test_two_branches_of_one_name_are_two_bars_each_with_its_id():
    frame = pl.DataFrame({"branch_id": ["B1", "B2", "B3"], "name": ["湖兴村微分馆", "湖兴村微分馆", "东涌微分馆"],
                          "kind": ["micro"] * 3, "copies_adrift": [5, 3, 4]})
    shown, left_out, _ = charts.top(frame, "copies_adrift")
    assert shown["name"].to_list() == ["湖兴村微分馆 · B1", "东涌微分馆", "湖兴村微分馆 · B2"] and left_out == 0
