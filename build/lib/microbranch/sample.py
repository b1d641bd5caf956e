"""The embedded default: generate the Nansha sample exports and import them into an empty database."""

from __future__ import annotations

import tempfile
from pathlib import Path

from microbranch import store
from microbranch.ingest import ImportResult, Progress, import_file

ORDER = ("branches", "communities", "readers", "items", "events")


def load(db: Path, progress: Progress | None = None) -> list[ImportResult]:
    """Generate the sample files into a temporary folder and import them, in dependency order."""
    from sample_data.generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        files = sorted(generate(Path(tmp)), key=lambda p: ORDER.index(p.stem) if p.stem in ORDER else 99)
        results = []
        for i, path in enumerate(files):
            if progress:
                progress(path.name, i / len(files))
            results.append(import_file(db, path, user="sample"))
        return results


def ensure(db: Path, progress: Progress | None = None) -> bool:
    """Load the sample on first start (no snapshot yet); return whether it did."""
    if store.current_version(db) is not None:
        return False
    with store.writer(db, publish_on_exit=False):
        pass  # creates the schema; the lock makes a second starter wait for the first
    if store.current_version(db) is not None:
        return False
    load(db, progress)
    return True
