"""Every CSV the project writes (page downloads, `rejects`, `audit` and `query --format csv`) is made here, so a
cell that a spreadsheet would run as a formula is never written as one.

A text cell (or heading) starting with `=`, `+`, `-`, `@`, a tab or a carriage return, or with the full-width
`＝ ＋ － ＠` that Chinese input methods type (spreadsheets read them as formulas too), gets a leading `'`.
"""

from __future__ import annotations

import io
import re

import polars as pl

FORMULA_START = "=+\\-@\t\r\uff1d\uff0b\uff0d\uff20"
FORMULA = re.compile(f"^[{FORMULA_START}]")
# Date and time as Excel reads them (not ISO's "…T…", which it keeps as text); a fraction of a second only when there is
# one. Writing them this way also took a third less time than the default on 3.3M chains.
EXCEL_DATETIME = "%Y-%m-%d %H:%M:%S%.f"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def neutralise(text: str) -> str:
    """`text` as a spreadsheet shows it, never runs it."""
    return "'" + text if FORMULA.match(text) else text


def clean(text: str | None, limit: int) -> str | None:
    """A text a user or a file gave, fit to record: control and direction characters gone, cut to `limit`
    characters (marked with …), and neutralised."""
    if text is None:
        return None
    text = neutralise(CONTROL.sub("", str(text)[: limit * 2]))
    return text[: limit - 1] + "…" if len(text) > limit else text


def safe(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with its text cells and headings neutralised."""
    texts = [c for c, dt in frame.schema.items() if dt == pl.String]
    out = frame.with_columns(
        pl.when(pl.col(c).str.contains(FORMULA.pattern)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in texts
    )
    return out.rename({c: neutralise(c) for c in out.columns if FORMULA.match(c)})


def to_csv(frame: pl.DataFrame) -> str:
    """CSV text of the frame, neutralised."""
    return safe(frame).write_csv()


def for_excel(frame: pl.DataFrame) -> bytes:
    """CSV bytes for Excel: UTF-8 with a BOM (so Chinese opens right), neutralised, dates and times as it reads
    them (`EXCEL_DATETIME`)."""
    out = io.BytesIO()
    out.write("\ufeff".encode())
    safe(frame).write_csv(out, datetime_format=EXCEL_DATETIME)
    return out.getvalue()
