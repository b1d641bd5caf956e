"""Backup and restore: a consistent copy of the published data while the dashboard serves, and a working database
rebuilt from it.

A backup folder holds:

    manifest.json                what was copied: the snapshot, its generation, the key's fingerprint, and the
                                 sha256 and size of every file below
    data/microbranch.duckdb      the current published snapshot (its base), and
    data/microbranch.duckdb.wal  its log, as published (snapshots never change once published)
    access.duckdb                accounts and the audit trail (copied under the access file's lock)
    profiles/*.json              the staff's saved column mappings
    microbranch.key              the pseudonymisation key: only with `with_key`, owner-only

A snapshot's files are opened before they are read, so a publish that prunes the version meanwhile changes
nothing of the copy; imports and readers go on as they were.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from microbranch import clock
from microbranch.storage.errors import StoreError
from microbranch.storage.locations import Locations, locations, wal_of
from microbranch.storage.publishing import FILE, current_version, generation_of, path_of, recover
from microbranch.storage.read import reader

FORMAT = 1
DATA = Path("data") / FILE
ACCESS = Path("access.duckdb")
KEY = "microbranch.key"


@dataclass(frozen=True)
class Backup:
    folder: Path
    version: str
    generation: int | None
    files: int
    with_key: bool


def _copy(source: int | Path, target: Path, mode: int = 0o600) -> dict:
    """Copy from an open descriptor (or a path) to a new owner-only file, flushed; its sha256 and size."""
    h, size = hashlib.sha256(), 0
    fd = os.open(source, os.O_RDONLY) if isinstance(source, Path) else source
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as out:
            while chunk := os.read(fd, 1 << 20):
                h.update(chunk)
                size += len(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    finally:
        os.close(fd)
    return {"sha256": h.hexdigest(), "bytes": size}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _fingerprint_in(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        return con.sql("select max(value) from meta where key = 'key_fingerprint'").fetchall()[0][0]
    except duckdb.CatalogException:
        return None


def backup(db: Path, folder: Path, with_key: bool = False) -> Backup:
    """Copy the published data, the access file and the profiles into `folder` (new or empty)."""
    where = locations(db)
    version = current_version(where.db)
    if version is None:
        raise StoreError("store_no_data", db=where.db)
    if folder.exists() and any(folder.iterdir()):
        raise StoreError("store_backup_not_empty", folder=folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    base = path_of(where.db, version)
    opened = [(os.open(base, os.O_RDONLY), DATA)]  # held open: a prune meanwhile cannot take them away
    if wal_of(base).exists():
        opened.append((os.open(wal_of(base), os.O_RDONLY), DATA.with_name(FILE + ".wal")))
    files = {str(rel): _copy(fd, folder / rel) for fd, rel in opened}
    con = reader(where.db, version)
    try:
        fingerprint = _fingerprint_in(con)
    finally:
        con.close()
    files |= _copy_access(where, folder)
    for profile in sorted(where.profiles.glob("*.json")) if where.profiles.is_dir() else []:
        files[f"profiles/{profile.name}"] = _copy(profile, folder / "profiles" / profile.name)
    if with_key and where.key.exists():
        _copy(where.key, folder / KEY)
    manifest = {"format": FORMAT, "made_at": clock.now().isoformat(), "zone": clock.zone_name(),
                "version": version, "generation": generation_of(where.db, version),
                "key_fingerprint": fingerprint, "key_included": with_key and where.key.exists(), "files": files}
    part = folder / "manifest.json.tmp"
    part.write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    os.replace(part, folder / "manifest.json")
    return Backup(folder, version, manifest["generation"], len(files), manifest["key_included"])


def _copy_access(where: Locations, folder: Path) -> dict:
    """The access file (and its log) copied while holding its lock, so no sign-in or audit row is half written."""
    if not where.access.exists():
        return {}
    with open(os.open(where.access_lock, os.O_WRONLY | os.O_CREAT, 0o600), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        copied = {str(ACCESS): _copy(where.access, folder / ACCESS)}
        if where.access_wal.exists():
            copied[f"{ACCESS}.wal"] = _copy(where.access_wal, folder / f"{ACCESS}.wal")
        return copied


def _checked(folder: Path) -> dict:
    """The manifest, once every file it names has its size and checksum."""
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise StoreError("store_backup_no_manifest", folder=folder) from None
    for rel, made in manifest["files"].items():
        path = folder / rel
        if not path.is_file() or path.stat().st_size != made["bytes"] or _sha256(path) != made["sha256"]:
            raise StoreError("store_backup_damaged", file=path)
    return manifest


def restore(folder: Path, db: Path, fingerprint_of: Callable[[Path], str]) -> Path | None:
    """Rebuild a working database at `db` (where nothing is yet) from a backup folder, and publish it. Refuses a key
    whose fingerprint (`fingerprint_of(key file)`, privacy's) is not the data's: the backup's key, or one already at
    the key's place. Returns where the key is, or None when neither holds one (imports then wait for it)."""
    manifest = _checked(folder)
    where = locations(db)
    if where.db.exists() or where.snapshots.exists() or where.access.exists():
        raise StoreError("store_restore_not_empty", db=where.db)
    expected = manifest.get("key_fingerprint")
    key = folder / KEY
    for candidate in (key, where.key):
        if expected and candidate.is_file() and not hmac.compare_digest(fingerprint_of(candidate), expected):
            raise StoreError("store_restore_wrong_key", path=candidate)
    where.db.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if key.is_file() and not where.key.exists():
        where.key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        _copy(key, where.key)
    for rel, target in ((str(DATA), where.db), (f"{DATA}.wal", where.wal), (str(ACCESS), where.access),
                        (f"{ACCESS}.wal", where.access_wal)):
        if rel in manifest["files"]:
            _copy(folder / rel, target)
    for rel in manifest["files"]:
        if rel.startswith("profiles/"):
            _copy(folder / rel, where.profiles / Path(rel).name)
    recover(where.db)  # publishes the restored writer as the first snapshot
    return where.key if where.key.exists() else None
