"""Undo an import: the data afterwards is, table by table, the data of a database that never had it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from microbranch import audit, queries, sample, storage
from microbranch.contract import ContractError
from microbranch.ingest import import_file
from microbranch.ingest.undo import undo_import
from sample_data.generate import generate
from tests.conftest import BRANCHES, snapshot

ROOT = Path(__file__).resolve().parent.parent
DATA_TABLES = ("branches", "items", "readers", "communities", "events", "chains", "chain_transfers")
ITEMS = """item_id,title,call_number,home_branch_id
I1,One,TU71/12,C1
I2,Two,I247/3,M1
I3,Three,K29/1,B1
"""
ITEMS_CHANGED = """item_id,title,call_number,home_branch_id
I1,One (second edition),TU71/12,M1
I4,Four,O13/2,C1
"""
EVENTS_A = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id
1,2024-04-01 09:00,checkout,I1,R1,,M1
2,2024-04-03 09:00,transfer,I1,R2,R1,
3,2024-04-02 10:00,checkout,I2,R3,,C1
"""
EVENTS_B = """event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id
4,2024-04-06 09:00,transfer,I1,R4,R2,
5,2024-04-08 09:00,return,I1,R4,,C1
6,2024-04-09 09:00,return,I2,R3,,M1
7,2024-04-10 09:00,checkout,I3,R5,,B1
"""
FILES = {"branches.csv": BRANCHES, "items.csv": ITEMS, "events_a.csv": EVENTS_A, "items_changed.csv": ITEMS_CHANGED,
         "events_b.csv": EVENTS_B}


LOGS = ("imports", "rejects", "entity_changes", "meta")  # what happened, kept: the import stays with its undo
KEY_MAPS = {"branch_no": ("branch_keys", "branch_no", "branch_id"), "item_no": ("item_keys", "item_no", "item_id"),
            "reader_no": ("reader_keys", "reader_no", "reader"),
            "from_reader_no": ("reader_keys", "reader_no", "reader"),
            "holder_no": ("reader_keys", "reader_no", "reader")}
# integer keys, given in order of arrival


def tables(db: Path) -> dict[str, list]:
    """Every table of the data (facts and everything derived), integer keys read as the identifiers they stand for,
    events without the import that brought them."""
    con = snapshot(db)
    try:
        names = [r[0] for r in con.sql("select table_name from duckdb_tables() order by 1").fetchall()]
        maps = {m[0] for m in KEY_MAPS.values()}
        out = {}
        for t in names:
            if t in LOGS or t in maps:
                continue
            columns = [r[0] for r in con.sql(f"describe {t}").fetchall()]
            select, joins = [], []
            for i, c in enumerate(columns):
                if c in KEY_MAPS:
                    table, number, ident = KEY_MAPS[c]
                    joins.append(f"left join {table} as k{i} on k{i}.{number} = t.{c}")
                    select.append(f"k{i}.{ident}")
                elif not (t in ("event_rows", "import_branches") and c == "import_id"):
                    select.append(f"t.{c}")
            out[t] = con.sql(f"select {', '.join(select)} from {t} as t {' '.join(joins)} order by all").fetchall()
        assert {"event_rows", "chains", "branches", "items"} <= set(out)
        return out
    finally:
        con.close()


def build(db: Path, skip: str | None = None) -> dict[str, int]:
    ids = {}
    for name, text in FILES.items():
        if name != skip:
            r = import_file(db, (name, text.encode()))
            assert r.status == "imported", r.message
            ids[name] = r.import_id
    return ids


@pytest.mark.parametrize("undone", ["events_b.csv", "events_a.csv", "items_changed.csv"])
def test_undo_gives_every_table_of_a_database_that_never_had_the_import(db, tmp_path, monkeypatch, undone):
    ids = build(db)
    version = storage.current_version(db)
    result = undo_import(db, ids[undone], user="lin")
    assert result.status == "undone" and result.removed > 0
    assert storage.current_version(db) != version  # published as one new version
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))  # the same key
    never = tmp_path / "never" / "microbranch.duckdb"
    build(never, skip=undone)
    assert tables(db) == tables(never)
    log = snapshot(db).sql("select status, undone_by, undone_at is not null from imports where import_id = $id",
                           params={"id": ids[undone]}).fetchall()
    assert log == [("imported", "lin", True)]
    with pytest.raises(ContractError, match="undone already"):
        undo_import(db, ids[undone])


def test_undoing_the_first_version_of_changed_rows_keeps_the_later_version(db, tmp_path, monkeypatch):
    ids = build(db)
    undo_import(db, ids["items.csv"], confirm=True)  # I1 was changed again later: the later row stays
    titles = snapshot(db).sql("select item_id, title, home_branch_id from items order by 1").fetchall()
    assert titles == [("I1", "One (second edition)", "M1"), ("I4", "Four", "C1")]
    undo_import(db, ids["items_changed.csv"], confirm=True)  # and now I1 goes too: nothing is left of either file
    assert snapshot(db).sql("select count(*) from items").fetchall() == [(0,)]


def test_undo_asks_before_leaving_orphans(db):
    ids = build(db)
    before = storage.current_version(db)
    asked = undo_import(db, ids["branches.csv"])
    assert asked.status == "needs_confirmation" and asked.orphans == {"events": 5, "items": 4}
    assert storage.current_version(db) == before  # nothing changed, nothing published
    assert undo_import(db, ids["branches.csv"], confirm=True).status == "undone"
    assert snapshot(db).sql("select count(*) from branches").fetchall() == [(0,)]
    orphans = queries.run(snapshot(db), "orphans_by_import").select("import_id", "orphans").sort("import_id").rows()
    assert [n for _, n in orphans] == [2, 3]  # the events of A and B that name a branch now wait for it


def test_cli_undo_and_its_question(db):
    ids = build(db)
    env = {**os.environ, "MICROBRANCH_DB": str(db)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "microbranch", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)

    asked = cli("undo", str(ids["items.csv"]))
    assert asked.returncode == 1 and "Undo anyway" in asked.stderr and "Traceback" not in asked.stderr
    done = cli("undo", str(ids["events_b.csv"]), "--user", "lin")
    assert done.returncode == 0 and "undone: 4 rows removed" in done.stdout
    assert cli("undo", "999").returncode == 1
    undone = audit.trail(db, "undo").select("user_name", "detail").rows()
    assert undone == [("lin", f"import {ids['events_b.csv']} (events_b.csv): 4 rows removed")]  # asked: no row


def test_a_cli_import_is_audited(db, tmp_path):
    events = tmp_path / "events.csv"
    events.write_text(EVENTS_A, encoding="utf-8")
    env = {**os.environ, "MICROBRANCH_DB": str(db)}
    run = subprocess.run([sys.executable, "-m", "microbranch", "import", str(events), "--user", "wu"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    rows = audit.trail(db, "import").select("user_name", "detail").rows()
    assert len(rows) == 1 and rows[0][0] == "wu" and rows[0][1].startswith("events.csv: import ")


def test_undo_while_a_reader_process_reads(db, tmp_path):
    """A second process counts events in a loop while the undo runs: it sees the count before or after, never
    another, and never fails."""
    ids = build(db)
    before = snapshot(db).sql("select count(*) from events").fetchall()[0][0]
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from microbranch import storage
        seen = set()
        stop = Path({str(tmp_path / "stop")!r})
        print("READY", flush=True)
        while not stop.exists():
            con = storage.reader(Path({str(db)!r}))
            seen.add(con.sql("select count(*) from events").fetchall()[0][0])
            con.close()
        print(sorted(seen), flush=True)
    """)
    reader = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert reader.stdout is not None and reader.stdout.readline().strip() == "READY"
    undo_import(db, ids["events_b.csv"])
    after = snapshot(db).sql("select count(*) from events").fetchall()[0][0]
    (tmp_path / "stop").touch()
    out, _ = reader.communicate(timeout=60)
    assert reader.returncode == 0
    assert set(eval(out.strip())) <= {before, after} and after == before - 4


def test_sample_remove_keeps_uploaded_data(db, tmp_path):
    sample.load(db, generate)
    mine_csv = b"branch_id,name,kind,lat,lon,opened_on\nX1,Mine,micro,22.8,113.5,2024-04-01\n"
    mine = import_file(db, ("mine.csv", mine_csv), user="upload")
    assert mine.accepted == 1
    assert snapshot(db).sql("select value from meta where key = 'data_set'").fetchall() == [("mixed",)]
    assert sample.remove(db) == 5
    con = snapshot(db)
    assert con.sql("select branch_id from branches").fetchall() == [("X1",)]
    assert [con.sql(f"select count(*) from {t}").fetchall()[0][0] for t in DATA_TABLES[1:]] == [0] * 6
    assert con.sql("select value from meta where key = 'data_set'").fetchall() == [("uploaded",)]
