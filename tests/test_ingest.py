"""Importing exports: encodings, workbooks, aliases, dates, reject rules, reconciliation, re-import, privacy."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
import xlsxwriter

from microbranch import geo
from microbranch.ingest import import_file, preview, reason_text
from microbranch.ingest.read import read_csv_text
from tests.conftest import BRANCHES, load, snapshot, write

ROOT = Path(__file__).resolve().parent.parent
BRANCHES_ZH = """分馆编号,分馆名称,分馆类型,合作单位类型,纬度,经度,开馆日期,对外开放,藏书量
NS000,南沙图书馆,总馆,,22.78,113.57,2019/9/28,是,"600,000"
WF001,鱼窝头社区微分馆,微分馆,社区,22.87,113.45,2024年4月1日,是,800
"""


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030"),
     ("utf-16", "utf-16"), ("utf-16-le", "utf-16-le")],
)
def test_every_encoding_reads_the_same_rows(db, tmp_path, encoding, expected):
    r = load(db, tmp_path, "branches.csv", BRANCHES_ZH, encoding)
    assert (r.status, r.kind, r.encoding) == ("imported", "branches", expected)
    assert (r.lines_read, r.accepted, r.rejected, r.duplicates) == (2, 2, 0, 0)
    rows = snapshot(db).sql("select branch_id, name, kind, host_type, volumes from branches order by 1").fetchall()
    assert rows == [("NS000", "南沙图书馆", "central", None, 600000),
                    ("WF001", "鱼窝头社区微分馆", "micro", "community", 800)]


def test_gb18030_after_a_first_megabyte_of_plain_ascii_is_read_as_gb18030(db, tmp_path):
    # The encoding is first judged on the file's head; the Chinese name far below must still come out right.
    plain = "".join(f"B{i:05d},Branch {i},branch,22.8,113.5,2020-01-01\n" for i in range(30_000))
    text = "branch_id,name,kind,lat,lon,opened_on\n" + plain + "WF001,鱼窝头社区微分馆,micro,22.87,113.45,2024-04-01\n"
    assert len(text.encode("ascii", "ignore")) > 1 << 20
    r = load(db, tmp_path, "branches.csv", text, "gb18030")
    assert (r.status, r.encoding, r.lines_read, r.accepted, r.rejected) == ("imported", "gb18030", 30_001, 30_001, 0)
    assert snapshot(db).sql("select name from branches where branch_id = 'WF001'").fetchall() == [("鱼窝头社区微分馆",)]


def test_workbook_keeps_text_identifiers_and_reads_dates(db, tmp_path):
    load(db, tmp_path, "branches.csv", BRANCHES)
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    sheet = book.add_worksheet()
    text = book.add_format({"num_format": "@"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, h in enumerate(["条码号", "题名", "索书号", "馆藏地", "入藏日期", "价格"]):
        sheet.write(0, col, h)
    sheet.write_string(1, 0, "00012345", text)
    sheet.write(1, 1, "工程管理案例")
    sheet.write(1, 2, "TU71/12")
    sheet.write(1, 3, "M1")
    sheet.write_datetime(1, 4, datetime(2024, 5, 6), day)
    sheet.write_number(1, 5, 45.5)
    sheet.write_string(2, 0, "1.23457E+17")
    sheet.write(2, 1, "被 Excel 改坏的条码")
    book.close()
    r = import_file(db, ("items.xlsx", buf.getvalue()))
    assert (r.kind, r.encoding, r.lines_read, r.accepted, r.rejected) == ("items", "xlsx", 2, 1, 1)
    row = snapshot(db).sql("select item_id, clc_class, clc_subclass, added_on, price::double from items").fetchall()
    assert row == [("00012345", "T", "TU", date(2024, 5, 6), 45.5)]
    rej = snapshot(db).sql("select line, column_name, value from rejects").fetchall()
    assert rej == [(3, "item_id", "1.23457E+17")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-10-14", datetime(2024, 10, 14)),
        ("2024/10/14", datetime(2024, 10, 14)),
        ("2024/1/5", datetime(2024, 1, 5)),
        ("2024年10月14日", datetime(2024, 10, 14)),
        ("20241014", datetime(2024, 10, 14)),
        ("2024-10-14 03:01:43", datetime(2024, 10, 14, 3, 1, 43)),
        ("2024/1/5 3:01:43", datetime(2024, 1, 5, 3, 1, 43)),
        ("2024年10月14日 03:01:43", datetime(2024, 10, 14, 3, 1, 43)),
        ("20241014 03:01:43", datetime(2024, 10, 14, 3, 1, 43)),
    ],
)
def test_every_date_format(db, tmp_path, text, expected):
    r = load(db, tmp_path, "e.csv", f"操作时间,操作类型,条码号,读者证号,操作馆\n{text},借出,001,R1,C1\n")
    assert (r.accepted, r.rejected) == (1, 0)
    assert snapshot(db).sql("select occurred_at from events").fetchall() == [(expected,)]


def test_header_aliases_ignore_case_width_spaces_underscores_and_bom(db, tmp_path):
    text = "\ufeffＢｒａｎｃｈ_ID, 分馆 名称 ,KIND,Lat,LON,opened-on,备注\nX1,甲,micro,22.8,113.5,2024-04-01,随便\n"
    assert preview(text.encode("utf-8"), "x.csv").columns == [
        ("Ｂｒａｎｃｈ_ID", "branch_id"), ("分馆 名称", "name"), ("KIND", "kind"), ("Lat", "lat"), ("LON", "lon"),
        ("opened-on", "opened_on"), ("备注", "ignored: unknown column"),
    ]
    r = load(db, tmp_path, "x.csv", text)
    assert (r.kind, r.accepted, r.columns_ignored) == ("branches", 1, ["备注"])


EVENTS_HEADER = "event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id\n"


@pytest.mark.parametrize(
    ("row", "column", "reason_part"),
    [
        ("9,2024-04-02 10:00,transfer,I1,R2,R2,", "from_reader_id", "oneself"),
        ("9,2024-04-02 10:00,transfer,I1,R2,,", "from_reader_id", "handed the copy on"),
        ("9,2024-04-02 10:00,lend,I1,R2,,C1", "action", "not allowed"),
        ("9,,checkout,I1,R2,,C1", "occurred_at", "required"),
        ("9,2024-04-02 10:00,checkout,,R2,,C1", "item_id", "required"),
        ("9,yesterday,checkout,I1,R2,,C1", "occurred_at", "not a date"),
        ("9,2099-01-01,checkout,I1,R2,,C1", "occurred_at", "after the import"),
        ("9,2024-04-02 10:00,checkout,1.23457E+17,R2,,C1", "item_id", "scientific notation"),
        ("9,2024-04-02 10:00,checkout,I1,R2,,", "branch_id", "needs the branch"),
    ],
)
def test_each_reject_rule(db, tmp_path, row, column, reason_part):
    good = "1,2024-04-01 09:00,checkout,I1,R1,,C1"
    r = load(db, tmp_path, "e.csv", EVENTS_HEADER + good + "\n" + row + "\n")
    assert (r.lines_read, r.accepted, r.rejected, r.duplicates) == (2, 1, 1, 0)
    rejects = snapshot(db).sql("select line, column_name, reason, detail, severity from rejects").fetchall()
    assert [(line, col) for line, col, *_ in rejects] == [(3, column)]
    assert reason_part in reason_text(*rejects[0][2:], "en")


@pytest.mark.parametrize(
    ("text", "column", "reason_part"),
    [
        ("C9,x,central,,95,113.5,2024-01-01", "lat", "latitude"),
        ("C9,x,library,,22.8,113.5,2024-01-01", "kind", "not allowed"),
        ("C9,x,central,,22.8,113.5,2024-02-30", "opened_on", "the day does not exist"),
        ("C9,x,central,,22.8,113.5,2024-2-x", "opened_on", "not a date"),
    ],
)
def test_branch_rules(db, tmp_path, text, column, reason_part):
    r = load(db, tmp_path, "b.csv", "branch_id,name,kind,host_type,lat,lon,opened_on\n" + text + "\n")
    assert (r.accepted, r.rejected) == (0, 1)
    rejects = snapshot(db).sql("select column_name, reason, detail, severity from rejects").fetchall()
    assert rejects[0][0] == column and reason_part in reason_text(*rejects[0][1:], "en")


def test_item_rules_isbn_owner_and_known_branch(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    text = (
        "item_id,title,isbn,home_branch_id,owner,owner_reader_id\n"
        "I1,好书,978-7-111-54742-6,C1,,\n"  # valid ISBN-13
        "I2,校验位错,978-7-111-54742-5,C1,,\n"  # bad check digit: a warning, still imported
        "I3,太短,12345,C1,,\n"  # an optional cell that breaks its rule: a warning, kept with the cell empty
        "I4,家藏,,C1,读者,\n"
        "I5,未知馆,,ZZ,,\n"
        "I6,家藏好书,,C1,读者,000777\n"
    )
    r = load(db, tmp_path, "i.csv", text)
    assert (r.lines_read, r.accepted, r.rejected, r.warnings) == (6, 4, 2, 2)
    got = snapshot(db).sql("select line, column_name, severity from rejects order by line").fetchall()
    assert got == [(3, "isbn", "warning"), (4, "isbn", "warning"), (5, "owner_reader_id", "reject"),
                   (6, "home_branch_id", "reject")]
    assert snapshot(db).sql("select isbn from items where item_id = 'I3'").fetchall() == [(None,)]
    owner = snapshot(db).sql("select owner, owner_reader from items where item_id = 'I6'").fetchall()[0]
    assert owner[0] == "reader" and owner[1].startswith("R") and "000777" not in owner[1]


def test_reimport_and_overlap_add_nothing_twice(db, tmp_path):
    rows = [f"{i},2024-04-0{i} 10:00,checkout,I{i},R{i},,C1" for i in range(1, 6)]
    first = load(db, tmp_path, "a.csv", EVENTS_HEADER + "\n".join(rows[:3]) + "\n")
    again = load(db, tmp_path, "a.csv", EVENTS_HEADER + "\n".join(rows[:3]) + "\n")
    overlap = load(db, tmp_path, "b.csv", EVENTS_HEADER + "\n".join(rows[1:]) + "\n")
    counts = [(r.lines_read, r.accepted, r.rejected, r.duplicates) for r in (first, again, overlap)]
    assert counts == [(3, 3, 0, 0), (3, 0, 0, 3), (4, 2, 0, 2)]
    assert snapshot(db).sql("select count(*) from events").fetchall() == [(5,)]
    log = snapshot(db).sql("select file_name, kind, lines_read, accepted, duplicates, user_name, length(sha256) "
                           "from imports order by import_id").fetchall()
    assert log == [("a.csv", "events", 3, 3, 0, "cli", 64), ("a.csv", "events", 3, 0, 3, "cli", 64),
                   ("b.csv", "events", 4, 2, 2, "cli", 64)]


def test_events_without_id_use_their_content_and_repeat_within_a_file_is_a_duplicate(db, tmp_path):
    text = "occurred_at,action,item_id,reader_id,branch_id\n" + "2024-04-01,checkout,I1,R1,C1\n" * 2
    r = load(db, tmp_path, "e.csv", text + "2024-04-02,return,I1,R1,C1\n")
    assert (r.lines_read, r.accepted, r.duplicates) == (3, 2, 1)


def test_a_later_row_updates_and_an_identical_one_is_a_duplicate(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    changed = BRANCHES.replace("Town one", "Town one renamed")
    r = load(db, tmp_path, "b2.csv", changed)
    assert (r.lines_read, r.accepted, r.duplicates) == (5, 1, 4)
    names = snapshot(db).sql("select name from branches where branch_id = 'B1'").fetchall()
    assert names == [("Town one renamed",)]


def test_orphan_events_are_accepted_and_counted(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    rows = "1,2024-04-01,checkout,I1,R1,,C1\n2,2024-04-01,checkout,I2,R1,,Q9\n"
    r = load(db, tmp_path, "e.csv", EVENTS_HEADER + rows)
    assert (r.accepted, r.orphans) == (2, 2)  # no items known yet; Q9 is no branch either


def test_no_raw_reader_identifier_or_personal_column_is_stored(db, tmp_path):
    readers = ("读者证号,姓名,手机号码,身份证号,住址,社区代码,出生年份\n"
               "000123456789,张三,13800138000,440101199001011234,南沙区某路1号,440115001001,1990\n"
               "1.23457E+17,李四,13900139000,440101199001015678,黄阁镇某路,440115001001,1980\n")
    r = load(db, tmp_path, "readers.csv", readers, "gb18030")
    assert (r.accepted, r.rejected) == (1, 1)
    assert sorted(r.columns_dropped) == sorted(["姓名", "手机号码", "身份证号", "住址"])
    load(db, tmp_path, "e.csv", EVENTS_HEADER + "1,2024-04-01,transfer,I1,000123456789,000987654321,\n"
                                                "2,2024-04-01,transfer,I1,000555,000555,\n")
    con = snapshot(db)
    dump = []
    for (table,) in con.sql("select table_name from duckdb_tables()").fetchall():
        dump.append(json.dumps(con.sql(f"select columns(*)::varchar from {table}").fetchall(), ensure_ascii=False))
    everything = "\n".join(dump)
    for secret in ("000123456789", "000987654321", "000555", "张三", "13800138000", "440101199001011234", "南沙区某路",
                   "李四", "13900139000", "黄阁镇"):
        assert secret not in everything
    for path in db.parent.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            assert b"000123456789" not in raw and "张三".encode() not in raw and b"13800138000" not in raw
    key = Path(os.environ["MICROBRANCH_KEY_FILE"])
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert not str(key).startswith(str(ROOT))


def test_gcj02_and_bd09_points_are_stored_as_wgs84(db, tmp_path):
    wgs = (22.80, 113.55)
    gcj = geo.wgs84_to_gcj02(*wgs)
    text = ("branch_id,name,kind,lat,lon,coord_system,opened_on\n"
            f"G1,g,micro,{gcj[0]:.8f},{gcj[1]:.8f},GCJ-02,2024-04-01\n")
    load(db, tmp_path, "b.csv", text)
    lat, lon = snapshot(db).sql("select lat, lon from branches").fetchall()[0]
    assert geo.walk_minutes(lat, lon, *wgs) * 80 / 1.3 < 0.5  # within half a metre
    assert geo.walk_minutes(*gcj, *wgs) * 80 / 1.3 > 100  # the offset it removed is hundreds of metres
    assert geo.to_wgs84(22.80, 113.55, "bd09") != geo.to_wgs84(22.80, 113.55, "gcj02")


@pytest.mark.parametrize(
    ("content", "message_part"),
    [(b"", "empty"), ("名称,数量\n甲,1\n".encode(), "required fields"),
     ("甲,乙\n1,2\n".encode(), "cannot be recognised"),
     (b"\x81\x30\xff\xfe\x00abc\xff", "neither")],
)
def test_a_file_that_fits_no_kind_is_refused_with_a_sentence(db, content, message_part):
    r = import_file(db, ("bad.csv", content))
    assert r.status == "refused" and message_part in r.message
    assert snapshot(db).sql("select status, file_name from imports").fetchall() == [("refused", "bad.csv")]


def test_cli_exit_codes_and_json(db, tmp_path):
    env = {**os.environ, "MICROBRANCH_DB": str(db)}
    good = write(tmp_path, "b.csv", BRANCHES)
    bad = write(tmp_path, "bad.csv", "foo,bar\n1,2\n")

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "microbranch", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)

    ok = cli("import", str(good))
    assert ok.returncode == 0 and "5 lines read = 5 accepted + 0 rejected + 0 duplicates skipped" in ok.stdout
    refused = cli("import", str(bad))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr and "cannot be recognised" in refused.stderr
    assert cli("query", "nope").returncode == 2
    assert cli("query", "kpis", "--param", "bogus=1").returncode == 2
    assert cli("frobnicate").returncode == 2
    out = cli("query", "kpis", "--param", "date_to=2024-04-15", "--format", "json")
    rows = json.loads(out.stdout)
    assert out.returncode == 0 and rows[0]["branches_open"] == 5 and rows[0]["micro_branches_open"] == 3


@pytest.mark.parametrize("name", ["comma_in_quotes", "escaped_quotes", "json", "newlines", "newlines_crlf",
                                  "quotes_and_newlines", "simple", "simple_crlf", "utf8"])
def test_messy_csv_cells_read_exactly(name):
    folder = ROOT / "tests" / "data" / "csv_spectrum"
    data = (folder / f"{name}.csv").read_bytes()
    expected = json.loads((folder / f"{name}.json").read_text())
    con = duckdb.connect()
    raw = read_csv_text(con, folder / f"{name}.csv", None, data)
    cells = con.sql("select * exclude (line) from raw order by line").fetchall()
    assert [dict(zip(raw.headers, row, strict=True)) for row in cells] == expected
    lines = [r[0] for r in con.sql("select line from raw order by line").fetchall()]
    assert lines[0] == 2 and raw.records == len(expected)


def test_rows_of_the_wrong_width_are_rejected_with_their_line(db, tmp_path):
    text = (EVENTS_HEADER + '1,2024-04-01,checkout,I1,R1,,C1\n2,"multi\nline",checkout\n'
            "3,2024-04-01,checkout,I3,R3,,C1\n")
    r = load(db, tmp_path, "e.csv", text)
    assert (r.lines_read, r.accepted, r.rejected) == (3, 2, 1)
    assert snapshot(db).sql("select line from rejects").fetchall() == [(3,)]
    assert snapshot(db).sql("select item_id from events order by 1").fetchall() == [("I1",), ("I3",)]


def test_a_clean_utf8_upload_is_read_by_duckdb_not_line_by_line(db, monkeypatch):
    # An upload arrives as bytes (no path): a clean file must still take DuckDB's reader; Python's csv module
    # is for files with multi-line cells or rows of the wrong width only.
    from microbranch.ingest import read

    def refuse(*_args, **_kwargs):
        raise AssertionError("the line-by-line reader was used for a clean file")

    monkeypatch.setattr(read, "_read_exact", refuse)
    r = import_file(db, ("branches.csv", BRANCHES.encode("utf-8")))
    assert (r.status, r.encoding, r.accepted, r.rejected) == ("imported", "utf-8", 5, 0)


@pytest.mark.parametrize("bad", ["NS00\x0000001", "I1\x1b[2J", "I\t1", "I1\x7f"])
def test_control_characters_in_identifiers_are_rejected_with_a_reason(db, tmp_path, bad):
    text = EVENTS_HEADER + "1,2024-04-01 09:00,checkout,I1,R1,,C1\n" + f"2,2024-04-01 10:00,checkout,{bad},R1,,C1\n"
    r = load(db, tmp_path, "e.csv", text)
    assert (r.accepted, r.rejected) == (1, 1)
    assert snapshot(db).sql("select column_name, reason from rejects").fetchall()[0][0] == "item_id"
    reason, detail, severity = snapshot(db).sql("select reason, detail, severity from rejects").fetchall()[0]
    assert "control character" in reason_text(reason, detail, severity, "en")
    assert snapshot(db).sql("select count(*) from events where regexp_matches(item_id, '[\\x00-\\x1f]')"
                            ).fetchall() == [(0,)]
