"""Backup and restore with real processes: a backup taken while an import is paused inside its transaction and a
read connection is open, restored into an empty folder at a new path, answers every named query exactly as the
published data does; the key travels only with --with-key, owner-only; a key of other data is refused."""

from __future__ import annotations

import json
import os
import secrets
import signal
import stat
import subprocess
import sys
from pathlib import Path

from polars.testing import assert_frame_equal

from microbranch import audit, auth, operations, profiles, queries, storage
from microbranch.ingest import import_file
from tests.conftest import BRANCHES, write
from tests.test_storage_concurrency import EVENTS_1, EVENTS_2, ROOT, _env, _finish, _paused_import, _wait_for_line
from tests.test_storage_writer_checked import READERS


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "microbranch", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def _answers(db: Path) -> dict:
    con = storage.reader(db)
    try:
        return {name: queries.run(con, name) for name in queries.names()}
    finally:
        con.close()


def test_a_backup_while_an_import_runs_restores_into_a_new_place_with_the_same_answers(tmp_path, monkeypatch):
    env = _env(tmp_path)
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", env["MICROBRANCH_KEY_FILE"])
    db = tmp_path / "data" / "microbranch.duckdb"
    import_file(db, write(tmp_path, "branches.csv", BRANCHES))
    import_file(db, write(tmp_path, "events1.csv", EVENTS_1))
    import_file(db, write(tmp_path, "readers.csv", READERS))
    operations.add_user(db, "wang", "manager", "a long enough password", operations.Actor("test"))
    profiles.import_text(db, (ROOT / "microbranch" / "profiles" / "koha_statistics.json").read_text())
    published = _answers(db)

    importing = _paused_import(db, [write(tmp_path, "events2.csv", EVENTS_2)], env, "before-commit")
    _wait_for_line(importing, "PAUSED-AT-before-commit")
    page = storage.reader(db)  # a page's connection, open all through
    try:
        folder = tmp_path / "backups" / "today"
        made = _cli(env, "--db", str(db), "backup", str(folder), "--with-key")
        assert made.returncode == 0, made.stderr
        assert page.sql("select count(*) from events").fetchall() == [(5,)]
    finally:
        page.close()
        os.kill(importing.pid, signal.SIGKILL)
        _finish(importing)

    manifest = json.loads((folder / "manifest.json").read_text())
    assert {"data/microbranch.duckdb", "access.duckdb"} <= set(manifest["files"])
    assert any(f.startswith("profiles/") for f in manifest["files"])
    assert manifest["key_included"] and manifest["generation"] == 3
    assert stat.S_IMODE((folder / "microbranch.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700

    new = tmp_path / "elsewhere" / "restored" / "library.duckdb"  # an empty folder at a new path, its own key
    plain = {k: v for k, v in env.items() if k != "MICROBRANCH_KEY_FILE"}
    done = _cli(plain, "--db", str(new), "restore", str(folder))
    assert done.returncode == 0, done.stderr
    assert (new.parent / "microbranch.key").read_bytes() == Path(env["MICROBRANCH_KEY_FILE"]).read_bytes()
    restored = _answers(new)
    assert restored.keys() == published.keys() and len(restored) >= 30
    for name, frame in published.items():
        assert_frame_equal(restored[name], frame, check_exact=True), name
    assert [r["name"] for r in auth.users(new).to_dicts()] == ["wang"]
    saved = sorted(p.name for p in storage.locations(db).profiles.glob("*.json"))
    assert saved and sorted(p.name for p in storage.locations(new).profiles.glob("*.json")) == saved
    assert audit.trail(new).height == audit.trail(db).height


def test_a_restore_refuses_a_key_of_other_data_and_a_damaged_backup(db, tmp_path):
    import_file(db, write(tmp_path, "branches.csv", BRANCHES))
    import_file(db, write(tmp_path, "readers.csv", READERS))
    env = {**_env(tmp_path), "MICROBRANCH_KEY_FILE": os.environ["MICROBRANCH_KEY_FILE"]}
    folder = tmp_path / "backup"
    assert _cli(env, "--db", str(db), "backup", str(folder)).returncode == 0
    assert not (folder / "microbranch.key").exists()  # the key only with --with-key

    new = tmp_path / "new" / "microbranch.duckdb"
    wrong = new.parent / "microbranch.key"
    wrong.parent.mkdir(mode=0o700)
    wrong.write_text(secrets.token_hex(32) + "\n")
    wrong.chmod(0o600)
    plain = {k: v for k, v in env.items() if k != "MICROBRANCH_KEY_FILE"} | {"MICROBRANCH_LANG": "en"}
    refused = _cli(plain, "--db", str(new), "restore", str(folder))
    assert refused.returncode == 1 and "fingerprint" in refused.stderr and "Traceback" not in refused.stderr
    assert not new.exists() and not storage.locations(new).snapshots.exists()

    wrong.unlink()
    with open(folder / "data" / "microbranch.duckdb", "r+b") as f:
        f.seek(4096)
        f.write(b"\xff" * 16)
    damaged = _cli(plain, "--db", str(new), "restore", str(folder))
    assert damaged.returncode == 1 and "damaged" in damaged.stderr
    assert not new.exists()
