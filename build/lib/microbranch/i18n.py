"""One catalogue of every UI word and metric name, Chinese and English (files in `catalogue/`)."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

CATALOGUE = Path(__file__).with_name("catalogue")
LANGS = ("zh", "en")


@cache
def entries() -> dict[str, dict[str, str]]:
    """key -> {"zh": ..., "en": ..., optional "zh_def"/"en_def" definitions}; all files merged."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(CATALOGUE.glob("*.toml")):
        for key, value in tomllib.loads(path.read_text(encoding="utf-8")).items():
            if key in out:
                raise ValueError(f"catalogue key {key!r} is defined twice (again in {path.name})")
            out[key] = value
    return out


def t(key: str, lang: str = "zh", **fmt: object) -> str:
    """The word for `key` in `lang`; a missing key shows itself, so it is seen and fixed."""
    entry = entries().get(key)
    text = entry.get(lang, entry.get("en", key)) if entry else key
    return text.format(**fmt) if fmt else text


def definition(key: str, lang: str = "zh") -> str:
    entry = entries().get(key, {})
    return entry.get(f"{lang}_def", "")
