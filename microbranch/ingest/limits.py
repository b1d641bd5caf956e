"""Bounds on the work one upload may cause, each checked before the work it protects.

A CSV is measured on its bytes (lines and their length) before it is decoded or parsed; a workbook is measured
from its zip directory and by streaming its parts, counting the bytes they unzip to, the rows of its sheets and
its shared strings, before a spreadsheet reader sees it. The limits are stated in every refusal and in the README.
"""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np

from microbranch.contract import ContractError

MAX_ROWS = 20_000_000  # data lines in a CSV (a year of a large library's events is well below)
MAX_LINE_BYTES = 1 << 20  # 1 MiB for one line of a CSV, the header included
MAX_COLUMNS = 200  # columns in the header (a kind of file has at most a few dozen)
MAX_XLSX_UNZIPPED = 256 << 20  # 256 MiB: what a workbook's parts add up to once unzipped
MAX_XLSX_ROWS = 1_048_576  # rows in a sheet: Excel's own limit
MAX_SHARED_STRINGS = 2_000_000  # distinct texts of a workbook
MAX_REJECTS_STORED = 10_000  # problems stored per import (all are counted)
CHUNK = 1 << 26


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB"


def check_text(data: bytes) -> None:
    """Refuse a CSV with too many lines or a line too long, by counting line breaks chunk by chunk."""
    lines, longest, start = 0, 0, 0  # `start`: where the current line began
    for offset in range(0, len(data), CHUNK):
        chunk = np.frombuffer(data, np.uint8, count=min(CHUNK, len(data) - offset), offset=offset)
        breaks = np.flatnonzero(chunk == 10) + offset
        if breaks.size:
            longest = max(longest, int(breaks[0]) - start, int(np.diff(breaks).max(initial=0)))
            start = int(breaks[-1]) + 1
        longest = max(longest, offset + chunk.size - start)  # a line still open at the end of the chunk
        lines += breaks.size
        if longest > MAX_LINE_BYTES:
            raise ContractError("imp_limit_line", size=_mib(MAX_LINE_BYTES))
        if lines > MAX_ROWS + 1:
            raise ContractError("imp_limit_rows", rows=f"{MAX_ROWS:,}")


def check_columns(headers: list[str]) -> None:
    if len(headers) > MAX_COLUMNS:
        raise ContractError("imp_limit_columns", count=f"{len(headers):,}", limit=f"{MAX_COLUMNS:,}")


ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>/]")
SHARED_TAG = re.compile(rb"<(?:\w+:)?si[\s>/]")


def check_xlsx(data: bytes) -> None:
    """Measure a workbook without parsing it: the sizes its zip directory declares, then the real bytes each
    part unzips to (a part cannot lie about its size: it is read to the limit and no further), the rows of each
    sheet and the shared strings, counted as they stream past."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        declared = sum(i.file_size for i in book.infolist())
        if declared > MAX_XLSX_UNZIPPED:
            raise _too_big()
        total = 0
        for info in book.infolist():
            name = info.filename
            pattern = ROW_TAG if name.startswith("xl/worksheets/") else SHARED_TAG if \
                name == "xl/sharedStrings.xml" else None
            count, tail = 0, b""
            with book.open(info) as part:
                while block := part.read(1 << 20):
                    total += len(block)
                    if total > MAX_XLSX_UNZIPPED:
                        raise _too_big()
                    if pattern is not None:
                        text = tail + block
                        count += len(pattern.findall(text))
                        tail = text[-16:]
                        count -= len(pattern.findall(tail))  # counted again with the next block
            if pattern is not None:
                count += len(pattern.findall(tail))
            if pattern is ROW_TAG and count > MAX_XLSX_ROWS:
                raise ContractError("imp_limit_sheet_rows", count=f"{count:,}", limit=f"{MAX_XLSX_ROWS:,}")
            if pattern is SHARED_TAG and count > MAX_SHARED_STRINGS:
                raise ContractError("imp_limit_shared", count=f"{count:,}", limit=f"{MAX_SHARED_STRINGS:,}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ContractError("imp_unreadable_workbook", detail=type(exc).__name__) from None


def _too_big() -> ContractError:
    return ContractError("imp_limit_unzipped", size=_mib(MAX_XLSX_UNZIPPED))
