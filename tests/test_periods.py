"""The earlier periods a period is compared with, and how much the data holds of them."""

from datetime import date

import pytest

from microbranch.periods import Earlier, around, earlier, previous, whole_month, whole_months, year_earlier


@pytest.mark.parametrize(("period", "expected"), [
    # Whole months: the same number of months before. July-September has 92 days but April-June 91: counted in days
    # it would start on 31 March, before the sample data (1 April), and the comparison would vanish.
    ((date(2024, 7, 1), date(2024, 9, 30)), (date(2024, 4, 1), date(2024, 6, 30))),
    ((date(2024, 3, 1), date(2024, 3, 31)), (date(2024, 2, 1), date(2024, 2, 29))),
    ((date(2024, 1, 1), date(2024, 12, 31)), (date(2023, 1, 1), date(2023, 12, 31))),
    # Any other period: the same number of days just before.
    ((date(2024, 4, 21), date(2024, 5, 8)), (date(2024, 4, 3), date(2024, 4, 20))),
    ((date(2024, 7, 1), date(2024, 7, 1)), (date(2024, 6, 30), date(2024, 6, 30))),
])
def test_previous(period, expected):
    assert previous(*period) == expected


def test_whole_months():
    assert whole_months(date(2024, 7, 1), date(2024, 9, 30)) == 3
    assert whole_months(date(2024, 7, 1), date(2024, 9, 29)) == 0
    assert whole_months(date(2024, 7, 2), date(2024, 9, 30)) == 0


def test_year_earlier():
    assert year_earlier(date(2024, 7, 1), date(2024, 9, 30)) == (date(2023, 7, 1), date(2023, 9, 30))
    assert year_earlier(date(2024, 2, 1), date(2024, 2, 29)) == (date(2023, 2, 1), date(2023, 2, 28))
    assert year_earlier(date(2025, 2, 1), date(2025, 2, 28)) == (date(2024, 2, 1), date(2024, 2, 29))
    assert year_earlier(date(2024, 4, 21), date(2024, 5, 8)) == (date(2023, 4, 21), date(2023, 5, 8))


def test_earlier_on_the_sample_span():
    first, last = date(2024, 4, 1), date(2024, 10, 13)
    # The default view, the whole span: nothing before it.
    assert earlier(first, last, first, last) == [
        Earlier("previous", date(2023, 9, 18), date(2024, 3, 31), "none"),
        Earlier("year", date(2023, 4, 1), date(2023, 10, 13), "none"),
    ]
    # July-September: April-June is whole in the data; a year earlier is not in it.
    assert earlier(date(2024, 7, 1), date(2024, 9, 30), first, last)[0] == Earlier(
        "previous", date(2024, 4, 1), date(2024, 6, 30), "whole", date(2024, 4, 1), date(2024, 6, 30))
    # 15 April - 30 June: the previous 77 days start on 29 January, so the data holds only 1-14 April of them.
    assert earlier(date(2024, 4, 15), date(2024, 6, 30), first, last)[0] == Earlier(
        "previous", date(2024, 1, 29), date(2024, 4, 14), "part", date(2024, 4, 1), date(2024, 4, 14))


@pytest.mark.parametrize("period", [
    (date(2024, 7, 1), date(2024, 9, 30)),  # whole months: the report once compared 31 March - 30 June
    (date(2024, 9, 1), date(2024, 9, 30)),  # one month
    (date(2024, 2, 1), date(2024, 2, 29)),  # a leap February
    (date(2024, 3, 10), date(2024, 3, 19)),  # ragged: ten days
    (date(2024, 4, 15), date(2024, 6, 30)),  # ragged start, month-end finish
    (date(2024, 2, 29), date(2024, 3, 31)),  # from a leap day
])
def test_the_report_and_the_pages_compare_with_the_same_periods(period):
    """The district report's previous period and year earlier are the ones the pages' cards compare with
    (microbranch.periods.earlier), for ragged and whole-month periods alike."""
    from microbranch import report

    span = report.Period(*period)
    pages = {e.kind: (e.date_from, e.date_to) for e in earlier(*period, date(2020, 1, 1), date(2030, 1, 1))}
    assert (span.previous().date_from, span.previous().date_to) == pages["previous"]
    assert (span.year_earlier().date_from, span.year_earlier().date_to) == pages["year"]


def test_around_one_month_draws_the_months_beside_it():
    """September 2024 alone would be one bar. The 12 months around it start 6 months before (2024-03) and end in
    2025-02; the data ends on 2024-10-13, so the window slides back 4 months (2023-11 to 2024-10) and is cut to the
    data (from 2024-04-01): April to 13 October, seven months, the last one partial."""
    assert around(date(2024, 9, 1), date(2024, 9, 30), date(2024, 4, 1), date(2024, 10, 13)) == (
        date(2024, 4, 1), date(2024, 10, 13))
    # Deep inside a long data span: 6 months before February 2023 (2022-08) to 5 after (2023-07); two months (10
    # February to 5 March) are "short" as well.
    assert around(date(2023, 2, 10), date(2023, 3, 5), date(2020, 1, 1), date(2025, 6, 30)) == (
        date(2022, 8, 1), date(2023, 7, 31))
    # Three calendar months or more are drawn as they are.
    assert around(date(2024, 7, 1), date(2024, 9, 30), date(2024, 4, 1), date(2024, 10, 13)) == (
        date(2024, 7, 1), date(2024, 9, 30))


def test_whole_month():
    assert whole_month(date(2024, 9, 1), date(2024, 4, 1), date(2024, 10, 13))
    assert not whole_month(date(2024, 10, 1), date(2024, 4, 1), date(2024, 10, 13))  # the data ends on the 13th
    assert not whole_month(date(2024, 4, 1), date(2024, 4, 2), date(2024, 10, 13))
    assert whole_month(date(2024, 2, 1), date(2024, 2, 1), date(2024, 2, 29))
