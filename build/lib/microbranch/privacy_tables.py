"""Small-count suppression of reader counts in published breakdowns (the district-official view).

The rule (design: metrics.md, "Suppression"): a count of readers from 1 to 9 is shown as `<10`
(primary suppression); where a published total would let a suppressed cell be worked out, the
next-smallest cell is suppressed too (complementary suppression, shown as `x`). Counts of loans, copies
and residents are not suppressed. Pure functions: no database, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

LOW, HIGH = 1, 9
PRIMARY, COMPLEMENTARY = "primary", "complementary"
SHOWN = {PRIMARY: "<10", COMPLEMENTARY: "x"}


def suppression(values: Sequence[int | None], sums: Sequence[tuple[int, Sequence[int]]]) -> list[str | None]:
    """Which published counts to hide, by position: None, "primary" or "complementary".

    `values` are all the counts a table publishes, cells and totals alike; each `(total, parts)` in
    `sums` says that values[total] = sum of values[parts] is visible to the reader (a row total, a
    column total, a subtotal). A count from 1 to 9 is hidden (primary). Then, as long as some sum has
    exactly one hidden member (which the others would reveal), its smallest visible part is hidden
    too (ties: the first), or its total when no part is left; repeated until every sum hides none or
    at least two of its members.
    """
    hidden: list[str | None] = [PRIMARY if v is not None and LOW <= v <= HIGH else None for v in values]
    changed = True
    while changed:
        changed = False
        for total, parts in sums:
            members = [total, *parts]
            if sum(hidden[i] is not None for i in members) != 1:
                continue
            visible = [i for i in parts if hidden[i] is None]
            if visible:
                pick = min(visible, key=lambda i: (values[i] if values[i] is not None else 0, i))
            elif hidden[total] is None:
                pick = total
            else:  # the total is the hidden one and it has no parts: nothing reveals it
                continue
            hidden[pick] = COMPLEMENTARY
            changed = True
    return hidden


def rollup_sums(levels: Sequence[str], groups: Sequence[object]) -> list[tuple[int, list[int]]]:
    """The sums a community / town / district roll-up publishes: each town row is the sum of its
    community rows, the district row the sum of the town rows (or of the communities, when there are
    no town rows)."""
    sums: list[tuple[int, list[int]]] = []
    towns = {g: i for i, (lv, g) in enumerate(zip(levels, groups, strict=True)) if lv == "town"}
    for g, i in towns.items():
        sums.append((i, [j for j, (lv, h) in enumerate(zip(levels, groups, strict=True))
                         if lv == "community" and h == g]))
    for i, lv in enumerate(levels):
        if lv == "district":
            sums.append((i, list(towns.values()) or [j for j, lv2 in enumerate(levels) if lv2 == "community"]))
    return sums


def suppress_rollup(frame: pl.DataFrame, count: str, linked: Mapping[str, str] | None = None,
                    level: str = "level", group: str = "town_code") -> pl.DataFrame:
    """A community / town / district roll-up (like `penetration_by_community`) for the official view.

    `count` (readers) and every `linked` column (numbers that would give the count away, such as
    readers per 1,000 residents) become text: the number, `<10` or `x`. `linked` maps each such column
    to its format, e.g. {"penetration": "{:.1f}"}.
    """
    linked = dict(linked or {})
    for col in (count, level, group, *linked):
        if col not in frame.columns:
            msg = f"suppress_rollup: column {col!r} is missing; the frame has {frame.columns}"
            raise ValueError(msg)
    values = frame[count].to_list()
    hidden = suppression(values, rollup_sums(frame[level].to_list(), frame[group].to_list()))

    def show(col: str, fmt: str) -> pl.Series:
        out = [SHOWN[h] if h else (None if v is None else fmt.format(v))
               for v, h in zip(frame[col].to_list(), hidden, strict=True)]
        return pl.Series(col, out, dtype=pl.String)

    return frame.with_columns(show(count, "{:,}"), *(show(c, f) for c, f in linked.items()))
