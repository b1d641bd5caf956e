"""One number format for the screen, the CSV downloads and the district report, read from the catalogue.

A metric's entry in `catalogue/metrics.toml` says how its numbers are written (`format`, `decimals`):

- `count`: a whole number with thousands separators (2,120);
- `percent`: a share of 1, written in per cent with `decimals` (0.2177 -> 21.8%); a change in percentage points;
- `decimal`: a number with `decimals` (1.87).

A column the catalogue does not list is a count when it holds whole numbers, else a decimal with one place.
On screen and in the report the text is the same; in a CSV a number stays a number (Excel can sum it): rounded as
shown, a share as its per-cent figure (21.8, under a heading that says %), no thousands separators.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from microbranch.i18n import entries, t

KINDS = ("count", "percent", "decimal")


@dataclass(frozen=True)
class Style:
    kind: str
    decimals: int

    @property
    def printf(self) -> str:
        """The format of a table column on screen (Streamlit's NumberColumn; a share is shown times 100)."""
        return "localized" if self.kind == "count" else f"%.{self.decimals}f" + ("%%" if self.kind == "percent" else "")


def style(key: str, value: object = None) -> Style:
    """How the numbers of `key` are written (the catalogue's `format` and `decimals`)."""
    entry = entries().get(key, {})
    kind = entry.get("format") or ("decimal" if isinstance(value, float) else "count")
    if kind not in KINDS:
        msg = f"catalogue entry {key!r}: format {kind!r} is not one of {', '.join(KINDS)}"
        raise ValueError(msg)
    return Style(kind, int(entry.get("decimals", 0 if kind == "count" else 1)))


def text(key: str, value: object) -> str:
    """A number as it is shown: '2,120', '21.8%', '1.87'; '—' for none; a suppressed count (`<10`, `x`) as it is."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    value = float(value) if isinstance(value, Decimal) else value
    s = style(key, value)
    if s.kind == "percent":
        return f"{value * 100:,.{s.decimals}f}%"  # type: ignore[operator]
    if s.kind == "count" and isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{s.decimals}f}"


def change(key: str, now: object, before: object, lang: str = "zh") -> str | None:
    """The signed change from `before` to `now`: '+1,204', '-0.3', shares in percentage points ('+1.2 个百分点');
    None when either is missing or suppressed."""
    now, before = (float(v) if isinstance(v, Decimal) else v for v in (now, before))
    if not isinstance(now, int | float) or not isinstance(before, int | float):
        return None
    s = style(key, now)
    if s.kind == "percent":
        return t("pp", lang, value=f"{(now - before) * 100:+.{s.decimals}f}")
    if s.kind == "count" and isinstance(now, int) and isinstance(before, int):
        return f"{now - before:+,}"
    return f"{now - before:+,.{s.decimals}f}"


def csv(key: str, value: object) -> int | float | None:
    """A number for a CSV cell: rounded as shown, a share as its per-cent figure; None stays empty."""
    value = float(value) if isinstance(value, Decimal) else value
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    s = style(key, value)
    if s.kind == "percent":
        return round(value * 100, s.decimals)
    if s.kind == "count" and isinstance(value, int):
        return value
    return round(value, s.decimals)


def lower_is_better(key: str) -> bool:
    """Whether a fall of the metric is the good direction (the catalogue's `better = "lower"`)."""
    return entries().get(key, {}).get("better") == "lower"
