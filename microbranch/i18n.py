"""One catalogue of every UI word and metric, Chinese and English (files in `catalogue/`), by kind:

- `metrics.toml`: the metrics, keyed by the column a named query returns, with their words, definition, unit,
  number format and whether they count readers (see the file's head, and `microbranch.numbers`);
- every other file: messages and headings, plain keys (`zh`, `en`, optional `zh_def`/`en_def`); a new part of
  the dashboard adds its words in a file of its own.
"""

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


@cache
def metrics() -> dict[str, dict]:
    """The metrics (catalogue/metrics.toml): key -> its entry."""
    return tomllib.loads((CATALOGUE / "metrics.toml").read_text(encoding="utf-8"))


def t(key: str, lang: str = "zh", **fmt: object) -> str:
    """The word for `key` in `lang`; a missing key shows itself, so it is seen and fixed."""
    entry = entries().get(key)
    text = entry.get(lang, entry.get("en", key)) if entry else key
    return text.format(**fmt) if fmt else text


def definition(key: str, lang: str = "zh") -> str:
    entry = entries().get(key, {})
    return entry.get(f"{lang}_def", "")
