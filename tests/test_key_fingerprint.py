"""The key is the key: its fingerprint is stored with the data at the first import, and another key, even a
well-formed one, stops imports with a sentence saying what to restore (the readers are never doubled)."""

from __future__ import annotations

import secrets

import pytest

from microbranch import storage
from microbranch.ingest import import_file
from microbranch.ingest.isolated import import_isolated
from microbranch.privacy import KeyFileError, fingerprint, load_key
from tests.conftest import BRANCHES, write
from tests.test_storage_writer_checked import READERS


def _readers(db) -> int:  # noqa: ANN001
    con = storage.reader(db)
    try:
        return con.sql("select count(*) from readers").fetchall()[0][0]
    finally:
        con.close()


def test_another_valid_key_is_refused_and_the_readers_are_not_doubled(db, tmp_path, monkeypatch):
    import_file(db, write(tmp_path, "branches.csv", BRANCHES))
    readers = write(tmp_path, "readers.csv", READERS)
    assert import_file(db, readers).accepted == 300
    con = storage.reader(db)
    try:
        stored = con.sql("select value from meta where key = 'key_fingerprint'").fetchall()
    finally:
        con.close()
    assert stored == [(fingerprint(load_key(db)),)]

    other = tmp_path / "other" / "microbranch.key"
    other.parent.mkdir(mode=0o700)
    other.write_text(secrets.token_hex(32) + "\n")
    other.chmod(0o600)
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(other))
    with pytest.raises(KeyFileError) as caught:
        import_file(db, readers)
    assert "fingerprint" in caught.value.text("en") and str(other) in caught.value.text("en")
    r = import_isolated(db, readers, lang="zh")  # as the upload page and the command line import
    assert r.status == "refused" and "指纹不符" in r.message
    assert _readers(db) == 300
