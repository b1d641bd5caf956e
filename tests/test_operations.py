"""The one front door for writes: the upload page and the command line import through `operations.import_files`,
so the same files give the same import log and the same audit rows; files go in kind order whatever order they
are given in; every write records who did it and from where; reading never writes.

The story: a database knows five branches. Two files arrive, named so that the events come first alphabetically:
`a_events.csv` (copy I9 lent at M1 and returned) and `b_items.csv` (copy I9 itself). Imported in the order given,
both events would be orphans (a copy not yet known); in kind order the copy goes in first and no event is orphaned.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from microbranch import audit, auth, operations, sample, storage
from microbranch.i18n import t
from microbranch.ingest import import_file
from sample_data.generate import generate
from tests.accounts import ROOT, signed_in
from tests.conftest import BRANCHES, snapshot

EVENTS = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id,channel
N1,2024-05-02 10:00:00,checkout,I9,r1,,M1,counter
N2,2024-05-09 10:00:00,return,I9,r1,,M1,counter
N3,2024-05-10 10:00:00,lend,I9,r1,,M1,counter
"""
ITEMS = """item_id,title,call_number,home_branch_id,owner,added_on
I9,Nine,I247/9,M1,library,2024-04-01
"""
FILES = {"a_events.csv": EVENTS.encode("utf-8"), "b_items.csv": ITEMS.encode("gb18030")}
LOG = ("file_name", "kind", "status", "lines_read", "accepted", "rejected", "duplicates", "orphans", "user_name")


def _base(folder: Path) -> Path:
    db = folder / "data" / "microbranch.duckdb"
    import_file(db, ("branches.csv", BRANCHES.encode()), user="test")
    return db


def _log(db: Path) -> pl.DataFrame:
    return snapshot(db).sql(f"select {', '.join(LOG)} from imports where user_name <> 'test' "
                            "order by import_id").pl()


def _audited(db: Path, action: str) -> list[tuple]:
    return audit.trail(db, action).select("action", "user_name", "detail").reverse().rows()


def test_the_upload_page_and_the_command_line_give_the_same_imports_and_audit_rows(tmp_path, monkeypatch):
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "page" / "secret" / "microbranch.key"))
    page_db = _base(tmp_path / "page")
    monkeypatch.setenv("MICROBRANCH_DB", str(page_db))
    staff = t("access_local_user", "zh")  # the single local user (no accounts), who is staff
    at = signed_in(page_db, None, "app_pages/upload.py")
    at.file_uploader(key="upload_files").set_value([(n, b, "text/csv") for n, b in FILES.items()]).run()
    at.button(key="upload_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    batch = at.session_state["upload_batch"]
    assert [r.file_name for r in batch.results] == ["b_items.csv", "a_events.csv"]  # kind order, not name order

    cli_folder = tmp_path / "cli"
    env = {**os.environ, "MICROBRANCH_KEY_FILE": str(cli_folder / "secret" / "microbranch.key"),
           "PYTHONPATH": str(ROOT)}
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", env["MICROBRANCH_KEY_FILE"])
    cli_db = _base(cli_folder)
    for name, content in FILES.items():
        (cli_folder / name).write_bytes(content)
    done = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(cli_db), "import", "--user", staff,
                           *(str(cli_folder / n) for n in FILES)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["b_items.csv", "a_events.csv"]

    page_log = _log(page_db)
    assert page_log.equals(_log(cli_db))
    assert page_log.select("file_name", "accepted", "rejected", "orphans").rows() == [
        ("b_items.csv", 1, 0, 0), ("a_events.csv", 2, 1, 0)]  # N3's `lend` is rejected; no event is an orphan
    assert _audited(page_db, "import") == _audited(cli_db, "import")
    assert _audited(page_db, "import") == [
        ("import", staff, "b_items.csv: import 2, items, 1 accepted, 0 rejected, 0 duplicates"),
        ("import", staff, "a_events.csv: import 3, events, 2 accepted, 1 rejected, 0 duplicates")]
    # from where: the page's viewer has no address under AppTest; the command line says it is the command line
    assert audit.trail(cli_db, "import")["address"].to_list() == ["command line"] * 2


def test_undo_asks_first_when_later_data_stands_on_it_and_audits_only_what_it_did(db, tmp_path):
    import_file(db, ("branches.csv", BRANCHES.encode()), user="test")
    by = operations.Actor("lin", "10.0.0.7")
    batch = operations.import_files(db, [operations.Upload(n, b) for n, b in FILES.items()], by)
    items = next(r for r in batch.results if r.kind == "items")
    asked = operations.undo(db, items.import_id, by)
    assert (asked.status, asked.orphans) == ("needs_confirmation", {"events": 2})
    assert _audited(db, "undo") == []  # nothing was done, nothing is recorded
    assert snapshot(db).sql("select count(*) from items").fetchall() == [(1,)]
    done = operations.undo(db, items.import_id, by, confirm=True)
    assert (done.status, done.removed) == ("undone", 1)
    assert audit.trail(db, "undo").select("user_name", "detail", "address").rows() == [
        ("lin", f"import {items.import_id} (b_items.csv): 1 rows removed", "10.0.0.7")]


def test_account_changes_and_retention_are_audited_with_who_and_where(db):
    import_file(db, ("branches.csv", BRANCHES.encode()), user="test")
    operations.import_files(db, [operations.Upload(n, b) for n, b in FILES.items()], operations.Actor("t"))
    by = operations.Actor.command_line("admin")
    operations.add_user(db, "zhao", "official", "long enough 密码", by)
    operations.set_role(db, "zhao", "manager", by)
    operations.disable_user(db, "zhao", by)
    operations.set_password(db, "zhao", "another long 密码", by)
    assert auth.users(db).select("name", "role", "disabled").rows() == [("zhao", "manager", False)]
    with pytest.raises(auth.AccountError):
        operations.set_role(db, "zhao", "emperor", by)
    r = operations.apply_retention(db, 1, by, now=datetime(2025, 5, 5))
    assert (r.events, r.before) == (1, datetime(2024, 5, 5))  # N1 only: N2 is on 05-09
    trail = audit.trail(db).filter(pl.col("user_name") == "admin")
    assert trail.select("action", "detail", "address").reverse().rows() == [
        ("user_add", "zhao (official)", "command line"),
        ("user_role", "zhao: official -> manager", "command line"),
        ("user_disable", "zhao", "command line"),
        ("user_passwd", "zhao", "command line"),
        ("retention", "kept 1 years: deleted 1 events before 2024-05-05 and 0 rejected rows", "command line")]


def test_the_sample_loads_in_the_capped_child_and_is_audited(db, monkeypatch):
    children = []
    real = sample.import_isolated

    def counted(*args, **kwargs):
        children.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(sample, "import_isolated", counted)
    started = operations.start(db, generate)
    assert started.sample is not None and len(children) == 5
    assert {r.status for r in started.sample.results} == {"imported"}
    assert audit.trail(db, "sample_load").select("user_name", "address").rows() == [("sample", "first start")]
    assert operations.start(db, generate).sample is None  # a second start loads nothing
    removed = operations.remove_sample_data(db, operations.Actor("wang", "10.0.0.8"))
    assert removed.imports == 5
    removal = audit.trail(db, "sample_remove").select("user_name", "detail").rows()
    assert removal == [("wang", "5 sample imports undone")]


def test_reading_never_writes_a_page_on_an_empty_database_loads_nothing(db, monkeypatch):
    """The ui data layer only reads: without the shell's start, a query on an empty database is refused with a
    sentence, and no snapshot, key or import appears."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MICROBRANCH_DB", str(db))
    script = """
import streamlit as st
from ui import data
try:
    data.q("data_status")
except FileNotFoundError as exc:
    st.error(str(exc))
"""
    at = AppTest.from_string(script, default_timeout=60).run()
    assert not at.exception and "还没有导入任何数据" in at.error[0].value
    assert storage.current_version(db) is None and not db.exists()
    assert not Path(os.environ["MICROBRANCH_KEY_FILE"]).exists()
