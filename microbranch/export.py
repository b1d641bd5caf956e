"""The published data as Parquet for engines past one machine (Spark, Trino, DuckDB elsewhere).

`export(db, folder)` writes every table of the current snapshot to `folder/<table>/`: a table of facts
over time (a NOT NULL date or time column named occurred_at, started_at, day or month) is partitioned by its
month (`export_month=YYYY-MM/`, Hive style), the others (and empty ones) are one file. `folder/views.sql`
recreates, over those files (paths relative to the folder), the tables as views of the same names, then the
snapshot's own views and macros, so every named query in `queries/` runs unchanged on the export:

    python -m microbranch query kpis --parquet DIR      (or DuckDB anywhere: docs/guide.md, "Parquet export")
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from microbranch import storage
from microbranch.duck import first, ident, quote

PARTITION = "export_month"
NOT_IN_PARQUET = ("HUGEINT", "UHUGEINT", "BIT", "BIGNUM", "VARINT")
TIME_TYPES = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE")
PREFERRED = ("occurred_at", "started_at", "day", "month")  # the columns of facts over time, in order of preference
# Views written out as data too: the events with their copy and readers named (the stored ones carry numbers, which
# each district gives its own), so several districts' exports side by side make one table of events.
NAMED = ["events"]


def _time_column(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    rows = con.sql(
        "select column_name from duckdb_columns() where schema_name = 'main' and table_name = $t"
        " and (not is_nullable or $t in $named) and data_type in $types order by column_index",
        params={"t": table, "types": list(TIME_TYPES), "named": NAMED},
    ).fetchall()
    names = [r[0] for r in rows]
    return next((n for n in PREFERRED if n in names), None)


def _called_first(macros: dict[str, tuple[str, list[str], str]]) -> list[str]:
    """Macro names in an order where each comes after the macros it calls (DuckDB binds them when made)."""
    calls = {name: {other for other in macros if other != name and re.search(rf"\b{other}\s*\(", body)}
             for name, (_kind, _params, body) in macros.items()}
    ordered: list[str] = []
    while len(ordered) < len(macros):
        ready = sorted(n for n in macros if n not in ordered and calls[n] <= set(ordered))
        ordered += ready or sorted(n for n in macros if n not in ordered)  # a cycle: DuckDB will say so
    return ordered


def export(db: Path, folder: Path) -> list[str]:
    """Write the current snapshot to `folder`; return the tables written."""
    folder.mkdir(parents=True, exist_ok=True)
    con = storage.reader(db, files=True)  # it writes the Parquet files
    try:
        tables = [r[0] for r in con.sql("select table_name from duckdb_tables()"
                                        " where schema_name = 'main' and not temporary order by 1").fetchall()]
        tables += NAMED
        lines = ["-- Views over the Parquet export (paths relative to this folder), then the data's own views and"
                 " macros."]
        for table in tables:
            out = folder / table
            out.mkdir(exist_ok=True)
            # Types Parquet lacks (128-bit integers: the activity bitmaps) travel as exact text, cast back by the view.
            wide = [(c, t) for c, t in con.sql(
                "select column_name, data_type from duckdb_columns() where schema_name = 'main' and table_name = $t"
                " and data_type in $types", params={"t": table, "types": list(NOT_IN_PARQUET)}).fetchall()]
            as_text = f" replace ({', '.join(f'{ident(c)}::varchar as {ident(c)}' for c, _ in wide)})" if wide else ""
            back = f" replace ({', '.join(f'{ident(c)}::{t} as {ident(c)}' for c, t in wide)})" if wide else ""
            column = _time_column(con, table)
            if column and first(con, f"select count(*) from {ident(table)}")[0]:  # an empty one: a file
                con.sql(f"copy (select *{as_text}, strftime({ident(column)}, '%Y-%m') as {PARTITION} "
                        f"from {ident(table)}) to {quote(str(out))} "
                        f"(format parquet, partition_by ({PARTITION}), overwrite_or_ignore true)")
                source = f"read_parquet({quote(table + '/*/*.parquet')}, hive_partitioning = true)"
                columns = f"* exclude ({PARTITION}){back}"
                lines.append(f"create or replace view {ident(table)} as select {columns} from {source};")
            else:
                target = quote(str(out / "data.parquet"))
                con.sql(f"copy (select *{as_text} from {ident(table)}) to {target} (format parquet)")
                source = f"read_parquet({quote(table + '/data.parquet')})"
                lines.append(f"create or replace view {ident(table)} as select *{back} from {source};")
        lines += [sql.rstrip(";") + ";" for (sql,) in con.sql(
            "select sql from duckdb_views() where schema_name = 'main' and not internal and not temporary"
            " and view_name not in $named", params={"named": NAMED}).fetchall()]
        macros = {name: (kind, params, body) for name, kind, params, body in con.sql(
            "select function_name, function_type, parameters, macro_definition from duckdb_functions()"
            " where schema_name = 'main' and not internal and function_type in ('macro', 'table_macro')").fetchall()}
        for name in _called_first(macros):
            kind, params, body = macros[name]
            table = "table " if kind == "table_macro" else ""
            lines.append(f"create or replace macro {ident(name)}({', '.join(params)}) as {table}{body};")
        (folder / "views.sql").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return tables
    finally:
        con.close()


def open_export(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection on an export, with its tables, views and macros."""
    con = duckdb.connect()
    where = str(folder.resolve()).replace("'", "''")
    con.sql((folder / "views.sql").read_text(encoding="utf-8").replace("read_parquet('", f"read_parquet('{where}/"))
    return con
