"""The database on disk: one writer file, published read-only snapshots for everyone who reads.

The writer file (`data/microbranch.duckdb` by default) is written only by imports, one at a time (`lock`).
Readers (the dashboard, `query`, several server processes) open the current snapshot read-only (`read`), so
they see the data before or after an import, never half of it, and never meet the writer's lock. `writer`
opens the writer file, brings its schema up to date and publishes it when it closes (`publishing`, which also
folds the log and puts an interrupted or damaged state right). Every file beside the database is named in
`locations`.
"""

from __future__ import annotations

from pathlib import Path

from microbranch.storage.errors import BusyError, PublishError, StoreError
from microbranch.storage.locations import Locations, locations
from microbranch.storage.lock import clear_work as _clear_work
from microbranch.storage.publishing import (
    KEEP_SNAPSHOTS,
    Step,
    current_version,
    fold,
    path_of,
    publish,
    recover,
    versions,
)
from microbranch.storage.read import SEALED, reader
from microbranch.storage.writer import SCHEMA, SCHEMA_VERSION, stored_schema, upgrade, writer


def clear_work(db: Path) -> bool:
    """Empty the work folder unless an import is running (it empties it itself); at a start. True if emptied."""
    return _clear_work(locations(db))


__all__ = ["KEEP_SNAPSHOTS", "SCHEMA", "SCHEMA_VERSION", "SEALED", "BusyError", "Locations", "PublishError", "Step",
           "StoreError", "clear_work", "current_version", "fold", "locations", "path_of", "publish", "reader",
           "recover", "stored_schema", "upgrade", "versions", "writer"]
