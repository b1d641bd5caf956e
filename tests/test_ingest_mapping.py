"""Files from any library system: detection that never guesses, column mapping, value mapping, date order, profiles,
rejects in the librarian's words, old-Mac line ends, and a re-import that publishes nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest

from microbranch import profiles, storage
from microbranch.contract import detect
from microbranch.ingest import import_file, preview
from microbranch.ingest.mapping import Mapping
from tests.conftest import BRANCHES, load, snapshot, write

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "imports"

# A university library's borrowing log: reader card, loan date, "title / author", call number. No copy barcode.
UNIVERSITY = (DATA / "university_log.csv").read_bytes()
# The same log once the library exported the copy's barcode too.
UNIVERSITY_BARCODE = """证号,借阅日期,题名/责任者,索书号,册条码
2021001,2024/03/01,数据结构 / 严蔚敏,TP311.12/5,C0001
2021002,2024/03/02,红楼梦 / 曹雪芹,I242.4/12,C0002
2021003,2024/03/02,红楼梦 / 曹雪芹,I242.4/12,C0003
"""
UNIVERSITY_MAPPING = Mapping(
    "events",
    {"证号": "reader_id", "借阅日期": "occurred_at", "题名/责任者": "", "索书号": "", "册条码": "item_id"},
    constants={"action": "checkout", "branch_id": "NS-W01"},
)


def tables(db: Path) -> dict[str, list]:
    con = snapshot(db)
    out = {t: con.sql(f"select * from {t} order by all").fetchall()
           for t in ("branches", "items", "readers", "communities", "events", "chains", "chain_transfers")}
    con.close()
    return out


def test_the_university_log_is_not_imported_as_readers(db):
    d = detect(["证号", "借阅日期", "题名/责任者", "索书号"])
    assert (d.kind, d.importable, d.matched) == ("readers", False, ["证号"])
    assert d.unmatched == ["借阅日期", "题名/责任者", "索书号"]
    p = preview(UNIVERSITY, "university_log.csv", lang="zh")
    assert not p.importable and "大多数列无法识别" in p.reason and "读者" in p.reason
    r = import_file(db, ("university_log.csv", UNIVERSITY), lang="zh")
    assert r.status == "refused" and "大多数列无法识别" in r.message and "most columns" not in r.message
    assert snapshot(db).sql("select count(*) from readers").fetchall() == [(0,)]


def test_the_university_log_mapped_by_call_number_is_refused_saying_the_barcode_is_needed(db):
    mapping = Mapping("events", {"证号": "reader_id", "借阅日期": "occurred_at", "索书号": "item_id"},
                      constants={"action": "checkout", "branch_id": "NS-W01"})
    p = preview(UNIVERSITY, "university_log.csv", mapping, lang="en")
    assert not p.importable and "barcode" in p.reason and "call numbers" in p.reason
    r = import_file(db, ("university_log.csv", UNIVERSITY), mapping=mapping, lang="zh")
    assert r.status == "refused" and "条码号" in r.message
    without = Mapping("events", {"证号": "reader_id", "借阅日期": "occurred_at"},
                      constants={"action": "checkout", "branch_id": "NS-W01"})
    # item_id has neither a column nor a constant
    assert "条码号" in preview(UNIVERSITY, "u.csv", without, lang="zh").reason


def test_the_university_log_with_barcodes_maps_to_events_with_constants(db):
    data = UNIVERSITY_BARCODE.encode("gb18030")
    p = preview(data, "u.csv", UNIVERSITY_MAPPING, lang="zh", db=db)
    assert p.importable and p.rows is not None and p.problems is not None and p.problems.is_empty()
    assert p.rows.select("occurred_at", "action", "item_id", "branch_id").rows() == [
        (datetime(2024, 3, 1), "checkout", "C0001", "NS-W01"), (datetime(2024, 3, 2), "checkout", "C0002", "NS-W01"),
        (datetime(2024, 3, 2), "checkout", "C0003", "NS-W01")]
    assert all(r.startswith("R") and "2021" not in r for r in p.rows["reader"])  # shown as stored: pseudonyms
    r = import_file(db, ("u.csv", data), mapping=UNIVERSITY_MAPPING)
    assert (r.status, r.kind, r.accepted, r.rejected, r.orphans) == ("imported", "events", 3, 0, 3)
    assert r.columns_ignored == ["题名/责任者", "索书号"]
    stored = snapshot(db).sql("select action, branch_id, count(*) from events group by all").fetchall()
    assert stored == [("checkout", "NS-W01", 3)]
    assert snapshot(db).sql("select count(*) from readers").fetchall() == [(0,)]


ILS_LOG = """读者条码,册条码,借还,处理时间,地点
A01,B001,借书,2024-05-01 09:00:00,C1
A01,B001,还书,2024-05-03 10:00:00,C1
A02,B002,J,2024-05-02 11:00:00,C1
A02,B002,X,2024-05-04 11:00:00,C1
A03,B003,续借,2024-05-04 12:00:00,C1
"""
ILS_MAPPING = Mapping(
    "events",
    {"读者条码": "reader_id", "册条码": "item_id", "借还": "action", "处理时间": "occurred_at", "地点": "branch_id"},
    values={"action": {"借书": "checkout", "还书": "return", "续借": "renew", "转借": "transfer", "J": "checkout",
                       "H": "return"}},
)


def test_action_values_are_mapped_and_an_unmapped_one_is_rejected_by_the_files_own_column(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    r = import_file(db, ("ils.csv", ILS_LOG.encode()), mapping=ILS_MAPPING)
    assert (r.accepted, r.rejected) == (4, 1)
    got = snapshot(db).sql("select action, count(*) from events group by 1 order by 1").fetchall()
    assert got == [("checkout", 2), ("renew", 1), ("return", 1)]
    rej = snapshot(db).sql("select line, file_column, column_name, value from rejects").fetchall()
    assert rej == [(5, "借还", "action", "X")]


def test_rejects_in_chinese_and_english_name_the_files_column_whole(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    import_file(db, ("ils.csv", ILS_LOG.encode()), mapping=ILS_MAPPING)
    env = {**os.environ, "MICROBRANCH_DB": str(db)}

    def rejects(lang: str) -> str:
        out = subprocess.run([sys.executable, "-m", "microbranch", "rejects", "--lang", lang], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60, check=True)
        return out.stdout

    zh, en = rejects("zh"), rejects("en")
    assert "借还" in zh and "取值不在允许范围内：checkout/借出, return/归还, renew/续借, transfer/转借" in zh
    assert "value not allowed" not in zh
    assert "借还" in en
    assert "value not allowed, expected one of: checkout/借出, return/归还, renew/续借, transfer/转借" in en
    assert "取值" not in en


def test_a_bad_optional_cell_is_a_warning_on_a_kept_row_with_the_cell_empty(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    text = "操作时间,操作类型,条码号,读者证号,操作馆,应还日期\n2024-11-01 10:00:00,借出,I1,R1,C1,2024-11-31\n"
    r = load(db, tmp_path, "e.csv", text)
    assert (r.accepted, r.rejected, r.warnings) == (1, 0, 1)
    assert snapshot(db).sql("select item_id, due_at from events").fetchall() == [("I1", None)]
    got = snapshot(db).sql("select file_column, value, reason, severity from rejects").fetchall()
    assert got == [("应还日期", "2024-11-31", "no_such_day", "warning")]  # November has 30 days


def test_an_ambiguous_date_format_is_chosen_by_the_user(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    text = "操作时间,操作类型,条码号,读者证号,操作馆\n01/02/2024,借出,I1,R1,C1\n13/02/2024 10:30,借出,I2,R1,C1\n"
    p = preview(text.encode(), "e.csv", lang="en")
    assert not p.importable and "day/month/year" in p.reason and "操作时间" in p.reason
    assert import_file(db, ("e.csv", text.encode())).status == "refused"
    header = detect(text.splitlines()[0].split(",")).header
    assert header is not None
    from microbranch.ingest.mapping import from_header

    mapping = from_header(header)
    mapping.date_order = "dmy"
    r = import_file(db, ("e.csv", text.encode()), mapping=mapping)
    assert (r.accepted, r.rejected) == (2, 0)
    got = snapshot(db).sql("select occurred_at from events order by 1").fetchall()
    assert got == [(datetime(2024, 2, 1),), (datetime(2024, 2, 13, 10, 30),)]
    mapping.date_order = "mdy"  # 13/02 cannot be month/day: that row is rejected, not guessed
    r = import_file(db, ("e2.csv", text.replace("I1", "I9").encode()), mapping=mapping)
    assert (r.accepted, r.rejected) == (1, 1)
    assert snapshot(db).sql("select occurred_at::date from events where item_id = 'I9'").fetchall() == [
        (date(2024, 1, 2),)]


def test_a_saved_profile_is_offered_by_header_signature_and_used_from_the_cli(db, tmp_path):
    load(db, tmp_path, "b.csv", BRANCHES)
    mapping = Mapping(**{**ILS_MAPPING.__dict__, "name": "图创流通日志",
                         "headers": ILS_LOG.splitlines()[0].split(",")})
    profiles.save(db, mapping)
    offered = profiles.for_headers(db, ["读者条码", "册条码", "借还", "处理时间", "地点"])
    assert [m.name for m in offered] == ["图创流通日志"]
    assert profiles.for_headers(db, ["读者条码", "册条码"]) == []
    exported = tmp_path / "profile.json"
    exported.write_text(mapping.to_json(), encoding="utf-8")
    env = {**os.environ, "MICROBRANCH_DB": str(db)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "microbranch", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)

    f = write(tmp_path, "log.csv", ILS_LOG, "gb18030")
    assert cli("import", str(f)).returncode == 1  # recognised as nothing sure: refused without the profile
    ok = cli("import", "--profile", "图创流通日志", str(f))
    assert ok.returncode == 0 and "5 lines read = 4 accepted + 1 rejected" in ok.stdout, ok.stderr
    # Exported and imported by a colleague with another database: the same mapping.
    other = tmp_path / "other" / "microbranch.duckdb"
    out = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(other), "profile", "import",
                          str(exported)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and profiles.find(other, "图创流通日志").to_json() == mapping.to_json()


@pytest.mark.parametrize("path", sorted((ROOT / "microbranch" / "profiles").glob("*.json")), ids=lambda p: p.stem)
def test_every_shipped_profile_imports_its_test_file(db, tmp_path, path):
    mapping = Mapping.from_json(path.read_text(encoding="utf-8"))
    assert mapping.built_from, "a shipped profile says what it was built from"
    sample = DATA / "profiles" / (path.stem + ".csv")
    load(db, tmp_path, "b.csv", BRANCHES)
    if path.stem != "nansha_branches":
        import_file(db, DATA / "profiles" / "nansha_branches.csv")  # the branches the sample's copies belong to
    data = sample.read_bytes()
    assert [m.name for m in profiles.for_headers(None, preview(data, sample.name).headers)] == [mapping.name]
    r = import_file(db, (sample.name, data), mapping=mapping)
    assert r.status == "imported" and r.accepted > 0 and r.rejected == 0, (r.message, r.rejected)


def test_old_mac_line_ends_are_read(db, tmp_path):
    text = ("branch_id,name,kind,lat,lon,opened_on\rX1,甲,micro,22.8,113.5,2024-04-01\r"
            "X2,乙,micro,22.9,113.5,2024-04-01\r")
    for encoding in ("utf-8", "gb18030", "utf-16"):
        r = import_file(db, (f"mac_{encoding}.csv", text.encode(encoding)))
        assert (r.status, r.lines_read) == ("imported", 2), r.message
    got = snapshot(db).sql("select branch_id, name from branches order by 1").fetchall()
    assert got == [("X1", "甲"), ("X2", "乙")]


def test_a_reimport_that_changes_nothing_publishes_no_new_version(db, tmp_path):
    first = load(db, tmp_path, "b.csv", BRANCHES)
    version = storage.current_version(db)
    again = load(db, tmp_path, "b.csv", BRANCHES)
    assert first.published and not again.published and (again.accepted, again.duplicates) == (0, 5)
    assert storage.current_version(db) == version
    assert snapshot(db).sql("select count(*) from branches").fetchall() == [(5,)]


def test_a_date_whose_day_does_not_exist_is_said_so(db, tmp_path):
    """Day/month/year chosen: 31/11/2024 has the right form but November has 30 days; 29/02/2023 is not a leap
    year; 13/13/2024 has no 13th month, so it is simply not a date; 29/02/2024 is fine."""
    load(db, tmp_path, "b.csv", BRANCHES)
    text = ("操作时间,操作类型,条码号,读者证号,操作馆\n31/11/2024,借出,I1,R1,C1\n29/02/2023 10:00,借出,I2,R1,C1\n"
            "13/13/2024,借出,I3,R1,C1\n29/02/2024,借出,I4,R1,C1\n2023-04-31,借出,I5,R1,C1\n")
    header = detect(text.splitlines()[0].split(",")).header
    assert header is not None
    from microbranch.ingest import reason_text
    from microbranch.ingest.mapping import from_header

    mapping = from_header(header)
    mapping.date_order = "dmy"
    r = import_file(db, ("e.csv", text.encode()), mapping=mapping)
    assert (r.accepted, r.rejected) == (1, 4)
    con = snapshot(db)
    got = con.sql("select line, value, reason, detail, severity from rejects order by line").fetchall()
    con.close()
    assert [(line, value, reason) for line, value, reason, *_ in got] == [
        (2, "31/11/2024", "no_such_day"), (3, "29/02/2023 10:00", "no_such_day"), (4, "13/13/2024", "date"),
        (6, "2023-04-31", "no_such_day")]
    assert "the day does not exist" in reason_text("no_such_day", "", "reject", "en")
    assert "这一天不存在" in reason_text("no_such_day", "", "reject", "zh")


def test_a_profile_is_suggested_for_like_headers_with_the_columns_it_needs():
    """Koha's statistics exported without the join to barcodes and card numbers: datetime, branch, type,
    itemnumber, borrowernumber. Five of the shipped Koha profile's nine headers, none other: alike 5/9 = 0.56, so
    it is suggested (not chosen), saying the file lacks barcode and cardnumber, the columns it maps to the copy and
    the reader. A file sharing two headers of nine is not."""
    got = profiles.similar(None, ["datetime", "branch", "type", "itemnumber", "borrowernumber"])
    koha = [s for s in got if s.mapping.name.startswith("Koha")]
    assert len(koha) == 1 and koha[0].similarity == pytest.approx(5 / 9)
    assert koha[0].missing == ["barcode", "cardnumber"]
    assert profiles.for_headers(None, ["datetime", "branch", "type", "itemnumber", "borrowernumber"]) == []
    assert not [s for s in profiles.similar(None, ["datetime", "branch", "x1", "x2"]) if s.mapping.name.startswith(
        "Koha")]
