"""The one period model: a period, the earlier periods it is compared with, and how much of them the data holds.

Pages, cards and the district report all take their periods from here, so "the previous period" means one thing:
as many whole months before a period of whole months (July-September against April-June), else as many days
just before; "a year earlier" is the same days one year back, a whole month staying whole.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Held = Literal["whole", "part", "none"]


@dataclass(frozen=True)
class Earlier:
    """An earlier period to compare with: `kind` is "previous" or "year"; `held` says how much the data holds."""

    kind: str
    date_from: date
    date_to: date
    held: Held
    held_from: date | None = None
    held_to: date | None = None


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    """The same day `months` months on (or back), kept within the month (31 Mar - 1 month = 29 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return day.replace(year=year, month=month + 1, day=min(day.day, calendar.monthrange(year, month + 1)[1]))


def whole_months(date_from: date, date_to: date) -> int:
    """How many calendar months the period is, when it runs from a first to a last day of a month; else 0."""
    if date_from.day != 1 or date_to != _month_end(date_to) or date_to < date_from:
        return 0
    return (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1


def previous(date_from: date, date_to: date) -> tuple[date, date]:
    """The previous period of the same length: as many whole months before it when the period is whole months
    (July-September is compared with April-June), otherwise as many days before it."""
    months = whole_months(date_from, date_to)
    if months:
        start = _add_months(date_from, -months)
        return start, date_from - timedelta(days=1)
    end = date_from - timedelta(days=1)
    return end - (date_to - date_from), end


def year_earlier(date_from: date, date_to: date) -> tuple[date, date]:
    """The same period one year earlier (29 February becomes the 28th; a whole month stays whole)."""
    start = _add_months(date_from, -12)
    end = _add_months(date_to, -12)
    return start, _month_end(end) if date_to == _month_end(date_to) else end


Part = tuple[Held, date | None, date | None]


@dataclass(frozen=True)
class Period:
    """A span of days, both ends included."""

    date_from: date
    date_to: date

    @classmethod
    def month(cls, text: str) -> Period:
        """'2024-09' -> 1 to 30 September 2024; a ValueError saying the form expected for any other text."""
        try:
            year, month = (int(p) for p in text.split("-"))
            return cls(date(year, month, 1), _month_end(date(year, month, 1)))
        except ValueError as exc:
            msg = f"a month is written YYYY-MM (e.g. 2024-09), got {text!r}"
            raise ValueError(msg) from exc

    @property
    def months(self) -> int:
        """How many whole calendar months the period is (0 when it is not whole months)."""
        return whole_months(self.date_from, self.date_to)

    def previous(self) -> Period:
        return Period(*previous(self.date_from, self.date_to))

    def year_earlier(self) -> Period:
        return Period(*year_earlier(self.date_from, self.date_to))


def held(date_from: date, date_to: date, first: date | None, last: date | None) -> Part:
    """How much of [date_from, date_to] the data [first, last] holds, and that part."""
    if first is None or last is None or date_to < first or date_from > last:
        return "none", None, None
    part = max(date_from, first), min(date_to, last)
    return ("whole" if part == (date_from, date_to) else "part"), *part


def earlier(date_from: date, date_to: date, first: date | None, last: date | None) -> list[Earlier]:
    """The previous period and the same period a year earlier, each with how much of it the data holds."""
    out = []
    for kind, (start, end) in (("previous", previous(date_from, date_to)), ("year", year_earlier(date_from, date_to))):
        out.append(Earlier(kind, start, end, *held(start, end, first, last)))
    return out


def calendar_months(date_from: date, date_to: date) -> int:
    """How many calendar months the period touches (1 to 30 September: 1; 20 September to 5 October: 2)."""
    return (date_to.year - date_from.year) * 12 + date_to.month - date_from.month + 1


def around(date_from: date, date_to: date, first: date, last: date, months: int = 12) -> tuple[date, date]:
    """The days a monthly chart draws for a period: the period itself when it touches 3 calendar months or more,
    else `months` calendar months around it (half of them before its first month, the rest from it on), moved to
    lie within the data [first, last] where it can and cut to it, so one month is never one lone bar."""
    if calendar_months(date_from, date_to) >= 3:
        return date_from, date_to
    start = _add_months(date_from.replace(day=1), -(months // 2))
    end = _month_end(_add_months(start, months - 1))
    if end > last:  # slide back so the months after the data still show months before the period
        start, end = _add_months(start, -calendar_months(last, end) + 1), last
    return max(start, first), min(end, last)


def whole_month(month: date, date_from: date, date_to: date) -> bool:
    """Whether [date_from, date_to] holds the whole calendar month of `month` (else its bar or point is partial)."""
    return date_from <= month.replace(day=1) and _month_end(month) <= date_to
