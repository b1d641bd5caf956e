"""One writer at a time, across processes: `<db>.lock`; and the work folder a writer empties under it."""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager

from microbranch.storage.errors import BusyError
from microbranch.storage.locations import Locations


@contextmanager
def locked(where: Locations, wait_seconds: float) -> Iterator[None]:
    """Hold the writer's lock for the block; BusyError after `wait_seconds` of another holding it."""
    where.db.parent.mkdir(parents=True, exist_ok=True)
    with open(where.lock, "w") as lock:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BusyError("store_busy") from None
                time.sleep(0.2)
        yield


def empty_work(where: Locations) -> None:
    """Remove everything an import left outside the database (killed or not), and the spill folder DuckDB used
    by default before there was a work folder. Only with the writer's lock held."""
    for folder in (where.make_work(), where.tmp):
        for child in list(folder.iterdir()) if folder.is_dir() else []:
            shutil.rmtree(child, ignore_errors=True) if child.is_dir() and not child.is_symlink() else \
                child.unlink(missing_ok=True)
    shutil.rmtree(where.tmp, ignore_errors=True)


def clear_work(where: Locations) -> bool:
    """Empty the work folder unless an import is running (it empties it itself); at a start. True if emptied."""
    if not where.db.parent.is_dir():
        return False
    with open(where.lock, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        empty_work(where)
        return True


