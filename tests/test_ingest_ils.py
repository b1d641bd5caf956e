"""Circulation exports of Chinese library systems (tests/data/ils/, SOURCE.md there): every header is recognised as
its contract field, the kind is found from the headers alone, and the file imports (a loan list without an action
column with the action given once, as the upload page asks)."""

from __future__ import annotations

from pathlib import Path

import pytest

from microbranch.contract import detect
from microbranch.ingest import import_file, preview
from microbranch.ingest.mapping import from_header
from tests.conftest import BRANCHES, load, snapshot

DATA = Path(__file__).resolve().parent / "data" / "ils"
EXPECTED = {
    "dp2_borrow.csv": {"读者证条码号": "reader_id", "册条码号": "item_id", "借阅日期": "occurred_at",
                       "操作类型": "action", "操作馆": "branch_id"},
    "interlib_style_loans.csv": {"读者证号": "reader_id", "册条码号": "item_id", "借阅日期": "occurred_at",
                                 "借阅馆": "branch_id", "应还日期": "due_at"},
    "loans_generic.csv": {"借书证号": "reader_id", "图书条码号": "item_id", "借书时间": "occurred_at",
                          "流通类型": "action", "借书馆": "branch_id", "到期日期": "due_at"},
}


def test_every_file_has_its_expectation():
    assert sorted(p.name for p in DATA.glob("*.csv")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_headers_are_the_contracts_fields(name):
    p = preview((DATA / name).read_bytes(), name)
    d = detect(p.headers)
    assert d.kind == "events" and d.header is not None
    assert {d.header.headers[i]: f for i, f in d.header.mapping.items()} == EXPECTED[name]
    assert d.unmatched == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_file_imports(db, tmp_path, name):
    load(db, tmp_path, "b.csv", BRANCHES)
    data = (DATA / name).read_bytes()
    p = preview(data, name)
    d = detect(p.headers)
    mapping = from_header(d.header)
    if "action" not in EXPECTED[name].values():  # a list of loans: every row is a checkout, said once
        mapping.constants["action"] = "checkout"
    r = import_file(db, (name, data), mapping=mapping)
    lines = p.records
    assert (r.status, r.accepted, r.rejected) == ("imported", lines, 0), r.message
    con = snapshot(db)
    assert con.sql("select count(*) from events where branch_id = 'C1'").fetchall() == [(lines,)]
    con.close()
