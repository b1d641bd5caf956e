"""Publishing the writer file as read-only snapshots, folding its log, and putting both back in step.

The snapshots live in `<db>.snapshots/`:

    vNNNNNN/microbranch.duckdb       the base: a byte copy of the writer file as last folded (hard-linked
                                     from one version to the next while the writer file is unchanged)
    vNNNNNN/microbranch.duckdb.wal   a copy of the writer's write-ahead log: every commit since that fold
    vNNNNNN/SOURCE                   JSON: which writer file and log it was made from, the log's sha256, and
                                     the writer's generation (a count in `meta`, one more at every publish)
    CURRENT                          the name of the version readers open

The writer never folds its log into the file by itself (no automatic checkpoint, none at shutdown), so the
file stays byte for byte the base and publishing an import costs a copy of the log, not of the database;
DuckDB replays the log in memory when a reader opens the snapshot. When the log passes `FOLD_AT` of the
base (or the file changed: a large insert writes row groups straight into it), the writer is folded
(checkpointed) and copied whole as a new base. Every step is made in a `.tmp` folder and renamed, then
CURRENT is replaced atomically; `recover` puts any interrupted or damaged state right (see its docstring).

The writer is checked against what was published: a writer file that is missing, unreadable, or whose generation
is below that of the newest valid snapshot (an older copy put back, a log cut short) is never published. It is
set aside in `<db>.set-aside/` and the writer is rebuilt from that snapshot, so nothing published disappears.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from microbranch import settings
from microbranch.storage.errors import PublishError
from microbranch.storage.locations import Locations, locations, wal_of
from microbranch.storage.lock import locked

KEEP_SNAPSHOTS = 3
FOLD_AT = 0.10  # fold the log into a new base once it is this share of the base (and at least FOLD_MIN bytes)
FOLD_MIN = 64 * 2**20  # the setting fold_at_bytes, when set, is the threshold instead of both
FILE = "microbranch.duckdb"  # the database file's name inside a snapshot folder
log = logging.getLogger(__name__)

Step = Callable[[str], None]  # told each step of writing and publishing by name (a test stops at one to kill it)


def no_step(_name: str) -> None:
    pass


def _source(where: Locations) -> dict:
    """What identifies the writer's state: its file (unchanged while only the log grows) and its log."""
    st = where.db.stat()
    ws = where.wal.stat() if where.wal.exists() else None
    return {"file": [st.st_ino, st.st_size, st.st_mtime_ns],
            "wal": [ws.st_size, ws.st_mtime_ns] if ws and ws.st_size else None}


def _read_source(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "SOURCE").read_text())
    except (OSError, ValueError):
        return None


def _sha256(path: Path) -> str | None:
    if not path.exists():
        return None
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            h.update(chunk)
    return h.hexdigest()


def _copy_hashed(source: Path, target: Path) -> str:
    """Copy a file, flushed to disk, and return the sha256 of what was copied (one pass)."""
    h = hashlib.sha256()
    with open(source, "rb") as f, open(target, "wb") as out:
        while chunk := f.read(2**20):
            h.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return h.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def versions(db: Path) -> list[str]:
    """Published versions, oldest first (folders; and files left by older code)."""
    folder = locations(db).snapshots
    names = [p.name for p in folder.glob("v[0-9]*") if not p.name.endswith(".tmp")] if folder.exists() else []
    return sorted(names, key=lambda n: int(n[1:].split(".")[0]))


def path_of(db: Path, version: str) -> Path:
    """The database file of a published version."""
    p = locations(db).snapshots / version
    return p / FILE if p.is_dir() else p


def current_version(db: Path) -> str | None:
    try:
        name = locations(db).current.read_text().strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return name if name.startswith("v") and name[1:].split(".")[0].isdigit() else None


def publish(db: Path, on_step: Step = no_step, fold_inline: bool = False, generation: int | None = None) -> str:
    """Publish the (closed) writer file: its log beside the current base, or a new base when the file changed
    or the log has grown past FOLD_AT. Call with the lock held. Returns the version readers now open. The fold
    runs in a process of its own (the import returns at once), or here with `fold_inline`. `generation` is the
    writer's (read from the file when not given)."""
    where = locations(db)
    current = current_version(db)
    base = where.snapshots / current if current else None
    made = _read_source(base) if base and base.is_dir() else None
    state = _source(where)
    if made and made["source"] == state:
        return current  # nothing new since it was published
    if made and made["source"]["file"] == state["file"]:
        if generation is None:
            generation = writer_generation(where)
        name = _make(where, link_from=base / FILE, on_step=on_step, generation=generation)
        if _fold_due(where):
            if fold_inline:
                name = _fold_if_due(where, on_step) or name
            else:
                fold_later(where)
        return name
    return fold(db, on_step)


def fold_later(where: Locations) -> None:
    """Fold in a process of its own, which waits for the writer's lock (held by the caller until it returns).
    It runs `fold_when_due`; a thread reaps it when it ends."""
    code = "import sys; from microbranch.storage.publishing import fold_when_due; fold_when_due(sys.argv[1])"
    child = subprocess.Popen([sys.executable, "-c", code, str(where.db)], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    threading.Thread(target=child.wait, name="fold-reaper", daemon=True).start()


def fold_when_due(db: Path | str, wait_seconds: float = 600) -> None:
    """Put the writer and the snapshots in step, then fold the log into a new base if it passed the threshold."""
    recover(Path(db), wait_seconds, fold_due=True)


def _fold_due(where: Locations) -> bool:
    """Whether the writer's log has grown past the threshold for folding it into a new base."""
    limit = settings.current().fold_at_bytes
    if limit is None:
        limit = max(FOLD_MIN, int(FOLD_AT * where.db.stat().st_size))
    return where.wal.exists() and where.wal.stat().st_size > limit


def _fold_if_due(where: Locations, on_step: Step = no_step) -> str | None:
    """Fold when due; a failure leaves the log snapshot serving (the next publish tries again)."""
    if not _fold_due(where):
        return current_version(where.db)
    try:
        return fold(where.db, on_step)
    except (PublishError, duckdb.Error) as exc:
        log.warning("folding %s failed: %s", where.db, exc)
        return current_version(where.db)


def fold(db: Path, on_step: Step = no_step) -> str:
    """Fold the writer's log into its file (checkpoint) and publish a full copy as a new base."""
    on_step("folding")
    try:
        con = duckdb.connect(str(db))
        try:
            con.sql("checkpoint")
            generation = _generation(con)
        finally:
            con.close()
    except duckdb.IOException as exc:
        if "No space left" not in str(exc):
            raise
        raise PublishError("store_disk_full", folder=db.parent, mb=_mb(db.stat().st_size)) from None
    return _make(locations(db), link_from=None, on_step=on_step, generation=generation)


def _generation(con: duckdb.DuckDBPyConnection) -> int | None:
    try:
        rows = con.sql("select max(try_cast(value as bigint)) from meta where key = 'generation'").fetchall()
    except duckdb.CatalogException:
        return None
    return rows[0][0]


def writer_generation(where: Locations) -> int | None:
    """The writer file's generation (None: no count yet, or the file cannot be read). Opened read-only: its log is
    replayed in memory, the files stay as they are."""
    try:
        con = duckdb.connect(str(where.db), read_only=True)
    except duckdb.Error:
        return None
    try:
        return _generation(con)
    except duckdb.Error:
        return None
    finally:
        con.close()


def generation_of(db: Path, name: str) -> int | None:
    """The generation a snapshot recorded (None: made before generations were counted)."""
    made = _read_source(locations(db).snapshots / name) or {}
    return made.get("generation")


def _make(where: Locations, link_from: Path | None, on_step: Step = no_step, generation: int | None = None) -> str:
    """Write a snapshot folder under a temporary name, rename it into place, point CURRENT at it."""
    folder = where.snapshots
    folder.mkdir(exist_ok=True)
    published = versions(where.db)
    number = int(published[-1][1:].split(".")[0]) + 1 if published else 1
    name = f"v{number:06d}"
    tmp = folder / (name + ".tmp")
    state = _source(where)
    needed = (where.wal.stat().st_size if where.wal.exists() else 0) + (0 if link_from else where.db.stat().st_size)
    free = shutil.disk_usage(folder).free
    if needed + 2**20 > free:
        raise PublishError("store_disk_full", folder=folder, mb=_mb(needed + 2**20 - free))
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        kind = "log" if link_from else "full"
        on_step(f"{kind}-started")
        if link_from:
            os.link(link_from, tmp / FILE)
        else:
            shutil.copyfile(where.db, tmp / FILE)
            _fsync(tmp / FILE)
        made = {"source": state, "generation": generation,
                "wal_sha256": _copy_hashed(where.wal, tmp / (FILE + ".wal")) if state["wal"] else None}
        (tmp / "SOURCE").write_text(json.dumps(made))
        _fsync(tmp / "SOURCE")
        _fsync(tmp)
        on_step(f"{kind}-written")
        os.rename(tmp, folder / name)
        _fsync(folder)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise PublishError("store_disk_full", folder=folder, mb=_mb(needed + 2**20 - free)) from None
        raise
    on_step(f"{kind}-renamed")
    _point(where, name)
    on_step(f"{kind}-pointed")
    for old in versions(where.db)[:-KEEP_SNAPSHOTS]:  # a reader that still has one open keeps reading it
        if (generation_of(where.db, old) or 0) <= (generation or 0):  # never one newer than what was published
            _remove(folder / old)
    return name


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _mb(n: float) -> int:
    return max(1, -(-int(n) // 2**20))


def _point(where: Locations, name: str | None) -> None:
    if name is None:
        where.current.unlink(missing_ok=True)
        return
    pointer = where.snapshots / "CURRENT.tmp"
    pointer.write_text(name)
    _fsync(pointer)
    os.replace(pointer, where.current)
    _fsync(where.snapshots)


SEALED = {"enable_external_access": False, "lock_configuration": True,  # readers touch no file but their own
          # a join of a page of rows (up to 200) to a big table passes their keys to its scan, which then reads only
          # the row groups that can hold them (not all of `items` for the 100 titles of a list's page)
          "dynamic_or_filter_threshold": 200}


def valid(db: Path, name: str, open_it: bool = True) -> bool:
    """A version is valid when its log is the one it recorded and DuckDB opens it and reads `meta`. Opened as the
    readers open it (`SEALED`): DuckDB refuses a second connection to a file with another configuration in the same
    process, so a check at a server's start while its first viewers read took the snapshot being read for damaged
    (and published it again, or pointed the readers at an older one)."""
    folder = locations(db).snapshots / name
    if folder.is_dir():
        made = _read_source(folder)
        if made is None or _sha256(folder / (FILE + ".wal")) != made.get("wal_sha256"):
            return False
    elif not folder.is_file():
        return False
    if not open_it:
        return True
    try:
        con = duckdb.connect(str(path_of(db, name)), read_only=True, config=SEALED)
        try:
            con.sql("select count(*) from meta").fetchall()
        finally:
            con.close()
        return True
    except duckdb.Error:
        return False


def recover(db: Path, wait_seconds: float = 600, fold_due: bool = False) -> None:
    """Put the writer file and the published snapshot back in step; run at start (before each import,
    `writer` does the same). Removes half-written snapshot folders; publishes a commit that was not
    published; a missing or garbage CURRENT, or one naming a missing or damaged snapshot, points again at
    the newest valid snapshot made from the writer's present state, or a new one is published from the
    writer; without a usable writer file, at the newest valid snapshot. With `fold_due`, then folds the
    writer's log into a new base if it has passed the threshold (what a publish starts in the background).
    Raises PublishError (after pointing at what can be served) when the disk has no room to publish."""
    where = locations(db)
    if not where.db.exists() and not where.snapshots.exists():
        return
    with locked(where, wait_seconds):
        reconcile(where, check_base=True)
        if fold_due and where.db.exists():
            _fold_if_due(where)


def reconcile(where: Locations, check_base: bool) -> None:
    """`recover`'s work, with the lock held; `check_base=False` (before an import) trusts a snapshot made from
    the writer's present state without opening it."""
    db, folder = where.db, where.snapshots
    if folder.exists():
        for left in folder.glob("*.tmp"):
            _remove(left)
    current = current_version(db)
    state = _source(where) if db.exists() else None
    known = current in versions(db)
    as_published = bool(state and known and (_read_source(folder / current) or {}).get("source") == state)
    if as_published and not check_base:
        return  # before an import: published as the writer stands (checked in full at start)
    if not as_published and _behind(where, state):
        return  # the writer was missing or behind: rebuilt from the newest snapshot, which readers now open
    good = known and valid(db, current, open_it=check_base)
    if good and (state is None or (_read_source(folder / current) or {}).get("source") == state):
        return
    # Another version made from this very writer state (e.g. published, then killed before CURRENT moved)?
    for name in reversed(versions(db)):
        made = _read_source(folder / name)
        if state and made and made["source"] == state and valid(db, name):
            _point(where, name)
            return
    if state:
        try:
            if good or not versions(db):
                publish(db)
            else:  # a log snapshot needs a valid current base: a full copy of the writer instead
                fold(db)
            return
        except duckdb.Error as exc:  # the writer file is unreadable: serve what was published
            log.warning("could not publish %s: %s", db, exc)
        except PublishError:  # a full disk: serve what was published, and say what is needed
            if not good:
                _point(where, _newest_valid(db))
            raise
    if not good:
        _point(where, _newest_valid(db))


def _behind(where: Locations, state: dict | None) -> bool:
    """When the writer is missing, unreadable or older than the newest valid snapshot that counted generations:
    set it aside, rebuild it from that snapshot and point readers at it; True if so."""
    db = where.db
    newest = max(((generation_of(db, n), n) for n in versions(db) if generation_of(db, n) is not None),
                 default=None)
    while newest and not valid(db, newest[1]):
        newest = max(((g, n) for n in versions(db) if (g := generation_of(db, n)) is not None and g < newest[0]),
                     default=None)
    if newest is None:
        return False
    generation, name = newest
    found = writer_generation(where) if state else None
    if found is not None and found >= generation:
        return False
    log.warning("the writer %s is %s; rebuilt from snapshot %s (generation %s)", db,
                "missing" if state is None else f"behind (generation {found})", name, generation)
    _set_aside(where)
    snapshot = path_of(db, name)
    for source, target in ((snapshot, db), (wal_of(snapshot), where.wal)):
        if source.exists():
            part = target.with_name(target.name + ".restoring")
            shutil.copyfile(source, part)
            _fsync(part)
            os.replace(part, target)
    _fsync(db.parent)
    _point(where, name)
    return True


def _set_aside(where: Locations) -> None:
    """Move the writer file and its log (if any) into `<db>.set-aside/<time>/`, kept for whoever wants them."""
    present = [p for p in (where.db, where.wal) if p.exists()]
    if not present:
        return
    folder = where.set_aside / time.strftime("%Y%m%d-%H%M%S")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for p in present:
        os.replace(p, folder / p.name)


def _newest_valid(db: Path) -> str | None:
    return next((n for n in reversed(versions(db)) if valid(db, n)), None)
