"""Who sees what: the one rulebook for access and privacy, read by the pages' kit, the cards, the sign-in, the
district report and the command line alike.

Roles (`ROLES`):
- `staff`: every page, including the upload and the audit; reader-level rows (pseudonyms).
- `manager`: every page but the upload and the audit; reader-level rows.
- `official` (district): the aggregate pages only; no reader-level column; reader counts suppressed.

Which role opens which page is `PAGES`. Reader-level columns (`READER_LEVEL`, and any text column whose values look
like pseudonyms) are never shown to a role outside `SEES_READERS`.

Suppression (docs/metrics.md, "Suppression"): for such a role a count of readers (`READER_COUNTS`) from `LOW` to
`HIGH` is shown as `SHOWN[PRIMARY]` (`<10`), with the numbers that would give it away (`LINKED`, e.g. loans per
reader). Where a published sum (a card, a table's total, a town's row, a change against an earlier period) would
let a hidden count be worked out, the next-smallest count of that sum is hidden too (complementary suppression,
shown as `x`): `suppression` for any list of counts and sums, `protect` for a table and its published margins,
`suppress_rollup` for a community / town / district roll-up. Counts of loans, copies and residents are not
suppressed. Pure functions: no database, no Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from itertools import combinations

import polars as pl

from microbranch.i18n import metrics

ROLES = ("staff", "manager", "official")
SEES_READERS = ("staff", "manager")  # may see reader-level rows and unsuppressed reader counts

# page (its url path) -> the roles that may open it
PAGES: dict[str, tuple[str, ...]] = {
    "overview": ROLES,
    "loans": ROLES,
    "chains": ROLES,
    "stock": ("staff", "manager"),
    "readers": ROLES,
    "branch_map": ROLES,
    "residents": ROLES,
    "scorecards": ROLES,
    "report": ROLES,
    "upload": ("staff",),
    "audit": ("staff",),
    "glossary": ROLES,
    "branch": ROLES,  # one branch's page; its stock section follows the stock page's rule
}

READER_LEVEL = ("reader", "from_reader", "holder", "expected_holder", "reader_id", "from_reader_id", "to_reader")
PSEUDONYM = re.compile(r"R[0-9a-f]{20}")  # a reader's pseudonym (microbranch.privacy)
# counts of readers: the metrics the catalogue marks `readers = true` (catalogue/metrics.toml)
READER_COUNTS = tuple(key for key, entry in metrics().items() if entry.get("readers"))
# numbers that give a reader count away: count -> {column: decimals}
LINKED: dict[str, dict[str, int]] = {"active_readers": {"loans_per_reader": 2},
                                     "readers": {"penetration": 1, "peer_index": 2}}

LOW, HIGH = 1, 9  # reader counts from LOW to HIGH are suppressed
PRIMARY, COMPLEMENTARY = "primary", "complementary"
SHOWN = {PRIMARY: f"<{HIGH + 1}", COMPLEMENTARY: "x"}

Hidden = str | None  # None, PRIMARY or COMPLEMENTARY


def sees_readers(role: str | None) -> bool:
    """Whether `role` may see reader-level rows and reader counts as they are."""
    return role in SEES_READERS


def may_open(role: str | None, page: str) -> bool:
    """Whether `role` may open `page` (a key of `PAGES`)."""
    return role in PAGES[page]


def small(value: object) -> bool:
    """Whether a reader count is suppressed on its own (primary suppression)."""
    return isinstance(value, int) and not isinstance(value, bool) and LOW <= value <= HIGH


def looks_reader_level(frame: pl.DataFrame) -> list[str]:
    """The text columns of `frame` whose values look like reader pseudonyms."""
    return [c for c, dt in frame.schema.items() if dt == pl.String
            and any(PSEUDONYM.fullmatch(v) for v in frame[c].drop_nulls().head(1000).to_list())]


def suppression(values: Sequence[int | None], sums: Sequence[tuple[int, Sequence[int]]]) -> list[Hidden]:
    """Which published counts to hide, by position: None, "primary" or "complementary".

    `values` are all the counts a page or a table publishes, cells and totals alike; each `(total, parts)` in
    `sums` says that values[total] = sum of values[parts] is visible to the reader (a row total, a column total,
    a card beside a table). A count from `LOW` to `HIGH` is hidden (primary). Then, as long as some sum has
    exactly one hidden member (which the others would reveal), its smallest visible part is hidden too
    (ties: the first), or its total when no part is left; repeated until every sum hides none or at least two
    of its members.
    """
    hidden: list[Hidden] = [PRIMARY if small(v) else None for v in values]
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


def protect(cells: pl.DataFrame, count: str, keys: Sequence[str],
            margins: Sequence[Sequence[str]] = ((),)) -> dict[tuple[str, ...], pl.DataFrame]:
    """Suppression for a table of reader counts and the sums published beside it.

    `cells` has one row per finest cell (its `keys` and the `count`); each margin names the key columns a
    published sum groups by: `()` is the grand total (a card), `("month", "group")` a coarser table. Every
    margin that is coarser than another (its keys a subset) is that one's sum, so a hidden cell can be worked
    out from no card, table or total shown. Returns, for `tuple(keys)` and each margin, a frame of its key
    columns, the `count` and `hidden` (None, "primary" or "complementary").
    """
    levels = [tuple(keys), *(tuple(m) for m in margins)]
    frames = {}
    for level in dict.fromkeys(levels):
        frames[level] = (cells.group_by(list(level), maintain_order=True).agg(pl.col(count).sum()) if level
                         else cells.select(pl.col(count).sum()))
    offsets, values = {}, []
    for level, frame in frames.items():
        offsets[level] = len(values)
        values.extend(frame[count].to_list())
    sums = []
    for fine, coarse in combinations(frames, 2):
        if set(fine) < set(coarse):
            fine, coarse = coarse, fine
        if not set(coarse) < set(fine):
            continue
        groups: dict[tuple, list[int]] = {}
        for i, row in enumerate(_keys(frames[fine], coarse)):
            groups.setdefault(row, []).append(offsets[fine] + i)
        for j, row in enumerate(_keys(frames[coarse], coarse)):
            sums.append((offsets[coarse] + j, groups.get(row, [])))
    hidden = suppression(values, sums)
    return {level: frame.with_columns(pl.Series("hidden", hidden[offsets[level]:offsets[level] + frame.height],
                                                dtype=pl.String))
            for level, frame in frames.items()}


def _keys(frame: pl.DataFrame, columns: Sequence[str]) -> list[tuple]:
    """Each row's values of `columns` (an empty tuple for every row when there are none)."""
    return list(frame.select(columns).iter_rows()) if columns else [()] * frame.height


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


def hide(frame: pl.DataFrame, count: str, hidden: Sequence[Hidden], text: Mapping[str, str] | None = None,
         ) -> pl.DataFrame:
    """`count` and its linked columns as text for a table: the number (formatted by `text[column]`, default
    thousands), or `<10` / `x` where `hidden` says so."""
    formats = {count: "{:,}", **{k: f"{{:.{d}f}}" for k, d in LINKED.get(count, {}).items() if k in frame.columns},
               **(text or {})}

    def show(col: str, fmt: str) -> pl.Series:
        out = [SHOWN[h] if h else (None if v is None else fmt.format(v))
               for v, h in zip(frame[col].to_list(), hidden, strict=True)]
        return pl.Series(col, out, dtype=pl.String)

    return frame.with_columns(show(c, f) for c, f in formats.items() if c in frame.columns)


def suppress_rollup(frame: pl.DataFrame, count: str, linked: Mapping[str, str] | None = None,
                    level: str = "level", group: str = "town_code") -> pl.DataFrame:
    """A community / town / district roll-up (like `penetration_by_community`) for a role that does not see readers.

    `count` (readers) and every `linked` column (numbers that would give the count away, such as
    readers per 1,000 residents) become text: the number, `<10` or `x`. `linked` maps each such column
    to its format, e.g. {"penetration": "{:.1f}"}.
    """
    linked = dict(linked or {})
    for col in (count, level, group, *linked):
        if col not in frame.columns:
            msg = f"suppress_rollup: column {col!r} is missing; the frame has {frame.columns}"
            raise ValueError(msg)
    hidden = suppression(frame[count].to_list(), rollup_sums(frame[level].to_list(), frame[group].to_list()))
    return hide(frame.select(frame.columns), count, hidden, {count: "{:,}", **linked})


def count_shown(value: object, role: str | None) -> object:
    """A reader count as `role` may see it on its own (a card, the report's headline): 1 to 9 become `<10`."""
    return SHOWN[PRIMARY] if not sees_readers(role) and small(value) else value
