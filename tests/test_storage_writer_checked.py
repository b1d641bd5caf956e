"""The writer checked against what was published: a writer file that is deleted (with its log), whose log is cut
short, or an older copy put back is never published over newer data; it is rebuilt from the newest snapshot (the
old files kept in `<db>.set-aside/`), and the next import adds to everything that was published."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from microbranch import storage
from microbranch.ingest import import_file
from tests.conftest import BRANCHES, write
from tests.test_storage_concurrency import EVENTS_1, EVENTS_2

READERS = "reader_id,registered_on,home_branch_id,birth_year,reader_type\n" + "".join(
    f"R{i},2024-01-01,C1,1990,student\n" for i in range(1, 301))
EVENTS_3 = "event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id\n" + (
    "20,2024-04-20 09:00,checkout,I9,R9,,C1\n")


def _count(db: Path, table: str) -> int:
    con = storage.reader(db)
    try:
        return con.sql(f"select count(*) from {table}").fetchall()[0][0]
    finally:
        con.close()


@pytest.fixture
def published(db: Path, tmp_path: Path) -> Path:
    """Branches, five events, then 300 readers, each import published."""
    import_file(db, write(tmp_path, "branches.csv", BRANCHES))
    assert import_file(db, write(tmp_path, "events1.csv", EVENTS_1)).accepted == 5
    assert import_file(db, write(tmp_path, "readers.csv", READERS)).accepted == 300
    assert (_count(db, "events"), _count(db, "readers")) == (5, 300)
    return db


def test_a_generation_is_counted_in_meta_and_recorded_in_each_snapshot(published):
    db = published
    con = storage.reader(db)
    try:
        in_meta = int(con.sql("select value from meta where key = 'generation'").fetchall()[0][0])
    finally:
        con.close()
    assert in_meta == 3  # one per publishing import
    assert storage.publishing.generation_of(db, storage.current_version(db)) == in_meta


def test_a_deleted_writer_and_log_are_rebuilt_from_the_snapshot_and_the_next_import_adds_to_it(published, tmp_path):
    db = published
    where = storage.locations(db)
    db.unlink()
    where.wal.unlink(missing_ok=True)
    r = import_file(db, write(tmp_path, "events2.csv", EVENTS_2))
    assert r.accepted == 4
    assert (_count(db, "events"), _count(db, "readers"), _count(db, "branches")) == (9, 300, 5)


def test_a_deleted_writer_is_not_published_empty_by_recover(published):
    db = published
    db.unlink()
    storage.locations(db).wal.unlink(missing_ok=True)
    storage.recover(db)
    assert (_count(db, "events"), _count(db, "readers")) == (5, 300)
    assert db.exists()  # rebuilt from the snapshot


def test_a_writer_log_cut_short_loses_no_published_import(published, tmp_path):
    db = published
    wal = storage.locations(db).wal
    assert wal.stat().st_size > 0  # the last imports are in the log (not folded)
    with open(wal, "r+b") as f:
        f.truncate(wal.stat().st_size // 3)
    storage.recover(db)
    assert (_count(db, "events"), _count(db, "readers")) == (5, 300)
    assert import_file(db, write(tmp_path, "events3.csv", EVENTS_3)).accepted == 1
    assert (_count(db, "events"), _count(db, "readers")) == (6, 300)
    assert list(storage.locations(db).set_aside.rglob("*.wal"))  # the damaged log was kept, not deleted


def test_an_older_copy_of_the_writer_put_back_is_not_published_over_newer_data(db, tmp_path):
    import_file(db, write(tmp_path, "branches.csv", BRANCHES))
    import_file(db, write(tmp_path, "events1.csv", EVENTS_1))
    old = tmp_path / "old"
    old.mkdir()
    where = storage.locations(db)
    for f in (where.db, where.wal):
        if f.exists():
            shutil.copy2(f, old / f.name)
    import_file(db, write(tmp_path, "readers.csv", READERS))
    for n in range(3):  # more publishes than snapshots kept
        import_file(db, write(tmp_path, f"events{n}.csv", EVENTS_3.replace("20,", f"{30 + n},").replace("I9", f"J{n}")))
    assert (_count(db, "events"), _count(db, "readers")) == (8, 300)
    where.wal.unlink(missing_ok=True)
    for f in old.iterdir():  # the older writer (and its log) put back
        shutil.copy2(f, db.parent / f.name)
    r = import_file(db, write(tmp_path, "events2.csv", EVENTS_2))
    assert r.accepted == 4
    assert (_count(db, "events"), _count(db, "readers")) == (12, 300)  # nothing published was lost

