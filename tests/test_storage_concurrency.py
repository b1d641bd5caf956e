"""Imports and readers in real, separate processes: a killed import leaves nothing behind, readers keep
serving (before or after, never half) while an import runs, and two imports at once take turns."""

from __future__ import annotations

import hashlib
import json
import os
import selectors
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from microbranch import storage
from microbranch.ingest import import_file
from sample_data.make_big import make_big
from tests.conftest import BRANCHES, write

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("branches", "items", "readers", "communities", "events", "chains", "chain_transfers", "imports", "rejects",
          "meta")
EVENTS_HEADER = "event_id,occurred_at,action,item_id,reader_id,from_reader_id,branch_id\n"
EVENTS_1 = EVENTS_HEADER + (
    "1,2024-04-01 09:00,checkout,I1,R1,,C1\n"
    "2,2024-04-03 10:00,transfer,I1,R2,R1,\n"
    "3,2024-04-02 11:00,checkout,I2,R3,,M1\n"
    "4,2024-04-05 12:00,return,I2,R3,,B1\n"
    "5,2024-04-04 13:00,checkout,I3,R4,,B1\n"
    "6,2024-04-06 13:00,lend,I3,R4,,B1\n"  # rejected: unknown action
)
# Touches the chains of I1 (continues it) and I3, adds a new copy, a reject and a later as-of day.
EVENTS_2 = EVENTS_HEADER + (
    "7,2024-04-08 09:00,transfer,I1,R5,R2,\n"
    "8,2024-04-09 09:00,return,I1,R5,,M1\n"
    "9,2024-04-09 10:00,return,I3,R4,,C1\n"
    "10,2024-04-10 10:00,checkout,I4,R1,,M1\n"
    "11,2024-04-11 10:00,transfer,I4,R1,R1,\n"  # rejected: a transfer to oneself
)
WAIT = 30  # seconds: no step of these tests needs more on 2 cores


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MICROBRANCH_")}
    return {**env, "MICROBRANCH_KEY_FILE": str(tmp_path / "secret" / "microbranch.key"), **extra}


def _cli_import(db: Path, files: list[Path], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "microbranch", "--db", str(db), "import", *map(str, files)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _paused_import(db: Path, files: list[Path], env: dict[str, str], step: str, seconds: float = 60,
                   fold_inline: bool = False) -> subprocess.Popen:
    """An import that stops at `step` for `seconds` (see tests/paused.py), printing PAUSED-AT-<step>."""
    return subprocess.Popen([sys.executable, "-m", "tests.paused", str(db), step, str(seconds),
                             *(["--fold-inline"] if fold_inline else []), *map(str, files)],
                            cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_line(proc: subprocess.Popen, text: str, timeout: float = WAIT) -> str:
    """Read the process's stderr (unbuffered, straight from the pipe) until it shows `text`; fail if the process
    ends or time runs out first. What comes after stays in the pipe for `communicate`."""
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stderr, selectors.EVENT_READ)
        while text.encode() not in seen and time.monotonic() < deadline:
            if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                chunk = os.read(proc.stderr.fileno(), 1)  # byte by byte: nothing past the line is taken
                if not chunk:
                    break
                seen += chunk
                if text.encode() in seen:
                    while not seen.endswith(b"\n") and (chunk := os.read(proc.stderr.fileno(), 1)):
                        seen += chunk
    if text.encode() in seen:
        return seen.decode()
    proc.kill()
    out, err = proc.communicate()
    pytest.fail(f"no {text!r} on stderr (exit {proc.returncode}):\n{seen.decode()}{err}\n{out}")


def _finish(proc: subprocess.Popen, timeout: float = WAIT) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"process did not finish in {timeout} s:\n{err}\n{out}")
    return out, err


def _contents(db: Path) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of every row of every table, read through a fresh read-only connection
    (which replays the write-ahead log, if any, in memory and leaves the file as it is)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        contents = {}
        for table in TABLES:
            rows = con.sql(f"select columns(*)::varchar from {table} order by all").fetchall()
            contents[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
        return contents
    finally:
        con.close()


def _snapshot_count(db: Path, table: str = "events") -> int:
    con = storage.reader(db)
    try:
        return con.sql(f"select count(*) from {table}").fetchall()[0][0]
    finally:
        con.close()


def test_an_import_killed_before_commit_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    env = _env(tmp_path)
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", env["MICROBRANCH_KEY_FILE"])
    db = tmp_path / "data" / "microbranch.duckdb"
    import_file(db, write(tmp_path, "branches.csv", BRANCHES))
    r = import_file(db, write(tmp_path, "events1.csv", EVENTS_1))
    assert (r.accepted, r.rejected) == (5, 1)
    events2 = write(tmp_path, "events2.csv", EVENTS_2)
    before = _contents(db)
    assert before["events"][0] == 5 and before["chains"][0] == 3 and before["rejects"][0] == 1
    version = storage.current_version(db)

    proc = _paused_import(db, [events2], env, "before-commit")
    _wait_for_line(proc, "PAUSED-AT-before-commit")
    assert proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    _finish(proc)
    assert proc.returncode == -signal.SIGKILL

    assert _contents(db) == before  # every table, row for row
    assert storage.current_version(db) == version and _snapshot_count(db) == 5  # nothing was published

    # The lock died with the process: a normal import of the same file goes through.
    again = _cli_import(db, [events2], env)
    out, err = _finish(again)
    assert again.returncode == 0, err
    assert "5 lines read = 4 accepted + 1 rejected + 0 duplicates skipped" in out
    after = _contents(db)
    assert {t: after[t][0] for t in TABLES} == {
        "branches": 5, "items": 0, "readers": 0, "communities": 0, "events": 9, "chains": 4, "chain_transfers": 2,
        "imports": 3, "rejects": 2, "meta": 5,  # data_set, as_of, schema, generation, key_fingerprint
    }
    assert storage.current_version(db) != version and _snapshot_count(db) == 9


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """200,000 generated events with their branches, communities, readers and items; the events are split into
    a head (20,000), and the rest as one file and as two halves."""
    folder = tmp_path_factory.mktemp("big")
    paths = make_big(folder, 200_000, seed=11)
    header, *lines = paths["events"].read_text(encoding="utf-8").splitlines(keepends=True)
    head, rest = lines[:20_000], lines[20_000:]
    half = len(rest) // 2
    for name, part in (("head", head), ("rest", rest), ("rest_a", rest[:half]), ("rest_b", rest[half:])):
        paths[name] = folder / f"events_{name}.csv"
        paths[name].write_text(header + "".join(part), encoding="utf-8")
    return paths


def _entities(db: Path, big: dict[str, Path]) -> None:
    for kind in ("branches", "communities", "readers", "items"):
        r = import_file(db, big[kind])
        assert r.status == "imported" and r.rejected == 0, r


READER = r"""
import json, sys, time
from pathlib import Path
from microbranch import storage

db, stop, limit = Path(sys.argv[1]), Path(sys.argv[2]), time.monotonic() + float(sys.argv[3])

def count():
    con = storage.reader(db)
    try:
        return con.sql("select count(*) from events").fetchall()[0][0]
    finally:
        con.close()

during, after, errors = [], [], []
ready = False
while not stop.exists() and time.monotonic() < limit:
    t = time.monotonic()
    try:
        during.append((t, time.monotonic(), count()))
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
    if not ready:
        print("READER-READY", file=sys.stderr, flush=True)
        ready = True
    time.sleep(0.005)
for _ in range(5):  # the writer has ended: the new data must be there
    try:
        after.append(count())
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
print(json.dumps({"during": during, "after": after, "errors": errors}))
"""


def test_readers_keep_serving_old_or_new_data_while_an_import_runs(tmp_path, monkeypatch, big):
    env = _env(tmp_path)
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", env["MICROBRANCH_KEY_FILE"])
    db = tmp_path / "data" / "microbranch.duckdb"
    _entities(db, big)
    assert import_file(db, big["head"]).accepted == 20_000
    before = _snapshot_count(db)
    assert before == 20_000

    stop = tmp_path / "stop-reading"
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db), str(stop), str(2 * WAIT)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_line(reader, "READER-READY")
    # The writer stops for a moment with its transaction complete but not committed: the reader must go on
    # reading the old snapshot all through it.
    writer_started = time.monotonic()
    writer = _paused_import(db, [big["rest"]], env, "before-commit", 1.5)
    _wait_for_line(writer, "PAUSED-AT-before-commit")
    paused_at = time.monotonic()
    out, err = _finish(writer)
    assert writer.returncode == 0, err
    assert "180000 lines read = 180000 accepted + 0 rejected" in out
    stop.touch()
    result = json.loads(_finish(reader)[0])
    assert reader.returncode == 0

    after = _snapshot_count(db)
    assert after == 200_000
    assert result["errors"] == []
    counts = [n for _, _, n in result["during"]]
    assert set(counts) <= {before, after}, sorted(set(counts))
    # Old data until the new snapshot is published, new data from then on.
    assert counts == sorted(counts)
    # Served while the writer held the database, its transaction complete but not yet committed.
    assert sum(1 for started, _, n in result["during"] if started >= paused_at and n == before) >= 3
    assert sum(1 for started, _, _ in result["during"] if writer_started <= started < paused_at) >= 3  # and earlier
    assert result["after"] and set(result["after"]) == {after}


def test_two_imports_at_once_take_turns(tmp_path, monkeypatch, big):
    env = _env(tmp_path)
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", env["MICROBRANCH_KEY_FILE"])
    db = tmp_path / "data" / "microbranch.duckdb"
    _entities(db, big)
    versions = len(storage.versions(db))
    published = storage.current_version(db)

    # Each pauses 1 s before COMMIT, holding the database: the two paused-to-exit spans must not overlap.
    procs = [_paused_import(db, [big[name]], env, "before-commit", 1) for name in ("rest_a", "rest_b")]
    spans: dict[int, list[float]] = {}
    problems: list[str] = []

    def watch(i: int, proc: subprocess.Popen) -> None:
        try:
            _wait_for_line(proc, "PAUSED-AT-before-commit")
            spans[i] = [time.monotonic()]
            proc.wait(timeout=WAIT)
            spans[i].append(time.monotonic())
        except BaseException as exc:  # pytest.fail's exception too: report it from the test's own thread
            problems.append(f"import {i}: {exc}")

    threads = [threading.Thread(target=watch, args=(i, p)) for i, p in enumerate(procs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=2 * WAIT)
    results = [_finish(p) for p in procs]
    assert not problems, "\n".join(problems)
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    assert len(spans) == 2 and all(len(s) == 2 for s in spans.values()), spans
    (a0, a1), (b0, b1) = sorted(spans.values())
    assert a1 <= b0, f"both imports were inside their transaction at once: {spans}"

    n = 90_000
    assert all(f"{n} lines read = {n} accepted + 0 rejected" in out for out, _ in results)
    assert _snapshot_count(db) == 2 * n
    assert int(storage.current_version(db)[1:].split(".")[0]) == int(published[1:].split(".")[0]) + 2
    assert len(storage.versions(db)) == min(versions + 2, storage.KEEP_SNAPSHOTS)
    con = storage.reader(db)
    try:
        log = con.sql("select file_name, accepted from imports where kind = 'events' order by import_id").fetchall()
    finally:
        con.close()
    assert sorted(log) == [("events_rest_a.csv", n), ("events_rest_b.csv", n)]
