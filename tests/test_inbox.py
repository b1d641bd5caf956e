"""The inbox on real files in a temporary folder: a good events file, a file still being written (a `.part` name,
and one changed a moment ago), a foreign export a saved profile fits, a foreign one no profile fits, and a file
that cannot be read. Each ends where it should, the database changes only by the good ones, every failure is
audited and mailed to the staff (a real SMTP server)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from microbranch import audit, clock, inbox, profiles
from microbranch.ingest import import_file
from microbranch.ingest.mapping import Mapping
from tests.conftest import BRANCHES, snapshot
from tests.smtp import smtp  # noqa: F401 - fixture

EVENTS = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id,channel
N1,2024-05-02 10:00:00,checkout,I9,r1,,C1,counter
N2,2024-05-09 10:00:00,return,I9,r1,,C1,counter
"""
ILS_LOG = """读者条码,册条码,借还,处理时间,地点
A01,B001,借书,2024-05-01 09:00:00,C1
A01,B001,还书,2024-05-03 10:00:00,C1
A02,B002,X,2024-05-04 11:00:00,C1
"""
ILS = Mapping("events", {"读者条码": "reader_id", "册条码": "item_id", "借还": "action", "处理时间": "occurred_at",
                         "地点": "branch_id"}, values={"action": {"借书": "checkout", "还书": "return"}},
              name="区馆 ILS 借还日志", headers=["读者条码", "册条码", "借还", "处理时间", "地点"])
FILES = {
    "events.csv": EVENTS.encode("utf-8"),
    "ils_log.csv": ILS_LOG.encode("gb18030"),
    "notes.csv": "备注,金额\n一,2\n".encode("gb18030"),
    "broken.csv": b"event_id,occurred_at\n\x81\x30\xff\xff,1\n",  # not UTF-8, not GB18030
    "copying.csv.part": EVENTS.encode("utf-8"),
    "fresh.csv": EVENTS.replace("N1", "F1").replace("N2", "F2").encode("utf-8"),
}


def _drop(folder: Path, name: str, content: bytes, age_seconds: float) -> Path:
    path = folder / name
    path.write_bytes(content)
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def _imports(db: Path) -> list[tuple]:
    return snapshot(db).sql("select file_name, status, accepted, rejected from imports order by import_id").fetchall()


@pytest.fixture
def drops(db: Path, tmp_path: Path) -> Path:
    import_file(db, ("branches.csv", BRANCHES.encode()), user="test")
    profiles.save(db, ILS)
    root = tmp_path / "inbox"
    (root / "incoming").mkdir(parents=True)
    for name, content in FILES.items():
        _drop(root / "incoming", name, content, 0 if name == "fresh.csv" else 3600)
    return root


def test_each_file_ends_where_it_should_and_only_good_ones_change_the_database(db, drops, smtp):  # noqa: F811
    before = _imports(db)
    outcomes = {o.file_name: o for o in inbox.run_once(db, drops, settle=60)}
    assert {n: o.state for n, o in outcomes.items()} == {
        "events.csv": "done", "ils_log.csv": "done", "notes.csv": "failed", "broken.csv": "failed",
        "copying.csv.part": "waiting", "fresh.csv": "waiting"}

    day = f"{clock.now():%Y-%m-%d}"  # the dashboard's time zone
    assert sorted(p.name for p in (drops / "done" / day).iterdir()) == [
        "events.csv", "events.csv.txt", "ils_log.csv", "ils_log.csv.txt"]
    assert sorted(p.name for p in (drops / "failed" / day).iterdir()) == [
        "broken.csv", "broken.csv.txt", "notes.csv", "notes.csv.txt"]
    assert sorted(p.name for p in (drops / "incoming").iterdir()) == ["copying.csv.part", "fresh.csv"]
    assert (drops / "done" / day / "ils_log.csv").read_bytes() == FILES["ils_log.csv"]  # moved, not rewritten

    # the reasons, in Chinese then English
    notes = (drops / "failed" / day / "notes.csv.txt").read_text(encoding="utf-8")
    assert "保存为导入配置" in notes and "save the mapping as a profile" in notes and "备注, 金额" in notes
    broken = (drops / "failed" / day / "broken.csv.txt").read_text(encoding="utf-8")
    assert "文件编码无法识别" in broken and "neither UTF-8, UTF-16 nor GB18030" in broken
    done = (drops / "done" / day / "ils_log.csv.txt").read_text(encoding="utf-8")
    assert "接受 2 + 拒绝 1" in done and "2 accepted + 1 rejected" in done

    # the database: the two good files only (the profile read the foreign one); nothing for the failed ones
    assert _imports(db) == [*before, ("events.csv", "imported", 2, 0), ("ils_log.csv", "imported", 2, 1)]
    assert snapshot(db).sql("select count(*) from events").fetchall() == [(4,)]

    # audited as the inbox; the failures told to the staff
    trail = audit.trail(db)
    imports = trail.filter(trail["action"] == "import")
    assert set(imports["user_name"]) == {"inbox"} and imports.height == 2
    assert imports["address"][0] == f"inbox {drops.resolve()}"
    assert sorted(d.split(":")[0] for d in trail.filter(trail["action"] == "inbox_failed")["detail"]) == [
        "broken.csv", "notes.csv"]
    [alert] = smtp.to("staff@nansha-lib.example")
    assert "2 个文件未能导入" in alert["Subject"] and "2 file(s) not imported" in alert["Subject"]
    body = alert.get_content()
    assert "notes.csv" in body and "broken.csv" in body and "failed/" in body

    # the next pass, once the fresh file has settled and the copy has its final name
    _drop(drops / "incoming", "fresh.csv", FILES["fresh.csv"], 3600)
    (drops / "incoming" / "copying.csv.part").rename(drops / "incoming" / "copying.csv")
    os.utime(drops / "incoming" / "copying.csv", (time.time() - 3600,) * 2)
    again = {o.file_name: o.state for o in inbox.run_once(db, drops, settle=60)}
    assert again == {"fresh.csv": "done", "copying.csv": "done"}
    assert sorted(r[2:] for r in _imports(db)[-2:]) == [(0, 0), (2, 0)]  # the copy is all duplicates of events.csv
    assert len(smtp.messages) == 1  # nothing failed: no new alert


def test_the_command_line_runs_one_pass_and_says_what_became_of_each_file(db, drops, monkeypatch, capsys):
    from microbranch import cli

    monkeypatch.setenv("MICROBRANCH_INBOX_SETTLE_SECONDS", "60")
    code = cli.main(["--db", str(db), "inbox", str(drops), "--once", "--lang", "en"])
    out = capsys.readouterr().out
    assert code == 1  # a file failed
    assert "2 imported, 2 failed, 2 left for the next pass" in out
    assert "failed   notes.csv -> " in out and "Upload this file once on the Upload page" in out


def test_the_dashboard_says_how_old_the_data_is_and_warns_when_nothing_arrived(db, monkeypatch):
    """The last import (not the sample's) ten days ago: staff are warned on every page, managers on the overview,
    officials not at all; with a longer allowance it is a quiet line."""
    from microbranch import storage
    from tests.accounts import signed_in

    import_file(db, ("branches.csv", BRANCHES.encode()), user="test")
    import_file(db, ("events.csv", EVENTS.encode()), user="inbox")
    with storage.writer(db) as con:  # as if they had come ten days ago
        con.sql("update imports set imported_at = imported_at - interval 10 days")
    monkeypatch.setenv("MICROBRANCH_DB", str(db))

    def warned(role: str, page: str) -> bool:
        at = signed_in(db, role, f"app_pages/{page}.py")
        return any("已有 10 天没有新的导入" in w.value and "2024-05-09" in w.value for w in at.warning)

    assert warned("staff", "loans") and warned("staff", "overview")
    assert warned("manager", "overview") and not warned("manager", "loans")
    assert not warned("official", "overview")
    monkeypatch.setenv("MICROBRANCH_STALE_DAYS", "30")
    at = signed_in(db, "staff", "app_pages/loans.py")
    assert not any("没有新的导入" in w.value for w in at.warning)
    assert any(c.value.startswith("最近一次导入：") and "（10 天前）" in c.value for c in at.caption)


def test_data_freshness_counts_the_imports_that_brought_data_not_the_samples(db):
    from microbranch import queries

    import_file(db, ("branches.csv", BRANCHES.encode()), user="sample")
    row = queries.run(snapshot(db), "data_freshness").row(0, named=True)
    assert (row["last_import_at"], row["as_of"]) == (None, None)
    import_file(db, ("events.csv", EVENTS.encode()), user="inbox")
    import_file(db, ("notes.csv", b"x,y\n1,2\n"), user="inbox")  # refused: brought nothing
    con = snapshot(db)
    row = queries.run(con, "data_freshness").row(0, named=True)
    # in the default zone
    arrived = con.sql("select timezone('Asia/Shanghai', imported_at) from imports where file_name = 'events.csv'")
    assert (row["last_import_at"], str(row["as_of"])) == (arrived.fetchall()[0][0], "2024-05-09")
