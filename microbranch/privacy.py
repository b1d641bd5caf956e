"""Reader pseudonyms: HMAC-SHA-256 with a key kept outside the database and the repository.

The key file holds 32 random bytes written as 64 hexadecimal digits (one line), readable by its owner only
(mode 600). It is made on the first import into an empty database. Once data exists, a missing, empty or
malformed key is an error: a new key would give every reader a second pseudonym. The key's fingerprint (an HMAC
of a fixed text, which says nothing of the key) is stored in `meta` at the first import; a different key, even a
well-formed one, stops every later import (`check_fingerprint`).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import stat
from pathlib import Path

import duckdb

from microbranch.contract import ContractError
from microbranch.duck import first
from microbranch.storage import current_version, locations, reader

KEY_BYTES = 32
FINGERPRINT_TEXT = b"microbranch: the pseudonymisation key of this data"


class KeyFileError(ContractError):
    """The pseudonymisation key cannot be used; the message says how to mend it."""


def key_path(db_path: Path) -> Path:
    return locations(db_path).key


def _has_data(db_path: Path) -> bool:
    """Whether anything was ever imported (a published snapshot of an empty schema holds no pseudonyms)."""
    if current_version(db_path) is None:
        return False
    con = reader(db_path)
    try:
        return first(con, "select count(*) from imports where status = 'imported'")[0] > 0
    finally:
        con.close()


def load_key(db_path: Path) -> bytes:
    """Read the key; create it (owner-only) only while the database has no published data."""
    path = key_path(db_path)
    if not path.exists():
        if _has_data(db_path):
            raise KeyFileError(
                f"The pseudonymisation key {path} is missing while {db_path} already holds data. Restore the key "
                "file from your backup (or set MICROBRANCH_KEY_FILE to it); a new key would give every reader a "
                f"second pseudonym. 假名密钥文件 {path} 不见了，而数据库已有数据：请从备份恢复该文件（或用 "
                "MICROBRANCH_KEY_FILE 指向它），切勿新建密钥。")
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(KEY_BYTES) + "\n")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise KeyFileError(f"The key file {path} can be read by others; make it owner-only: chmod 600 {path}. "
                           f"密钥文件 {path} 权限过宽，请执行 chmod 600。")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    if not re.fullmatch(f"[0-9a-fA-F]{{{2 * KEY_BYTES}}}", text):
        raise KeyFileError(f"The key file {path} must hold {KEY_BYTES} random bytes as {2 * KEY_BYTES} hexadecimal "
                           f"digits; it holds {len(text)} characters that are not. Restore it from your backup. "
                           f"密钥文件 {path} 格式不对（应为 {2 * KEY_BYTES} 位十六进制数字），请从备份恢复。")
    return bytes.fromhex(text)


def fingerprint(key: bytes) -> str:
    """What is stored to recognise the key: HMAC-SHA-256(key, a fixed text), 32 hex digits."""
    return hmac.new(key, FINGERPRINT_TEXT, hashlib.sha256).hexdigest()[:32]


def file_fingerprint(path: Path) -> str:
    """The fingerprint of the key in a key file (empty when the file holds no well-formed key)."""
    text = path.read_text(encoding="ascii", errors="replace").strip()
    return fingerprint(bytes.fromhex(text)) if re.fullmatch(f"[0-9a-fA-F]{{{2 * KEY_BYTES}}}", text) else ""


def check_fingerprint(con: duckdb.DuckDBPyConnection, key: bytes, path: Path) -> None:
    """In the writer: store the key's fingerprint at the first import; refuse a key whose fingerprint differs."""
    stored = con.sql("select max(value) from meta where key = 'key_fingerprint'").fetchall()[0][0]
    if stored is None:
        con.sql("insert or replace into meta values ('key_fingerprint', $f)", params={"f": fingerprint(key)})
    elif not hmac.compare_digest(stored, fingerprint(key)):
        raise KeyFileError("store_key_mismatch", path=path)


def pseudonym(key: bytes, reader_id: str) -> str:
    """A stable pseudonym: `R` and 20 hex digits of HMAC-SHA-256(key, reader id)."""
    return "R" + hmac.new(key, reader_id.encode("utf-8"), hashlib.sha256).hexdigest()[:20]
