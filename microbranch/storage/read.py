"""Read connections: the current published snapshot, read-only and sealed."""

from __future__ import annotations

from pathlib import Path

import duckdb

from microbranch import i18n, settings
from microbranch.storage.errors import StoreError
from microbranch.storage.publishing import SEALED, current_version, path_of, valid, versions


def reader(db: Path, version: str | None = None, *, files: bool = False) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current (or given) snapshot. Use `.cursor()` per thread. When the current
    one cannot be opened (damaged, or removed while CURRENT was being read), an earlier one serves.

    The connection reaches no file but its own: no query or parameter can read or write another one, and its
    configuration is locked (`SEALED`). `files=True` (the Parquet export alone) lets it write files."""
    config = {} if files else SEALED
    if version:
        return duckdb.connect(str(path_of(db, version)), read_only=True, config=config)
    current = current_version(db)
    if current is None:
        raise FileNotFoundError(i18n.t("store_no_data", settings.current().lang, db=db))
    tried = [current, *(n for n in reversed(versions(db)) if n != current)]
    for name in tried:
        try:
            if name != current and not valid(db, name, open_it=False):
                continue
            return duckdb.connect(str(path_of(db, name)), read_only=True, config=config)
        except duckdb.Error:
            if name == current and current_version(db) != current:  # replaced meanwhile: read CURRENT again
                return reader(db, files=files)
    raise StoreError("store_no_valid_snapshot", db=db)
