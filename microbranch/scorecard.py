"""Node scorecards: each micro-branch against the yearly targets in the scorecard settings file.

The targets live in `microbranch/scorecard.toml` (documented defaults), or in the file named by the
setting `scorecard` (MICROBRANCH_SCORECARD); the named query `scorecard_by_branch` prorates them and
decides met / on track / behind, so the page and the report show the same cards.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from microbranch import settings

DEFAULTS = Path(__file__).with_name("scorecard.toml")
KEYS = ("transfers", "readers", "reading_events")


@dataclass(frozen=True)
class Targets:
    transfers: float = 20
    readers: float = 10
    reading_events: float = 3

    def params(self) -> dict[str, float]:
        """The named query's parameters."""
        return {"target_transfers": self.transfers, "target_readers": self.readers}


def settings_file() -> Path:
    return settings.current().scorecard or DEFAULTS


def targets(path: Path | None = None) -> Targets:
    """The targets from the settings file; a key left out keeps its default."""
    path = path or settings_file()
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"the scorecard settings {path} cannot be read ({exc}); fix the file or unset MICROBRANCH_SCORECARD"
        raise ValueError(msg) from exc
    unknown = sorted(set(values) - set(KEYS))
    bad = [k for k in KEYS if k in values and not (isinstance(values[k], int | float) and values[k] >= 0)]
    if unknown or bad:
        msg = (f"the scorecard settings {path} take {', '.join(KEYS)} as numbers >= 0; "
               f"unknown: {unknown or 'none'}, not a number >= 0: {bad or 'none'}")
        raise ValueError(msg)
    return Targets(**{k: float(values[k]) for k in KEYS if k in values})
