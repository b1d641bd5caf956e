"""Downloads open in Excel: UTF-8 with BOM, Chinese intact, and no cell that a spreadsheet would run."""

import csv
import io

import polars as pl

from ui.kit import safe_csv


def test_csv_has_a_bom_and_neutralises_formulas():
    frame = pl.DataFrame({
        "题名": ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "普通书名", None],
        "册数": [-1, 2, 3, 4, 5, 6, 7, 8],
    })
    data = safe_csv(frame)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["题名", "册数"]
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2+3", "'@SUM(A1)", "'\tx", "'\rx",
                                        "普通书名", ""]
    assert [r[1] for r in rows[1:]] == ["-1", "2", "3", "4", "5", "6", "7", "8"]  # numbers stay numbers
