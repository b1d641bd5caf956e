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
            raise ContractError(f"A line of the file is longer than {_mib(MAX_LINE_BYTES)}, the limit for "
                                "one line: it is not a library export. 文件中有一行超过 "
                                f"{_mib(MAX_LINE_BYTES)}（单行上限），不是图书馆系统的导出文件。")
        if lines > MAX_ROWS + 1:
            raise ContractError(f"The file has more than {MAX_ROWS:,} lines, the limit for one import: split it "
                                f"into smaller files. 文件超过 {MAX_ROWS:,} 行（单次导入上限），请拆分后再导入。")


def check_columns(headers: list[str]) -> None:
    if len(headers) > MAX_COLUMNS:
        raise ContractError(f"The header has {len(headers):,} columns; the limit is {MAX_COLUMNS:,}. Export only "
                            f"the columns needed. 表头有 {len(headers):,} 列，上限为 {MAX_COLUMNS:,} 列，"
                            "请只导出需要的列。")


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
                raise ContractError(f"A sheet of the workbook has {count:,} rows; the limit is {MAX_XLSX_ROWS:,} "
                                    f"(Excel's own). 工作表有 {count:,} 行，超过上限 {MAX_XLSX_ROWS:,} 行。")
            if pattern is SHARED_TAG and count > MAX_SHARED_STRINGS:
                raise ContractError(f"The workbook has {count:,} shared texts; the limit is {MAX_SHARED_STRINGS:,}. "
                                    f"Save it as CSV UTF-8. 工作簿的共享文本有 {count:,} 个，超过上限 "
                                    f"{MAX_SHARED_STRINGS:,}，请另存为 UTF-8 CSV。")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
        raise ContractError(f"The workbook cannot be read ({type(exc).__name__}). Excel 文件无法读取，请检查文件。"
                            ) from None


def _too_big() -> ContractError:
    return ContractError(f"The workbook unzips to more than {_mib(MAX_XLSX_UNZIPPED)}, the limit for one workbook: "
                         f"save it as CSV UTF-8. 工作簿解压后超过 {_mib(MAX_XLSX_UNZIPPED)}（上限），"
                         "请另存为 UTF-8 CSV。")
