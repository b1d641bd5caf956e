"""Saved column mappings ("profiles"): shipped ones in `microbranch/profiles/`, the staff's own beside the database
(`<db>.profiles/`), one small JSON file each, so a profile can be exported and imported by a colleague elsewhere.

A profile is offered for a file whose header signature is the one it was made for, and suggested for a file whose
headers are like those it was made for (`similar`), saying which of its columns the file lacks.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from microbranch.contract import ContractError, normalise_header
from microbranch.ingest.mapping import IGNORE, Mapping, signature
from microbranch.storage import locations

SHIPPED = Path(__file__).with_name("profiles")


def folder(db: Path) -> Path:
    return locations(db).profiles


MAX_BYTES = 1 << 20  # a profile is a few kilobytes; a bigger file is not one


def _read(path: Path) -> Mapping:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ContractError("imp_reason_bad_profile", detail=f"larger than {MAX_BYTES:,} bytes")
        return Mapping.from_json(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ContractError("imp_reason_bad_profile", detail=type(exc).__name__) from None


def _load(db: Path | None) -> tuple[dict[str, Mapping], list[tuple[str, ContractError]]]:
    paths = sorted(SHIPPED.glob("*.json"))
    if db is not None and folder(db).is_dir():
        paths += sorted(folder(db).glob("*.json"))
    out: dict[str, Mapping] = {}
    damaged: list[tuple[str, ContractError]] = []
    for path in paths:
        try:
            m = _read(path)
        except ContractError as exc:
            damaged.append((path.name, exc))  # not offered; the others still are
            continue
        out[m.name or path.stem] = m
    return out, damaged


def all_profiles(db: Path | None) -> dict[str, Mapping]:
    """Every profile by name: the shipped ones, then the saved ones (a saved profile replaces one of its name).
    A damaged or unsafe stored profile is skipped (see `damaged`)."""
    return _load(db)[0]


def damaged(db: Path | None) -> list[tuple[str, ContractError]]:
    """The stored profile files skipped, each with why (to say so where profiles are offered)."""
    return _load(db)[1]


def find(db: Path | None, name: str) -> Mapping:
    profiles = all_profiles(db)
    if name not in profiles:
        raise ContractError("imp_no_profile", name=name, known=", ".join(sorted(profiles)) or "—")
    return profiles[name]


def for_headers(db: Path | None, headers: list[str]) -> list[Mapping]:
    """The profiles made for files with these headers (same signature), saved ones first."""
    sig = signature(headers)
    found = [m for m in all_profiles(db).values() if m.signature == sig]
    return sorted(found, key=lambda m: m.built_from != "")


SIMILAR = 0.5  # shared headers over all headers of the two, at least, for a profile to be suggested


@dataclass(frozen=True)
class Suggestion:
    """A profile made for headers like a file's: how alike (shared over all) and the columns it maps that the file
    lacks (its condition: the file must carry them, e.g. Koha's barcode and cardnumber)."""

    mapping: Mapping
    similarity: float
    missing: list[str]


def similar(db: Path | None, headers: list[str]) -> list[Suggestion]:
    """Profiles whose headers are like these (not the same signature: `for_headers` gives those), most alike first."""
    mine = {normalise_header(h) for h in headers if h.strip()}
    exact = signature(headers)
    out = []
    for m in all_profiles(db).values():
        if m.signature == exact:
            continue
        theirs = {normalise_header(h) for h in (m.headers or list(m.columns))}
        alike = len(mine & theirs) / max(len(mine | theirs), 1)
        if alike >= SIMILAR:
            needed = [h for h, f in m.columns.items() if f != IGNORE]
            out.append(Suggestion(m, alike, [h for h in needed if normalise_header(h) not in mine]))
    return sorted(out, key=lambda s: (-s.similarity, s.mapping.name))


def save(db: Path, mapping: Mapping) -> Path:
    """Save (or replace) a profile under its name; the file's name is a hash of it, so any name will do."""
    if not mapping.name.strip():
        raise ContractError("imp_profile_needs_name")
    mapping.check()
    folder(db).mkdir(parents=True, exist_ok=True)
    path = folder(db) / (hashlib.sha256(mapping.name.encode("utf-8")).hexdigest()[:16] + ".json")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(mapping.to_json(), encoding="utf-8")
    os.replace(tmp, path)
    return path


def import_text(db: Path, text: str) -> Mapping:
    """Save a profile exported by a colleague (the JSON of `Mapping.to_json`), once checked whole: a malformed
    one, or one that maps a personal column onto any field but a reader id, is refused."""
    mapping = Mapping.from_json(text)
    save(db, mapping)
    return mapping
