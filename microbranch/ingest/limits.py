"""Bounds on the work one upload may cause, each checked before the work it protects.

A CSV is measured on its bytes (lines and their length) before it is decoded or parsed; a workbook is measured
from its zip directory and by streaming its parts, counting the bytes they unzip to, the rows of its sheets, the
place of every cell and its shared strings, before a spreadsheet reader sees it. The limits are stated in every
refusal and in docs/storage.md ("Limits, faults and many viewers").
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib

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


def check_text(data: bytes) -> int:
    """Refuse a CSV with too many lines or a line too long, by counting line breaks chunk by chunk; return the
    number of line breaks."""
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
    return lines


def check_columns(headers: list[str]) -> None:
    if len(headers) > MAX_COLUMNS:
        raise ContractError("imp_limit_columns", count=f"{len(headers):,}", limit=f"{MAX_COLUMNS:,}")


SHARED_TAG = re.compile(rb"<(?:[\w.-]+:)?si[\s>/]")
# A start tag of a sheet part that places cells, whatever its prefix (`<row>`, `<x:row>`), with its attributes
# (quoted values may hold `>`).
SHEET_TAG = re.compile(rb"<(?:[\w.-]+:)?(row|c|dimension)(?=[\s/>])((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)>")
ANY_TAG = re.compile(rb"<(?:[^<>\"']|\"[^\"]*\"|'[^']*')*>")
ATTR_R = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([^\"']*)[\"']")
ATTR_REF = re.compile(rb"(?:^|\s)ref\s*=\s*[\"']([^\"']*)[\"']")
CELL_REF = re.compile(r"\$?([A-Z]{1,3})\$?([0-9]{1,7})|\$?([A-Z]{1,3})|\$?([0-9]{1,7})")
REL = re.compile(rb"<(?:[\w.-]+:)?Relationship\s((?:[^<>\"']|\"[^\"]*\"|'[^']*')*)>")
ATTR_TYPE = re.compile(rb"(?:^|\s)Type\s*=\s*[\"']([^\"']*)[\"']")
ATTR_TARGET = re.compile(rb"(?:^|\s)Target\s*=\s*[\"']([^\"']*)[\"']")
MAX_TAG = 1 << 16  # one start tag of a sheet longer than this is not a spreadsheet's
WORKBOOK_RELS = "xl/_rels/workbook.xml.rels"


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rest = divmod(n - 1, 26)
        out = chr(65 + rest) + out
    return out


class _Sheet:
    """Where the cells of one sheet part fall, tag by tag as they stream past: its rows, the `<dimension>` and
    every cell reference (or the place a cell without one takes), each within MAX_XLSX_ROWS and MAX_COLUMNS."""

    def __init__(self) -> None:
        self.rows = 0  # <row> tags
        self.row = 0  # the row being read
        self.column = 0  # the column of the last cell
        self.carry = b""  # an unfinished tag at the end of the last block

    def feed(self, block: bytes) -> None:
        text = self.carry + block
        last = text.rfind(b"<")
        end = len(text)
        if last >= 0 and not ANY_TAG.match(text, last):
            end = last  # the last tag goes on in the next block
            if len(text) - last > MAX_TAG:
                raise ContractError("imp_unreadable_workbook", detail="tag")
        for m in SHEET_TAG.finditer(text, 0, end):
            self._tag(m.group(1), m.group(2))
        self.carry = text[end:]

    def _tag(self, name: bytes, attrs: bytes) -> None:
        if name == b"dimension":
            ref = ATTR_REF.search(attrs)
            for part in (ref.group(1).decode("ascii", "replace").split(":") if ref else []):
                self._place(part, dimension=True)
            return
        r = ATTR_R.search(attrs)
        if name == b"row":
            self.rows += 1
            self.row = self._number(r.group(1)) if r else self.row + 1
            self.column = 0
            if self.rows > MAX_XLSX_ROWS or (not r and self.row > MAX_XLSX_ROWS):
                raise ContractError("imp_limit_sheet_rows_over", limit=f"{MAX_XLSX_ROWS:,}")
            self._check(self.row, 1)
        elif r:
            self._place(r.group(1).decode("ascii", "replace"))
        else:
            self.column += 1
            self._check(max(self.row, 1), self.column)

    def _place(self, ref: str, dimension: bool = False) -> None:
        m = CELL_REF.fullmatch(ref.strip().upper())
        if m is None:
            raise ContractError("imp_unreadable_workbook", detail=f"cell reference {ref[:20]!r}")
        letters, digits = m.group(1) or m.group(3), m.group(2) or m.group(4)
        row = int(digits) if digits else (1 if dimension else self.row)
        column = _column_number(letters) if letters else 1
        self._check(row, column)
        if not dimension:
            self.row, self.column = max(self.row, row), column

    @staticmethod
    def _number(digits: bytes) -> int:
        if not digits.strip().isdigit() or len(digits.strip()) > 9:
            raise ContractError("imp_unreadable_workbook", detail=f"row {digits[:20]!r}")
        return int(digits)

    @staticmethod
    def _check(row: int, column: int) -> None:
        if row > MAX_XLSX_ROWS or column > MAX_COLUMNS:
            raise ContractError("imp_limit_cell", cell=f"{_column_letters(column)}{row}", rows=f"{MAX_XLSX_ROWS:,}",
                                columns=f"{MAX_COLUMNS:,}")


def _parts(book: zipfile.ZipFile) -> tuple[set[str], set[str]]:
    """The workbook's sheet parts and shared-string parts: those its relationships name (where a spreadsheet
    reader looks for them, wherever they are stored), and any part stored where sheets usually are."""
    names = set(book.namelist())
    sheets = {n for n in names if n.startswith("xl/worksheets/") and not n.endswith(".rels")}
    shared = {"xl/sharedStrings.xml"} & names
    if WORKBOOK_RELS in names:
        info = book.getinfo(WORKBOOK_RELS)
        if info.file_size > MAX_TAG * 16:
            raise _too_big()
        with book.open(info) as f:
            rels = f.read(MAX_TAG * 16 + 1)
        for m in REL.finditer(rels):
            kind, target = ATTR_TYPE.search(m.group(1)), ATTR_TARGET.search(m.group(1))
            if not kind or not target:
                continue
            path = target.group(1).decode("utf-8", "replace").replace("\\", "/")
            path = posixpath.normpath(path.lstrip("/") if path.startswith("/") else posixpath.join("xl", path))
            found = next((n for n in names if n.casefold() == path.casefold()), path)
            if kind.group(1).endswith(b"/worksheet"):
                sheets.add(found)
            elif kind.group(1).endswith(b"/sharedStrings"):
                shared.add(found)
    return sheets & names, shared & names


def check_xlsx(data: bytes) -> None:
    """Measure a workbook from its own structure before any spreadsheet reader sees it: the sizes its zip directory
    declares, then the real bytes each part unzips to (a part cannot lie about its size: it is read to the limit
    and no further); for each sheet (found through the workbook's relationships) its rows and the place of every
    cell, whatever the tags' prefix; the shared strings, counted as they stream past."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        declared = sum(i.file_size for i in book.infolist())
        if declared > MAX_XLSX_UNZIPPED:
            raise _too_big()
        sheets, shared = _parts(book)
        total = 0
        for info in book.infolist():
            name = info.filename
            sheet = _Sheet() if name in sheets else None
            count, tail = 0, b""
            with book.open(info) as part:
                while block := part.read(1 << 20):
                    total += len(block)
                    if total > MAX_XLSX_UNZIPPED:
                        raise _too_big()
                    if sheet is not None:
                        sheet.feed(block)
                    elif name in shared:
                        text = tail + block
                        count += len(SHARED_TAG.findall(text))
                        tail = text[-16:]
                        count -= len(SHARED_TAG.findall(tail))  # counted again with the next block
            if name in shared:
                count += len(SHARED_TAG.findall(tail))
                if count > MAX_SHARED_STRINGS:
                    raise ContractError("imp_limit_shared", count=f"{count:,}", limit=f"{MAX_SHARED_STRINGS:,}")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, RuntimeError, KeyError,
            ValueError, zlib.error) as exc:
        if isinstance(exc, ContractError):
            raise
        raise ContractError("imp_unreadable_workbook", detail=type(exc).__name__) from None


def _too_big() -> ContractError:
    return ContractError("imp_limit_unzipped", size=_mib(MAX_XLSX_UNZIPPED))
