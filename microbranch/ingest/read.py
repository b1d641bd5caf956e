"""Text or workbook -> a temporary DuckDB table `raw(line, c0, c1, ...)` of text cells.

`line` is the line of the file where the record starts (the header is line 1), which for a workbook
is the spreadsheet row. Clean CSV goes through DuckDB's own reader; a file with multi-line cells or
rows of the wrong width goes through Python's csv module, which knows where each record starts.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from microbranch.contract import ContractError
from microbranch.duck import first
from microbranch.ingest import limits

csv.field_size_limit(limits.MAX_LINE_BYTES)  # a cell can be as long as a line may be (the default is 128 KiB)


@dataclass
class Raw:
    headers: list[str]
    records: int  # data records read (blank lines are not records)
    broken: list[tuple[int, str, str]] = field(default_factory=list)  # (line, reason key, detail): unreadable rows
    broken_total: int = 0  # all of them; only the first MAX_REJECTS_STORED are kept in `broken`


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample.split("\n", 5)[0] + "\n", delimiters=",\t;|").delimiter
    except csv.Error:
        return ","


def _header(text: str, delim: str) -> list[str]:
    """The first record, whole (`text` holds at least its first line: lines are at most MAX_LINE_BYTES)."""
    try:
        first = next(csv.reader(io.StringIO(text), delimiter=delim), [])
    except csv.Error:
        raise ContractError("imp_header_unreadable") from None
    headers = [h.strip() for h in first]
    limits.check_columns(headers)
    return headers


def read_csv_text(con: duckdb.DuckDBPyConnection, path: Path | None, text: str | None, raw_bytes: bytes,
                  work: Path | None = None) -> Raw:
    """Load a CSV into `raw`. `path` is a UTF-8 file DuckDB may read directly; otherwise `text` is used, written
    for DuckDB to a file in the owner-only folder `work`."""
    size = limits.MAX_LINE_BYTES + 4
    head = text[:size] if text is not None else raw_bytes[:size].decode("utf-8", "ignore").lstrip("\ufeff")
    if not head.strip():
        raise ContractError("imp_empty")
    delim = _sniff_delimiter(head[:65536])
    headers = _header(head, delim)
    width = len(headers)
    cols = {f"c{i}": "VARCHAR" for i in range(width)}
    tmp = None
    if path is None:  # an upload, or decoded text: DuckDB reads files, so write it to one
        fd, tmp = tempfile.mkstemp(suffix=".csv", dir=work)
        if text is None:
            with os.fdopen(fd, "wb") as fb:
                fb.write(raw_bytes)
        else:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        path = Path(tmp)
    try:
        drop(con)
        con.sql(
            "create temp table raw_cells as select * from read_csv($p, header = true, delim = $d, quote = '\"', "
            "escape = '\"', columns = $cols, all_varchar = true, strict_mode = true, store_rejects = true, "
            "skip = 0, encoding = 'utf-8')",
            params={"p": str(path), "d": delim, "cols": cols},
        )
        records = first(con, "select count(*) from raw_cells")[0]
        problems = first(con, "select count(*) from reject_errors")[0]
        con.sql("drop table if exists reject_errors; drop table if exists reject_scans")
        body: str | bytes = text if text is not None else raw_bytes
        newline = "\n" if isinstance(body, str) else b"\n"
        lines = body.count(newline) + (0 if body.endswith(newline) else 1)  # type: ignore[arg-type]
        if problems == 0 and lines == records + 1:
            # The line numbers as a view over the cells read in file order: no second copy of a big file.
            con.sql("create temp view raw as select rowid + 2 as line, * from raw_cells")
            return Raw(headers, records)
        con.sql("drop table raw_cells")
    except duckdb.Error:
        pass  # fall back to the exact reader below
    finally:
        if tmp:
            os.unlink(tmp)
    return _read_exact(con, text if text is not None else raw_bytes.decode("utf-8-sig"), delim, width, headers)


def _read_exact(con: duckdb.DuckDBPyConnection, text: str, delim: str, width: int, headers: list[str]) -> Raw:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    next(reader, None)
    start = reader.line_num + 1
    lines: list[int] = []
    rows: list[list[str]] = []
    broken: list[tuple[int, str, str]] = []
    total = 0
    try:
        for rec in reader:
            if rec and any(cell.strip() for cell in rec):
                if len(rec) == width:
                    lines.append(start)
                    rows.append(rec)
                else:
                    total += 1
                    if len(broken) < limits.MAX_REJECTS_STORED:
                        broken.append((start, "wrong_width", str(len(rec))))
            start = reader.line_num + 1
    except csv.Error as exc:
        total += 1
        broken.append((start, "unreadable_csv", str(exc)))
    frame = pl.DataFrame(
        {"line": lines, **{f"c{i}": [r[i] for r in rows] for i in range(width)}},
        schema={"line": pl.Int64, **{f"c{i}": pl.String for i in range(width)}},
    )
    _store(con, frame)
    return Raw(headers, len(rows) + total, broken, total)


def read_xlsx(con: duckdb.DuckDBPyConnection, data: bytes) -> Raw:
    limits.check_xlsx(data)  # measured from its zip directory and parts before it is parsed
    try:
        frame = pl.read_excel(io.BytesIO(data), infer_schema_length=0, raise_if_empty=False)
    except Exception as exc:  # fastexcel raises its own types
        raise ContractError("imp_unreadable_workbook", detail=str(exc).splitlines()[0] if str(exc) else "") from None
    headers = [str(c).strip() for c in frame.columns]
    limits.check_columns(headers)
    if not headers:
        raise ContractError("imp_empty_sheet")
    frame = frame.rename({c: f"c{i}" for i, c in enumerate(frame.columns)}).cast(pl.String)
    frame = frame.with_row_index("line", offset=2).with_columns(pl.col("line").cast(pl.Int64))
    blank = pl.all_horizontal(pl.exclude("line").is_null() | (pl.exclude("line").str.strip_chars() == ""))
    frame = frame.filter(~blank)
    _store(con, frame)
    return Raw(headers, frame.height)


def drop(con: duckdb.DuckDBPyConnection) -> None:
    """Drop `raw` (a table, or a view over the table `raw_cells`) once it has been checked, to free its memory."""
    kinds = dict(con.sql("select table_name, 'table' from duckdb_tables() where temporary and table_name in "
                         "('raw', 'raw_cells') union all select view_name, 'view' from duckdb_views() "
                         "where temporary and view_name = 'raw'").fetchall())
    if kinds.get("raw"):
        con.sql(f"drop {kinds['raw']} raw")
    if kinds.get("raw_cells"):
        con.sql("drop table raw_cells")


def _store(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> None:
    drop(con)
    con.register("raw_frame", frame)
    con.sql("create temp table raw as select * from raw_frame")
    con.unregister("raw_frame")
