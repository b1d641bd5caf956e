"""Publishing and self-repair with real files and real processes: a small import publishes its log beside the
hard-linked base; kill -9 at every step of publishing leaves readers on a valid version and the next start
publishes what was committed; CURRENT deleted, garbage or naming a missing or damaged snapshot; a full disk."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from microbranch import sample, storage
from microbranch.ingest import import_file
from microbranch.storage.locations import wal_of
from sample_data.generate import generate
from tests.conftest import BRANCHES, write
from tests.test_storage_concurrency import (
    EVENTS_1,
    EVENTS_2,
    READER,
    ROOT,
    WAIT,
    _env,
    _finish,
    _paused_import,
    _wait_for_line,
)


def _count(db: Path, table: str = "events") -> int:
    con = storage.reader(db)
    try:
        return con.sql(f"select count(*) from {table}").fetchall()[0][0]
    finally:
        con.close()


def _cli(db: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "microbranch", "--db", str(db), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def two_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str], Path]:
    """Branches and five events published; a second events file (four more accepted) ready to import."""
    env = _env(tmp_path)
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", env["MICROBRANCH_KEY_FILE"])
    db = tmp_path / "data" / "microbranch.duckdb"
    import_file(db, write(tmp_path, "branches.csv", BRANCHES))
    assert import_file(db, write(tmp_path, "events1.csv", EVENTS_1)).accepted == 5
    return db, env, write(tmp_path, "events2.csv", EVENTS_2)


def test_a_small_import_publishes_its_log_beside_the_same_base(two_imports):
    db, _env_, events2 = two_imports
    first = storage.current_version(db)
    r = import_file(db, events2)
    assert r.accepted == 4
    second = storage.current_version(db)
    assert second != first
    old, new = storage.path_of(db, first), storage.path_of(db, second)
    assert new.stat().st_ino == old.stat().st_ino  # the database file is linked, not copied
    assert wal_of(new).stat().st_size > 0  # the import's changes travel in the log
    assert _count(db) == 9


def test_a_log_past_the_threshold_is_folded_into_a_new_base_by_a_process_of_its_own(two_imports, monkeypatch):
    db, _env_, events2 = two_imports
    first = storage.current_version(db)
    monkeypatch.setenv("MICROBRANCH_FOLD_AT_BYTES", "0")
    import_file(db, events2)
    published = storage.current_version(db)  # at once: the log beside the old base
    assert storage.path_of(db, published).stat().st_ino == storage.path_of(db, first).stat().st_ino
    assert _count(db) == 9
    deadline = time.monotonic() + WAIT
    while storage.current_version(db) == published and time.monotonic() < deadline:
        time.sleep(0.1)
    with storage.writer(db, publish_on_exit=False):  # the lock: the fold has finished
        pass
    folded = storage.path_of(db, storage.current_version(db))
    assert folded.stat().st_ino != storage.path_of(db, first).stat().st_ino
    assert not wal_of(folded).exists()
    assert _count(db) == 9 and _count(db, "chains") == 4


# Every step of publishing at which a kill -9 can land, with what readers see right after it (old or new).
STEPS = [
    ("committed", "", 5),
    ("log-started", "", 5),
    ("log-written", "", 5),
    ("log-renamed", "", 5),
    ("log-pointed", "", 9),
    ("folding", "0", 9),  # the log snapshot is out; the fold of the writer file had not begun
    ("full-started", "0", 9),
    ("full-written", "0", 9),
    ("full-pointed", "0", 9),
]


@pytest.mark.parametrize(("step", "fold_at", "seen"), STEPS, ids=[s[0] for s in STEPS])
def test_publish_killed_at_any_step_serves_a_valid_version_and_the_next_start_publishes_it(
        two_imports, step, fold_at, seen):
    db, env, events2 = two_imports
    # with a fold, it runs in the importing process, so that the kill lands in it
    proc = _paused_import(db, [events2], {**env, "MICROBRANCH_FOLD_AT_BYTES": fold_at} if fold_at else env, step,
                          fold_inline=bool(fold_at))
    _wait_for_line(proc, f"PAUSED-AT-{step}")
    os.kill(proc.pid, signal.SIGKILL)
    _finish(proc)
    assert proc.returncode == -signal.SIGKILL

    assert _count(db) == seen  # readers: the version before or the one after, whole

    done = _cli(db, env, "recover")  # the next start, in a process of its own
    assert done.returncode == 0, done.stderr
    assert _count(db) == 9 and _count(db, "chains") == 4
    assert not list(storage.locations(db).snapshots.glob("*.tmp"))
    again = _cli(db, env, "import", str(events2))
    assert again.returncode == 0, again.stderr
    assert "5 lines read = 0 accepted + 1 rejected + 4 duplicates skipped" in again.stdout


def test_current_deleted_is_restored_and_the_sample_never_loaded_into_real_data(two_imports):
    db, _env_, _ = two_imports
    published = storage.current_version(db)
    (storage.locations(db).snapshots / "CURRENT").unlink()
    assert sample.ensure(db, generate) is None
    assert storage.current_version(db) == published  # the same snapshot: nothing needed publishing
    assert (_count(db), _count(db, "branches")) == (5, 5)


def test_current_deleted_with_a_commit_not_yet_published_is_republished_from_the_writer(two_imports):
    db, env, events2 = two_imports
    proc = _paused_import(db, [events2], env, "committed")
    _wait_for_line(proc, "PAUSED-AT-committed")
    os.kill(proc.pid, signal.SIGKILL)
    _finish(proc)
    (storage.locations(db).snapshots / "CURRENT").unlink()
    assert sample.ensure(db, generate) is None
    assert (_count(db), _count(db, "branches")) == (9, 5)


@pytest.mark.parametrize("garbage", [b"", b"\x00\xff\xfe garbage", b"../../etc/passwd", b"v999999"])
def test_a_garbage_current_or_one_naming_a_missing_snapshot_is_repaired(two_imports, garbage):
    db, env, _ = two_imports
    (storage.locations(db).snapshots / "CURRENT").write_bytes(garbage)
    done = _cli(db, env, "query", "kpis", "--format", "json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert _count(db) == 5


def test_a_damaged_snapshot_falls_back_to_the_previous_one_then_is_republished(two_imports):
    db, env, events2 = two_imports
    import_file(db, events2)
    damaged = storage.path_of(db, storage.current_version(db))
    wal = wal_of(damaged)
    wal.write_bytes(wal.read_bytes()[: wal.stat().st_size // 2])  # the log copy cut short
    damaged.unlink()  # and the base replaced by garbage (unlinked first: the older versions share the file)
    damaged.write_bytes(os.urandom(1 << 16))
    assert _count(db) == 5  # a reader falls back to the previous version at once
    done = _cli(db, env, "recover")
    assert done.returncode == 0, done.stderr
    assert _count(db) == 9  # republished from the writer


def test_without_a_writer_file_a_damaged_snapshot_falls_back_to_the_previous_one(two_imports):
    db, env, events2 = two_imports
    import_file(db, events2)
    damaged = storage.path_of(db, storage.current_version(db))
    damaged.unlink()
    damaged.write_bytes(b"not a database")
    db.unlink()
    storage.recover(db)
    assert _count(db) == 5
    con = storage.reader(db)
    con.close()


# ---- a full disk: a small tmpfs of our own -------------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path):
    """A 32 MB tmpfs mounted for this test; skipped (not passed) where mounting is not allowed."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a full disk needs a tmpfs, and mounting one needs root: not tested here")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=32m", f"tmpfs-{uuid.uuid4().hex[:8]}", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"a full disk needs a tmpfs, and mounting one is not allowed here ({done.stderr.strip()})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(folder: Path, leave: int) -> Path:
    """Fill the disk holding `folder` until `leave` bytes are free."""
    filler = folder / "filler"
    free = shutil.disk_usage(folder).free
    with open(filler, "wb") as f:
        f.write(b"\0" * max(0, free - leave))
    return filler


def test_a_full_disk_keeps_the_previous_snapshot_and_says_how_much_space_is_needed(small_disk, tmp_path, monkeypatch):
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    monkeypatch.setenv("MICROBRANCH_LANG", "en")
    db = small_disk / "data" / "microbranch.duckdb"
    import_file(db, write(tmp_path, "branches.csv", BRANCHES))
    many = EVENTS_1.splitlines(keepends=True)[0] + "".join(
        f"{100 + i},2024-03-{1 + i % 28:02d} 09:{i % 60:02d},checkout,X{i},R{i},,C1\n" for i in range(3000))
    assert import_file(db, write(tmp_path, "many.csv", many)).accepted == 3000
    log_so_far = storage.locations(db).wal.stat().st_size
    assert log_so_far > 1 << 19  # the published log is big enough to leave too little room to copy it again
    before = storage.current_version(db)
    filler = _fill(small_disk, leave=log_so_far // 2)

    with pytest.raises(storage.PublishError) as caught:
        import_file(db, write(tmp_path, "events1.csv", EVENTS_1))  # committed to the writer, then no room
    message = str(caught.value)
    assert "MB more free space" in message and str(storage.locations(db).snapshots) in message
    needed = int(message.split(" MB more")[0].rsplit(" ", 1)[1])
    assert needed >= 1
    assert not list(storage.locations(db).snapshots.glob("*.tmp"))  # no partial file left
    assert storage.current_version(db) == before and _count(db) == 3000  # the previous snapshot serves

    env = {**_env(tmp_path), "MICROBRANCH_LANG": "en"}
    cli = _cli(db, env, "import", str(write(tmp_path, "events2.csv", EVENTS_2)))  # from the command line: one line
    assert cli.returncode == 1 and "Traceback" not in cli.stderr, cli.stderr
    assert cli.stderr.count("\n") == 1 and "MB more free space" in cli.stderr
    assert not list(storage.locations(db).snapshots.glob("*.tmp"))
    assert storage.current_version(db) == before and _count(db) == 3000

    filler.unlink()  # space freed: the next start publishes the committed import
    storage.recover(db)
    assert _count(db) == 3009


def test_readers_in_another_process_see_before_or_after_through_a_log_publish_and_a_fold(two_imports, tmp_path):
    db, env, events2 = two_imports
    stop = tmp_path / "stop-reading"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop), str(2 * WAIT)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_line(reader, "READER-READY")
    writer = _paused_import(db, [events2], {**env, "MICROBRANCH_FOLD_AT_BYTES": "0"}, "none", fold_inline=True)
    out, err = _finish(writer)
    assert writer.returncode == 0, err
    stop.touch()
    result = json.loads(_finish(reader)[0])
    assert result["errors"] == []
    counts = [n for _, _, n in result["during"]]
    assert set(counts) <= {5, 9} and counts == sorted(counts) and len(counts) >= 3
    assert set(result["after"]) == {9}
    assert not wal_of(storage.path_of(db, storage.current_version(db))).exists()  # it was folded


def test_a_start_while_this_process_reads_the_snapshot_keeps_it(two_imports):
    """A server's first viewers read while another first viewer's start checks the snapshots (the stock page's error
    in a round of concurrent first views): the snapshot being read is not taken for damaged."""
    db, _env_, _ = two_imports
    current, versions = storage.current_version(db), storage.versions(db)
    con = storage.reader(db)  # a page's connection, open in this process
    try:
        storage.recover(db, wait_seconds=0)
        assert storage.current_version(db) == current and storage.versions(db) == versions  # nothing published again
        assert con.sql("select count(*) from events").fetchall()[0][0] == 5
    finally:
        con.close()
