"""The district report's pieces are made once per data version (report.Pieces): the same data gives the same pieces
without running the queries or the solves again, in the process and from the folder beside the database in a new
process; an import (a new data version) gives a new report with the new numbers; the next-site plan is solved again
only when the communities' walks change."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from microbranch import operations, queries, report, sites, storage
from tests.conftest import load
from tests.test_places import build

ROOT = Path(__file__).resolve().parent.parent
MARCH = report.Period.month("2024-03")
# One more checkout at C0 in March 2024: 4 loans instead of 3.
MORE_EVENTS = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id
6,2024-03-20 10:00,checkout,I3,R5,,C0
"""
# M1 moved: the walks change, so does the plan.
MOVED = """branch_id,name,kind,host_type,town_code,lat,lon,coord_system,opened_on,closed_on,public_access
M1,Micro community,micro,community,440115001,22.7450,113.50,wgs84,2024-01-01,,yes
"""


@pytest.fixture
def places(db: Path, tmp_path: Path) -> Path:
    build(db, tmp_path)
    return db


def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often the named queries run and the next sites are solved."""
    calls = {"queries": 0, "plans": 0}
    run, plan = queries.run, sites.plan

    def counting_run(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["queries"] += 1
        return run(*args, **kwargs)

    def counting_plan(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["plans"] += 1
        return plan(*args, **kwargs)

    monkeypatch.setattr(queries, "run", counting_run)
    monkeypatch.setattr(sites, "plan", counting_plan)
    return calls


def loans_cell(html: str) -> str:
    return html.split('data-key="loans" data-when="now">', 1)[1].split("<", 1)[0]


def test_the_same_data_gives_the_same_pieces_and_an_import_a_new_report(places, tmp_path, monkeypatch):
    calls = counted(monkeypatch)
    pieces = report.Pieces()
    con = storage.reader(places)
    first = report.write(con, MARCH, tmp_path / "a.html", pieces=pieces).read_text(encoding="utf-8")
    made = dict(calls)
    assert made["queries"] > 0 and made["plans"] == 1
    again = report.write(con, MARCH, tmp_path / "b.html", pieces=pieces).read_text(encoding="utf-8")
    assert again == first and calls == made  # nothing run again
    report.write(con, MARCH, tmp_path / "c.html", "en", pieces=pieces)
    assert calls["queries"] > made["queries"] and calls["plans"] == 1  # another language, the same plan
    con.close()
    assert loans_cell(first).strip() == "3"

    assert load(places, tmp_path, "events2.csv", MORE_EVENTS).rejected == 0
    con = storage.reader(places)
    before = dict(calls)
    newer = report.write(con, MARCH, tmp_path / "d.html", pieces=pieces).read_text(encoding="utf-8")
    assert calls["queries"] > before["queries"] and calls["plans"] == 1  # new numbers; branches unchanged
    assert loans_cell(newer).strip() == "4" and newer != first
    con.close()

    assert load(places, tmp_path, "branches2.csv", MOVED).rejected == 0
    con = storage.reader(places)
    report.write(con, MARCH, tmp_path / "e.html", pieces=pieces)
    assert calls["plans"] == 2  # the walks changed: solved again
    con.close()


def test_the_command_line_keeps_the_pieces_beside_the_database(places, tmp_path):
    env = {**os.environ, "MICROBRANCH_KEY_FILE": os.environ["MICROBRANCH_KEY_FILE"], "PYTHONPATH": str(ROOT)}
    cache = storage.locations(places).cache / "report"

    def cli(name: str) -> str:
        out = tmp_path / name
        done = subprocess.run([sys.executable, "-m", "microbranch", "--db", str(places), "report", "--month",
                               "2024-03", "--format", "html", "--out", str(out), "--time-limit", "5"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return out.read_text(encoding="utf-8")

    first = cli("a.html")
    kept = sorted(p.name for p in cache.glob("*.pickle"))
    assert [n.split("-")[0] for n in kept] == ["html", "plan", "report"]
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    (cache / next(n for n in kept if n.startswith("html"))).write_bytes(
        __import__("pickle").dumps(first.replace("南沙", "KEPT")))  # the next run reads the kept piece
    assert "KEPT" in cli("b.html")
    assert load(places, tmp_path, "events2.csv", MORE_EVENTS).rejected == 0
    newer = cli("c.html")  # a new data version: made again, with the new numbers
    assert "KEPT" not in newer and loans_cell(newer).strip() == "4"


def test_an_import_makes_the_latest_months_report_in_the_background(places, tmp_path, monkeypatch):
    monkeypatch.setenv("MICROBRANCH_REPORT_AFTER_IMPORT", "yes")
    cache = storage.locations(places).cache / "report"
    upload = operations.Upload("events2.csv", MORE_EVENTS.encode())
    batch = operations.import_files(places, [upload], operations.Actor("test"))
    assert batch.results[0].accepted == 1
    assert len(operations.BACKGROUND) == 1  # the import answered; its report is made beside it
    assert operations.BACKGROUND.pop().wait(timeout=300) == 0
    assert len(list(cache.glob("html-*.pickle"))) == 2  # Chinese and English
    con = storage.reader(places)
    month = report.latest_month(con)

    def not_again(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the report was made again instead of taken from the kept pieces")

    monkeypatch.setattr(report, "collect", not_again)
    for lang in ("zh", "en"):
        html = report.write(con, report.Period.month(month), tmp_path / f"{lang}.html", lang,
                            pieces=report.Pieces(cache)).read_text(encoding="utf-8")
        assert loans_cell(html).strip() == "4" if month == "2024-03" else html.startswith("<!doctype html>")
    con.close()


def test_the_latest_whole_month(places, tmp_path):
    con = storage.reader(places)
    as_of = queries.run(con, "data_status")["as_of"][0]
    month = report.latest_month(con)
    con.close()
    assert month is not None and month <= f"{as_of:%Y-%m}"
