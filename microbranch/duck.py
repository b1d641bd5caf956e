"""Small helpers over DuckDB connections, used by every module that runs SQL."""

from __future__ import annotations

import duckdb


def first(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> tuple:
    """The first row of a query (DuckDB 2.0 relations have no fetchone)."""
    rows = con.sql(sql, params=params).fetchall() if params else con.sql(sql).fetchall()
    return rows[0]


def quote(value: str) -> str:
    """A string as an SQL literal: for the few places DuckDB takes no bound parameter (a file path in COPY, a
    `set` value, ATTACH)."""
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A name (table, column, schema) as a quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'
