"""The move list as a van run: one stop per branch where copies wait to go home, in a fixed order, and the sheet
the driver ticks off (copies of a stop in shelf order, by call number), printable as a page of its own."""

from __future__ import annotations

from html import escape

import polars as pl

from microbranch.i18n import t

TICK = "☐"


def stops(moves: pl.DataFrame) -> pl.DataFrame:
    """One row per pick-up branch (rows of `moves_by_item`): stop number, branch, address, copies to collect, and the
    branches they go to. Stops go by branch id, so the same day gives the same run."""
    if moves.is_empty():
        return pl.DataFrame(schema={"stop": pl.Int64, "from_branch_id": pl.String, "from_branch": pl.String,
                                    "from_address": pl.String, "copies": pl.Int64, "to_branches": pl.String})
    out = moves.group_by("from_branch_id", "from_branch", "from_address").agg(
        pl.len().cast(pl.Int64).alias("copies"),
        pl.col("to_branch").unique().sort().str.join("、").alias("to_branches"),
    ).sort("from_branch_id")
    return out.with_row_index("stop", offset=1).with_columns(pl.col("stop").cast(pl.Int64))


def sheet(moves: pl.DataFrame) -> pl.DataFrame:
    """The driver's sheet: every copy under its stop, in shelf order (call number, then barcode), with where it goes
    and an empty box to tick."""
    numbered = stops(moves).select("from_branch_id", "stop")
    return moves.join(numbered, on="from_branch_id").sort("stop", "call_number", "item_id", nulls_last=True).select(
        "stop", "from_branch", "from_address", "call_number", "item_id", "title", "to_branch", "to_address",
        pl.lit(TICK).alias("tick"))


def printable(moves: pl.DataFrame, day: object, lang: str = "zh") -> str:
    """The run sheet as one HTML page for the printer (A4, a table per stop, a tick box per copy)."""
    rows = sheet(moves)
    parts = [f"<!doctype html><html lang='{'zh-CN' if lang == 'zh' else 'en'}'><head><meta charset='utf-8'>",
             f"<title>{escape(t('van_title', lang, day=day))}</title><style>",
             "body{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;font-size:12px;margin:12mm}",
             "table{border-collapse:collapse;width:100%;margin-bottom:10px}",
             "th,td{border:1px solid #999;padding:3px 5px}th{background:#eee}h2{font-size:14px;margin:14px 0 4px}",
             ".tick{font-size:16px;text-align:center;width:28px}",
             "h2{break-after:avoid}tr{break-inside:avoid}section+section{break-before:page}</style></head><body>",
             f"<h1>{escape(t('van_title', lang, day=day))}</h1>"]
    heads = [t(k, lang) for k in ("van_call_number", "van_barcode", "van_book", "van_to")]
    for stop in stops(moves).iter_rows(named=True):
        title = t("van_stop", lang, n=stop["stop"], branch=stop["from_branch"], copies=stop["copies"])
        parts.append(f"<section><h2>{escape(title)}"
                     f"</h2><p>{escape(stop['from_address'] or '—')}</p><table><tr>"
                     + "".join(f"<th>{escape(h)}</th>" for h in heads) + f"<th>{TICK}</th></tr>")
        for r in rows.filter(pl.col("stop") == stop["stop"]).iter_rows(named=True):
            cells = "".join(f"<td>{escape(str(r[c] or '—'))}</td>"
                            for c in ("call_number", "item_id", "title", "to_branch"))
            parts.append(f"<tr>{cells}<td class='tick'>{TICK}</td></tr>")
        parts.append("</table></section>")
    parts.append("</body></html>")
    return "".join(parts)
