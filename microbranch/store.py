"""The old name of `microbranch.storage`, kept so that code written against it goes on working while it moves
over; new code imports `microbranch.storage` (and `first` from `microbranch.duck`)."""

from __future__ import annotations

from pathlib import Path

from microbranch import settings
from microbranch.storage import *  # noqa: F403
from microbranch.storage import locations


def default_db() -> Path:
    return settings.current().db


def snapshot_dir(db: Path) -> Path:
    return locations(db).snapshots


def work_dir(db: Path) -> Path:
    return locations(db).make_work()


