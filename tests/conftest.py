"""Shared fixtures: a fresh database file on disk per test, with its own pseudonymisation key."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from microbranch import storage
from microbranch.ingest import ImportResult, import_file
from ui import errors

# A page's error reaches AppTest's `exception` (in the dashboard it becomes an error id; see ui/errors.py).
errors.reraise = True


@pytest.fixture(autouse=True)
def cookie_from_session_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """AppTest sends no cookie: the page tests' session id stands in session_state (see tests/accounts.py)."""
    import streamlit as st

    from tests.accounts import TOKEN
    from ui import signin

    monkeypatch.setattr(signin, "token", lambda: st.session_state.get(TOKEN))
    monkeypatch.setenv("MICROBRANCH_REPORT_AFTER_IMPORT", "no")  # no report made behind every test's import


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(tmp_path / "secret" / "microbranch.key"))
    return tmp_path / "data" / "microbranch.duckdb"


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


def load(db: Path, folder: Path, name: str, text: str, encoding: str = "utf-8") -> ImportResult:
    return import_file(db, write(folder, name, text, encoding))


def snapshot(db: Path) -> duckdb.DuckDBPyConnection:
    return storage.reader(db)


def delete_import_events(db: Path, file_name: str) -> None:
    """Delete the events of the import of this file and rebuild what is derived for their copies, in one
    transaction (what an undo does to the derived tables)."""
    from microbranch.derived import refresh_items

    with storage.writer(db) as con:
        import_id = con.sql("select import_id from imports where file_name = $f", params={"f": file_name}
                            ).fetchall()[0][0]
        touched = [r[0] for r in con.sql("select distinct item_id from events where import_id = $id",
                                         params={"id": import_id}).fetchall()]
        con.begin()
        con.sql("delete from event_rows where import_id = $id", params={"id": import_id})
        refresh_items(con, touched)
        con.commit()


BRANCHES = """branch_id,name,kind,host_type,lat,lon,opened_on,closed_on,public_access,volumes,host_population
C1,Central,central,,22.80,113.50,2019-01-01,,yes,1000,
B1,Town one,branch,,22.90,113.50,2015-01-01,,yes,500,
M1,Micro one,micro,enterprise,22.85,113.50,2024-04-01,,yes,100,300
M2,Micro closed,micro,school,22.95,113.50,2024-04-01,2024-05-01,yes,50,800
M3,Micro private,micro,school,22.83,113.50,2024-04-01,,no,50,900
"""
