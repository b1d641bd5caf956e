"""Workbooks made by hand, part by part, as a hostile or unusual writer would: cells anywhere, a `<dimension>`
that says anything, the sheet stored under any path (named in `xl/_rels/workbook.xml.rels`), tags with a prefix
(`<x:row>`), texts inline or shared."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

Cell = tuple[str, str]  # (reference such as "B7", text)


def letters(column: int) -> str:
    out = ""
    while column > 0:
        column, rest = divmod(column - 1, 26)
        out = chr(65 + rest) + out
    return out


def table(rows: Iterable[list[str]]) -> Iterator[list[Cell]]:
    """Rows of texts -> rows of (reference, text), from A1."""
    for r, row in enumerate(rows, start=1):
        yield [(f"{letters(c)}{r}", v) for c, v in enumerate(row, start=1)]


def _row_number(cells: list[Cell]) -> str:
    return "".join(ch for ch in cells[0][0] if ch.isdigit())


def sheet_xml(rows: Iterable[list[Cell]], prefix: str = "", dimension: str | None = None,
              shared: dict[str, int] | None = None, refs: bool = True) -> Iterator[bytes]:
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns:{prefix}="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    yield f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<{p}worksheet {ns}>'.encode()
    if dimension:
        yield f'<{p}dimension ref="{dimension}"/>'.encode()
    yield f"<{p}sheetData>".encode()
    for cells in rows:
        if not cells:
            continue
        out = [f'<{p}row r="{_row_number(cells)}">' if refs else f"<{p}row>"]
        for ref, text in cells:
            r = f' r="{ref}"' if refs else ""
            if shared is not None:
                out.append(f'<{p}c{r} t="s"><{p}v>{shared[text]}</{p}v></{p}c>')
            else:
                out.append(f'<{p}c{r} t="inlineStr"><{p}is><{p}t>{escape(text)}</{p}t></{p}is></{p}c>')
        out.append(f"</{p}row>")
        yield "".join(out).encode()
    yield f"</{p}sheetData></{p}worksheet>".encode()


def workbook(rows: Iterable[list[Cell]], sheet_path: str = "xl/worksheets/sheet1.xml", prefix: str = "",
             dimension: str | None = None, shared_strings: bool = False, refs: bool = True) -> bytes:
    """A whole .xlsx. `rows` may be a generator (a workbook of millions of rows is streamed into its zip)."""
    rows = list(rows) if shared_strings else rows
    shared = None
    if shared_strings:
        shared = {}
        for cells in rows:  # type: ignore[union-attr]
            for _, text in cells:
                shared.setdefault(text, len(shared))
    target = sheet_path[3:] if sheet_path.startswith("xl/") else "/" + sheet_path
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/{sheet_path}" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '</Types>'))
        z.writestr("_rels/.rels", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG}">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{MAIN}" xmlns:r="{REL}">'
            '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        rels = f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="{target}"/>'
        if shared is not None:
            rels += f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        z.writestr("xl/_rels/workbook.xml.rels", (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{PKG}">{rels}'
            '</Relationships>'))
        with z.open(sheet_path, "w") as f:
            for chunk in sheet_xml(rows, prefix, dimension, shared, refs):
                f.write(chunk)
        if shared is not None:
            items = "".join(f"<si><t>{escape(s)}</t></si>" for s in shared)
            z.writestr("xl/sharedStrings.xml", (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{MAIN}" count="{len(shared)}" '
                f'uniqueCount="{len(shared)}">{items}</sst>'))
    return buf.getvalue()


def dense_cell() -> bytes:
    """A header in A1 and a value in XFD1048576: a spreadsheet reader that makes a full grid of it needs 512 GiB."""
    return workbook([[("A1", "分馆编号")], [("XFD1048576", "x")]])


def many_rows(n: int, prefix: str = "x", sheet_path: str = "xl/data/rows.xml") -> bytes:
    """A sheet of `n` rows (a header, then one number a row), with prefixed tags and stored where no sheet usually
    is: a few hundred kilobytes zipped for millions of rows."""
    p = f"{prefix}:" if prefix else ""
    header = [[("A1", "分馆编号"), ("B1", "分馆名称")]]
    buf = io.BytesIO()
    body = f"<{p}row><{p}c><{p}v>1</{p}v></{p}c></{p}row>".encode() * 10_000
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        shell = workbook(header, sheet_path=sheet_path, prefix=prefix)
        with zipfile.ZipFile(io.BytesIO(shell)) as small:
            for info in small.infolist():
                if info.filename != sheet_path:
                    z.writestr(info.filename, small.read(info))
        with z.open(sheet_path, "w") as f:
            parts = list(sheet_xml(header, prefix))
            f.write(b"".join(parts[:-1]))
            for _ in range((n - 1) // 10_000):
                f.write(body)
            f.write(f"<{p}row><{p}c><{p}v>1</{p}v></{p}c></{p}row>".encode() * ((n - 1) % 10_000))
            f.write(parts[-1])
    return buf.getvalue()
