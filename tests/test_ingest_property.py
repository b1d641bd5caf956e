"""Whatever the bytes, an import ends cleanly: rows stored, or one sentence saying why and the data unchanged."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microbranch import storage
from microbranch.contract import KINDS, ContractError
from microbranch.ingest import import_file, preview
from microbranch.privacy import load_key

DATA_TABLES = ("branches", "items", "readers", "communities", "events", "chains", "chain_transfers")
SPELLINGS = sorted({s for k in KINDS.values() for c in k.columns for s in (c.name, *c.aliases)})
CELLS = st.one_of(st.text(max_size=12), st.sampled_from(["2024-04-01", "2024/1/5", "01/02/2024", "借出", "转借",
                                                        "1.23457E+17", "22.8", "113.5", "NS101", "", " "]))
ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "utf-16"]
LINE_ENDS = ["\n", "\r\n", "\r"]


@st.composite
def exports(draw: st.DrawFn) -> bytes:
    """A CSV export: headers drawn from the contract's spellings and from anything, rows of any width, any
    delimiter, encoding and line end; or plain bytes."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    headers = draw(st.lists(st.one_of(st.sampled_from(SPELLINGS), st.text(max_size=8)), min_size=1, max_size=8))
    width = len(headers)
    rows = draw(st.lists(st.lists(CELLS, min_size=max(width - 1, 0), max_size=width + 1), max_size=6))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=draw(st.sampled_from(LINE_ENDS)))
    writer.writerow(headers)
    writer.writerows(rows)
    text = out.getvalue()
    try:
        return text.encode(draw(st.sampled_from(ENCODINGS)))
    except UnicodeEncodeError:
        return text.encode("utf-8")


def data_tables(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.sql(f"select * from {t} order by all").fetchall() for t in DATA_TABLES}
    finally:
        con.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(content=exports())
def test_any_bytes_end_in_rows_or_one_sentence_and_a_refusal_changes_no_data(tmp_path_factory, content):
    folder = tmp_path_factory.mktemp("prop")
    db = folder / "data" / "microbranch.duckdb"
    saved = os.environ.get("MICROBRANCH_KEY_FILE")
    os.environ["MICROBRANCH_KEY_FILE"] = str(folder / "secret" / "microbranch.key")  # a fixture would span examples
    try:
        _one_import(db, content)
    finally:
        if saved is None:
            os.environ.pop("MICROBRANCH_KEY_FILE", None)
        else:
            os.environ["MICROBRANCH_KEY_FILE"] = saved


def _one_import(db: Path, content: bytes) -> None:
    load_key(db)
    base = "branch_id,name,kind,lat,lon,opened_on\nC1,Central,central,22.8,113.5,2019-01-01\n"
    assert import_file(db, ("base.csv", base.encode())).status == "imported"
    before = data_tables(db)
    try:
        preview(content, "x.csv")
    except Exception as exc:  # only a sentence for the user may come out of a preview
        assert isinstance(exc, ContractError), repr(exc)
        assert exc.text("zh") and "\n" not in exc.text("en")
    r = import_file(db, ("x.csv", content))
    assert r.status in ("imported", "refused")
    if r.status == "refused":
        assert r.message and "Traceback" not in r.message and len(r.message.splitlines()) == 1
        assert data_tables(db) == before
    else:
        assert r.lines_read == r.accepted + r.rejected + r.duplicates
    assert storage.current_version(db) is not None
