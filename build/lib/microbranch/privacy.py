"""Reader pseudonyms: HMAC-SHA-256 with a key kept outside the database and the repository."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def key_path(db_path: Path) -> Path:
    return Path(os.environ.get("MICROBRANCH_KEY_FILE") or db_path.parent / "microbranch.key")


def load_key(db_path: Path) -> bytes:
    """Read the key, creating it (owner-only permissions) on first use."""
    path = key_path(db_path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def pseudonym(key: bytes, reader_id: str) -> str:
    """A stable pseudonym: `R` and 20 hex digits of HMAC-SHA-256(key, reader id)."""
    return "R" + hmac.new(key, reader_id.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
