"""One circulation event of the simulation (a checkout, hand-over, renewal or return), before it is written out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sample_data.settings import ACTION_RANK


@dataclass
class Event:
    day: int
    seconds: int
    action: str
    item: int
    reader: int
    from_reader: int = -1
    branch: str = ""
    channel: str = ""
    due: int | None = None

    def key(self, item_ids: Sequence[str]) -> tuple:
        """The export's order: time, then copy, then the tie order of the actions."""
        return (self.day, self.seconds, item_ids[self.item], ACTION_RANK[self.action])
