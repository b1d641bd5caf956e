"""Where everything of one database lives: the files beside the writer file, named in this one place.

    <db>                    the writer file (written by imports only), <db>.wal its log
    <db>.lock               serialises writers across processes
    <db>.work/              owner-only: uploads and decoded copies on their way in, DuckDB's spill files
    <db>.tmp/               what older versions left (emptied with the work folder)
    <db>.snapshots/         the published read-only versions and CURRENT (see `publishing`)
    <db>.set-aside/         writer files found behind what was published, kept (never published) when the writer
                            was rebuilt from the newest snapshot
    <db>.profiles/          the staff's saved column mappings
    <db>.cache/             owner-only: pieces made once per data version (the district report's)
    <db>.access.duckdb      accounts and the audit trail (owner-only), <db>.access.duckdb.lock its lock
    microbranch.key         the pseudonymisation key, beside the database unless the setting `key_file` says
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from microbranch import settings


@dataclass(frozen=True)
class Locations:
    db: Path
    key: Path

    @property
    def wal(self) -> Path:
        return self._beside(".wal")

    @property
    def lock(self) -> Path:
        return self._beside(".lock")

    @property
    def work(self) -> Path:
        return self._beside(".work")

    @property
    def spill(self) -> Path:
        return self.work / "spill"

    @property
    def tmp(self) -> Path:
        return self._beside(".tmp")

    @property
    def snapshots(self) -> Path:
        return self._beside(".snapshots")

    @property
    def current(self) -> Path:
        """The file naming the version readers open."""
        return self.snapshots / "CURRENT"

    @property
    def set_aside(self) -> Path:
        return self._beside(".set-aside")

    @property
    def cache(self) -> Path:
        return self._beside(".cache")

    @property
    def profiles(self) -> Path:
        return self._beside(".profiles")

    @property
    def access(self) -> Path:
        return self._beside(".access.duckdb")

    @property
    def access_wal(self) -> Path:
        return self._beside(".access.duckdb.wal")

    @property
    def access_lock(self) -> Path:
        return self._beside(".access.duckdb.lock")

    def _beside(self, suffix: str) -> Path:
        return self.db.with_name(self.db.name + suffix)

    def make_work(self) -> Path:
        """The work folder, created owner-only (and made so again if it was not)."""
        self.work.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.work.chmod(0o700)
        return self.work


def wal_of(path: Path) -> Path:
    """The write-ahead log beside any DuckDB file (a snapshot's too)."""
    return path.with_name(path.name + ".wal")


def locations(db: Path | str | None = None) -> Locations:
    """The locations of the database at `db` (default: the setting `db`), its path made absolute once."""
    conf = settings.current()
    return _derive(os.path.abspath(db if db is not None else conf.db), conf.key_file)


@lru_cache(maxsize=64)
def _derive(db: str, key_file: Path | None) -> Locations:
    path = Path(db)
    return Locations(path, key_file or path.parent / "microbranch.key")
