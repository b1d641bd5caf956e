"""Sample data and real data do not mix unnoticed: the "as of" line says when both are present, a database without
events says so on every page, a sample load stopped halfway is loaded again, and the sample can be removed."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from microbranch import sample, storage
from microbranch.ingest import import_file
from sample_data.generate import generate
from tests.conftest import BRANCHES, snapshot

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = str(ROOT / "dashboard.py")
PAGES = ["overview", "loans", "chains", "stock", "readers", "branch_map", "residents", "scorecards", "upload"]
ROLE = {"readers": "manager", "scorecards": "manager", "upload": "staff"}


def page(name: str, role: str = "manager") -> AppTest:
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    at.query_params.update({"role": role})
    at.switch_page(f"app_pages/{name}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("name", PAGES)
def test_a_database_without_events_says_so_on_every_page(db, monkeypatch, name):
    monkeypatch.setenv("MICROBRANCH_DB", str(db))
    import_file(db, ("branches.csv", BRANCHES.encode()), user="upload")
    at = page(name, ROLE.get(name, "manager"))
    assert any("还没有流通数据" in i.value for i in at.info), [i.value for i in at.info]


def test_the_as_of_line_says_when_sample_and_uploaded_data_are_both_present(db, monkeypatch):
    monkeypatch.setenv("MICROBRANCH_DB", str(db))
    sample.load(db, generate)
    assert "南沙示例数据（合成）" in page("overview").caption[0].value
    import_file(db, ("mine.csv", b"branch_id,name,kind,lat,lon,opened_on\nX1,Mine,micro,22.8,113.5,2024-04-01\n"),
                user="upload")
    captions = [c.value for c in page("overview").caption]
    assert any("南沙示例数据与已上传数据并存" in c for c in captions), captions  # staff: freshness above


def test_a_sample_load_stopped_halfway_is_loaded_again_whole(db, monkeypatch):
    """Stopped after the branches (as a server stopped during its first start): the next start repairs it."""
    real = sample.import_isolated
    calls = []

    def stop_after_two(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(sample, "import_isolated", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        sample.load(db, generate)
    monkeypatch.setattr(sample, "import_isolated", real)
    assert sample.incomplete(db)
    assert snapshot(db).sql("select count(*) from events").fetchall() == [(0,)]
    assert sample.ensure(db, generate)
    assert not sample.incomplete(db)
    con = snapshot(db)
    kinds = con.sql("select kind, count(*) from imports where user_name = 'sample' and undone_at is null "
                    "group by 1 order by 1").fetchall()
    assert kinds == [("branches", 1), ("communities", 1), ("events", 1), ("items", 1), ("readers", 1)]
    assert con.sql("select count(*) > 100000 from events").fetchall() == [(True,)]
    assert storage.current_version(db) is not None
