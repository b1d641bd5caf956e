"""The embedded default: import the Nansha sample exports into an empty database, and remove them again.

The exports are written by the sample generator (`sample_data`), which stands on the core: whoever loads the
sample (the dashboard's first start, `python -m sample_data`) hands its `generate` to `load` or `ensure`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb

from microbranch import storage
from microbranch.contract import IMPORT_ORDER
from microbranch.duck import first
from microbranch.ingest import ImportResult, Progress
from microbranch.ingest.isolated import import_isolated
from microbranch.ingest.undo import undo_in
from microbranch.privacy import load_key

__all__ = ["Exports", "Progress", "ensure", "incomplete", "load", "remove"]
Exports = Callable[[Path], list[Path]]  # writes the sample's export files into a folder and returns them


def load(db: Path, exports: Exports, progress: Progress | None = None) -> list[ImportResult]:
    """Write the sample files into a temporary folder (`exports`) and import them in dependency order, each in the
    capped child process as any import. Audited by `operations.load_sample`, which is what callers use."""
    with tempfile.TemporaryDirectory() as tmp:
        files = sorted(exports(Path(tmp)), key=lambda p: IMPORT_ORDER.index(p.stem) if p.stem in IMPORT_ORDER else 99)
        results = []
        for i, path in enumerate(files):
            if progress:
                progress(path.name, i / len(files))
            results.append(import_isolated(db, path, user="sample"))
    with storage.writer(db) as con:  # the mark that every file of the sample went in (published: readers look)
        con.sql("insert or replace into meta values ('sample_complete', 'yes')")
    return results


def ensure(db: Path, exports: Exports, progress: Progress | None = None) -> list[ImportResult] | None:
    """Load the sample on first start, into a database that has had no upload at all, or load it again when a start
    was stopped halfway through loading it (sample imports without the mark that all went in); return the imports'
    results, or None when nothing was loaded. A database with uploads but nothing published (CURRENT lost, say) is
    republished, never given the sample."""
    storage.recover(db)
    if storage.current_version(db) is not None and not incomplete(db):
        return None
    if storage.current_version(db) is None:
        load_key(db)  # made while nothing is published: the writer below publishes before the first import
    with storage.writer(db, publish_on_exit=False) as con:  # the lock makes a second starter wait for the first
        half = _incomplete(con)
        uploaded = first(con, "select count(*) from imports where user_name <> 'sample'")[0]
    if uploaded or (storage.current_version(db) is not None and not half):
        storage.recover(db)
        return None
    if half:
        remove(db)
    return load(db, exports, progress)


def _incomplete(con: duckdb.DuckDBPyConnection) -> bool:
    sample_imports = con.sql("select count(*) from imports where user_name = 'sample' and status = 'imported' "
                             "and undone_at is null").fetchall()[0][0]
    marked = con.sql("select count(*) from meta where key = 'sample_complete'").fetchall()[0][0]
    return bool(sample_imports) and not marked


def incomplete(db: Path) -> bool:
    """Whether the published data holds part of the sample only (its loading was stopped)."""
    try:
        con = storage.reader(db)
    except FileNotFoundError:
        return False
    try:
        return _incomplete(con)
    except duckdb.Error:  # a snapshot made before the import log had `undone_at`
        return False
    finally:
        con.close()


def remove(db: Path) -> int:
    """Remove the sample data (undo its imports, newest first), keeping uploaded data; return how many."""
    with storage.writer(db) as con:
        ids = [r[0] for r in con.sql("select import_id from imports where user_name = 'sample' and status = 'imported'"
                                     " and undone_at is null order by import_id desc").fetchall()]
        for import_id in ids:
            undo_in(con, import_id, user="sample", confirm=True)
        con.sql("delete from meta where key = 'sample_complete'")
    return len(ids)
