"""Named queries: every read of the data goes through a `.sql` file in `queries/` with bound `$params`."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import polars as pl
from duckdb import _seam

from microbranch import clock

# `queries/` beside the package in a source tree; installed, it ships inside the package as `microbranch/sql/`.
_SOURCE_DIR = Path(__file__).resolve().parent.parent / "queries"
QUERY_DIR = _SOURCE_DIR if _SOURCE_DIR.is_dir() else Path(__file__).resolve().parent / "sql"
# Files whose name starts with `_` hold shared pieces (macros), not queries.
MACROS = sorted(QUERY_DIR.glob("_*.sql"))
PARAM = re.compile(r"\$([a-z_][a-z0-9_]*)")


class UnknownQuery(KeyError):
    def __str__(self) -> str:
        return f"No query named {self.args[0]!r}; known: {', '.join(names())}"


def names() -> list[str]:
    return sorted(p.stem for p in QUERY_DIR.glob("*.sql") if not p.stem.startswith("_"))


@cache
def text(name: str) -> str:
    path = QUERY_DIR / f"{name}.sql"
    if not re.fullmatch(r"[a-z0-9][a-z0-9_]*", name) or not path.exists():
        raise UnknownQuery(name)
    return path.read_text(encoding="utf-8")


def params_of(name: str) -> list[str]:
    return list(dict.fromkeys(PARAM.findall(text(name))))


def describe(name: str) -> str:
    """The comment block at the top of the file: what a row is and the parameters."""
    return "\n".join(line[3:] for line in text(name).splitlines() if line.startswith("-- "))


def run(con: duckdb.DuckDBPyConnection, name: str, **params: object) -> pl.DataFrame:
    """Run a named query on its own cursor (safe across threads). Missing parameters are NULL (default), but
    `$time_zone`, which is the dashboard's (`clock.zone_name()`)."""
    wanted = params_of(name)
    unknown = set(params) - set(wanted)
    if unknown:
        raise TypeError(f"Query {name!r} takes {wanted or 'no parameters'}; got unknown {sorted(unknown)}")
    values = {p: params.get(p) for p in wanted}
    if "time_zone" in values and values["time_zone"] is None:  # times shown in the one zone of the dashboard
        values["time_zone"] = clock.zone_name()
    cur = con.cursor()
    try:
        return _frame(cur, text(name), values or None)
    finally:
        cur.close()


def _frame(cur: duckdb.DuckDBPyConnection, sql: str, values: dict[str, object] | None) -> pl.DataFrame:
    """The rows of one statement as `cur.sql(sql, params=values).pl()` gives them, bound once. A relation binds its
    text when it is made and again when it is read: 5-25 ms of a page's query at 10M events (docs/benchmarks.md).
    `_seam.submit` is the read alone, as `.pl()` calls it (duckdb 2.0.0, pinned in pyproject.toml)."""
    result = _seam.submit(cur, sql, values, "arrow", _seam.DEFAULT_BATCH_SIZE)
    return pl.from_arrow(result.arrow_table(to_polars=True), rechunk=False)
