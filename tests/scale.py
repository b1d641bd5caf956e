"""A generated city for the tests that need many branches: 1,000 branches, 20,000 events (sample_data.make_big),
imported once per test module into a database file on disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from microbranch.ingest import import_file
from sample_data.make_big import make_big

EVENTS = 20_000


def city(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Import the generated city into `folder`; return the database file."""
    monkeypatch.setenv("MICROBRANCH_KEY_FILE", str(folder / "secret" / "microbranch.key"))
    db = folder / "data" / "microbranch.duckdb"
    paths = make_big(folder / "csv", EVENTS, seed=5)
    for kind in ("branches", "communities", "readers", "items", "events"):
        result = import_file(db, paths[kind])
        assert result.status == "imported" and result.rejected == 0, result
    return db
