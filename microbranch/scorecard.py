"""Node scorecards: each micro-branch against yearly targets, and its place among its peers.

The settings live in `microbranch/scorecard.toml` (documented defaults), or in the file named by the
setting `scorecard` (MICROBRANCH_SCORECARD). Without explicit targets a branch is
measured against the median of comparable branches (the network's own distribution); explicit targets bind.
A branch open fewer than `grace_days` days is new and not judged. The named query `scorecard_by_branch` prorates
the targets, decides met / on track / behind / new and ranks, so the page and the report show the same cards.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from microbranch import settings

DEFAULTS = Path(__file__).with_name("scorecard.toml")
KEYS = ("transfers", "readers", "reading_events", "grace_days")


@dataclass(frozen=True)
class Targets:
    transfers: float | None = None  # None: the median of comparable branches
    readers: float | None = None
    reading_events: float = 3
    grace_days: int = 90

    @property
    def from_peers(self) -> bool:
        """Whether a target is set from the peers (not written in the settings)."""
        return self.transfers is None or self.readers is None

    def params(self) -> dict[str, float | int | None]:
        """The named query's parameters."""
        return {"target_transfers": self.transfers, "target_readers": self.readers, "grace_days": self.grace_days}


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
    numbers = {k: float(values[k]) for k in ("transfers", "readers", "reading_events") if k in values}
    if "grace_days" in values:
        numbers["grace_days"] = int(values["grace_days"])
    return Targets(**numbers)  # type: ignore[arg-type]
