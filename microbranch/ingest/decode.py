"""Bytes -> text: recognise .xlsx, UTF-8 (with or without BOM), UTF-16 and GB18030/GBK."""

from __future__ import annotations

import codecs

from microbranch.contract import ContractError

XLSX_MAGIC = b"PK\x03\x04"


HEAD = 1 << 20


def sniff_encoding(data: bytes, whole: bool = True) -> str:
    """Name the encoding of a text export: `xlsx`, `utf-8-sig`, `utf-8`, `utf-16` or `gb18030`.

    With `whole=False` a file is called UTF-8 when its first megabyte is: the caller then reads it as UTF-8
    (DuckDB's reader flags any invalid byte further on) and asks again with `whole=True` if it was not.
    """
    if data.startswith(XLSX_MAGIC):
        return "xlsx"
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    head = data[:4096]
    if head and head.count(0) > len(head) // 4:  # UTF-16 without BOM: every other byte is NUL for ASCII
        return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
    if _is_utf8(data if whole else data[:HEAD], final=whole or len(data) <= HEAD):
        return "utf-8"
    try:
        data.decode("gb18030")
        return "gb18030"
    except UnicodeDecodeError as exc:
        raise ContractError("imp_bad_encoding", position=exc.start) from None


def lone_cr(head: bytes | str) -> bool:
    """Old Mac line ends: records end in a lone carriage return (CR without LF anywhere in the head)."""
    cr, lf = ("\r", "\n") if isinstance(head, str) else (b"\r", b"\n")
    return cr in head and lf not in head  # type: ignore[operator]


def to_text(data: bytes, encoding: str) -> str:
    """The file's text; a file that breaks off inside a character (e.g. an odd number of UTF-16 bytes) is refused."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ContractError("imp_bad_encoding", position=exc.start) from None
    return text[1:] if text.startswith("\ufeff") else text


def _is_utf8(data: bytes, final: bool = True, chunk: int = 1 << 24) -> bool:
    """Check UTF-8 in chunks, so a large export is never held twice in memory. `final=False`: the data may
    end inside a character (a file's head)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), chunk):
            decoder.decode(view[start:start + chunk], final=final and start + chunk >= len(data))
        return True
    except UnicodeDecodeError:
        return False
