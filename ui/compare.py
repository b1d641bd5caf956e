"""Cards that compare the period with the previous period and the same period a year earlier, each card saying
which periods it compares and, in its tooltip, why a comparison is missing.

For the district official a reader count is shown as the rulebook says (`microbranch.access`): a count the page
hid (`<10`, `x`: a string in the row) or from 1 to 9 shows no change, and nor does a change against an earlier
count that would be hidden, which the change would give away."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import polars as pl
import streamlit as st

from microbranch import access, numbers
from microbranch.i18n import definition
from microbranch.periods import Earlier, earlier
from ui.data import made, q
from ui.kit import _entry, change, label, number, role
from ui.shell import lang, tr


def _span(a: date | None, b: date | None) -> str:
    return tr("mgr_span", start=a, end=b)


def rows(name: str | Callable[[date, date], dict], date_from: date, date_to: date,
         **params: object) -> list[tuple[Earlier, dict | None]]:
    """Each earlier period with its numbers, when the data holds the whole of it (else None): the one-row named
    query `name` run on it, or `name(date_from, date_to)` when a page sums its numbers from a table."""
    status = q("data_status").row(0, named=True)
    out = []
    for e in earlier(date_from, date_to, status["first_day"], status["as_of"]):
        row = None
        if e.held == "whole":
            row = (name(e.date_from, e.date_to) if callable(name)
                   else q(name, date_from=e.date_from, date_to=e.date_to, **params).row(0, named=True))
        out.append((e, row))
    return out


def _why_not(e: Earlier) -> str:
    what = tr(f"mgr_cmp_{e.kind}_name")
    if e.held == "part":
        return tr("mgr_cmp_part", what=what, span=_span(e.date_from, e.date_to), held=_span(e.held_from, e.held_to))
    return tr("mgr_cmp_none", what=what, span=_span(e.date_from, e.date_to))


def note(e: Earlier) -> str:
    """What a comparison is against, with its days: for a card's tooltip or a caption."""
    return tr(f"mgr_cmp_{e.kind}", span=_span(e.date_from, e.date_to))


def _seen(key: str, value: object) -> object:
    """A card's value as the viewer may see it (a hidden count is a string, and has no change)."""
    return access.count_shown(value, role()) if key in access.READER_COUNTS else value


def cards(row: dict, keys: tuple[str, ...], compared: list[tuple[Earlier, dict | None]], per_row: int = 6,
          scope_note: dict[str, str] | None = None) -> None:
    """One card per key: the value, its change against the first earlier period held (the other one, if also held,
    in the description beside it), and in the tooltip its definition and why a comparison is missing.
    `scope_note` adds a word to some cards' labels (e.g. residents of the whole district under a branch filter)."""
    rows_needed = -(-len(keys) // min(per_row, 5))  # at most five a row: six cut their titles and values at 1280 px
    per_row = -(-len(keys) // rows_needed)  # rows of even length (6 as 3 + 3, 7 as 4 + 3)
    held = [(e, r) for e, r in compared if r is not None]
    missing = [_why_not(e) for e, r in compared if r is None]
    for start in range(0, len(keys), per_row):
        for col, key in zip(st.columns(per_row), keys[start:start + per_row], strict=False):
            value = _seen(key, row[key])
            shown = number(key, value)
            changes = [(e, r, change(key, value, _seen(key, r[key]))) for e, r in held]
            changes = [(e, r, c) for e, r, c in changes if c is not None]
            first = changes[0] if changes else None
            same = first is not None and shown == number(key, first[1][key])
            # Short on the card (it is narrow); the days compared are in the tooltip.
            # The year-earlier comparison is on the card itself, also when the data does not hold it (its days and
            # why are in the tooltip).
            described = tr("list_sep").join(([tr(f"mgr_vs_{first[0].kind}")] if first else [])
                                            + [f"{tr(f'mgr_vs_{e.kind}')} {c}" for e, _, c in changes[1:]]
                                            + [tr(f"cmp_{'part' if e.held == 'part' else 'missing'}_{e.kind}")
                                               for e, r in compared if r is None]) or None
            compared_days = [note(e) for e, _, _ in changes]
            tip = "\n\n".join(t for t in [definition(_entry(key) or key, lang()), *compared_days, *missing] if t)
            title = tr("mgr_scoped", label=label(key), note=scope_note[key]) if scope_note and key in scope_note \
                else label(key)
            col.metric(title, shown, delta=first[2] if first else None,
                       delta_color="off" if same else "inverse" if numbers.lower_is_better(key) else "normal",
                       delta_arrow="off" if same else "auto", delta_description=described, help=tip or None,
                       border=True)


def changes(frame: pl.DataFrame, value: str, fetch: Callable[[date, date], pl.DataFrame], date_from: date,
            date_to: date, on: str = "branch_id") -> tuple[pl.DataFrame, list[str]]:
    """Per row (branch) the change of `value` against the previous period and a year earlier (`periods.earlier`),
    as a share of the earlier value: columns `<value>_vs_previous` and `<value>_vs_year`, placed just after `value`,
    empty where the earlier value is 0 or missing. `fetch(a, b)` gives the rows of an earlier period. A period the
    data does not hold whole gets no column; the notes say what each column compares with, or why it is missing."""
    status = q("data_status").row(0, named=True)
    befores, notes = [], []
    for e in earlier(date_from, date_to, status["first_day"], status["as_of"]):
        if e.held != "whole":
            notes.append(_why_not(e))
            continue
        befores.append((f"{value}_vs_{e.kind}", fetch(e.date_from, e.date_to)))
        notes.append(note(e))
    return made(_changed, frame, value, on, tuple(befores)), notes  # the same frame on the next view


def _changed(frame: pl.DataFrame, value: str, on: str, befores: tuple[tuple[str, pl.DataFrame], ...]) -> pl.DataFrame:
    for name, before in befores:
        before = before.select(on, pl.col(value).alias("_before"))
        frame = frame.join(before, on=on, how="left", nulls_equal=True).with_columns(
            pl.when(pl.col("_before") > 0).then(pl.col(value) / pl.col("_before") - 1).alias(name)).drop("_before")
    added = [name for name, _ in befores]
    at = frame.columns.index(value) + 1
    order = [c for c in frame.columns if c not in added]
    return frame.select(order[:at] + added + order[at:])
