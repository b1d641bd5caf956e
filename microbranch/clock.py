"""The one time zone of everything shown and recorded: imports' dates, the audit, lockouts, retention.

Asia/Shanghai unless `$MICROBRANCH_TIME_ZONE` names another (an IANA name such as `Asia/Urumqi`); read here
alone, so the setting moves to the settings object in one place.
"""

from __future__ import annotations

import os
from datetime import datetime
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


def zone_name() -> str:
    return os.environ.get("MICROBRANCH_TIME_ZONE") or DEFAULT_ZONE


def zone() -> ZoneInfo:
    return ZoneInfo(zone_name())


def now() -> datetime:
    """The wall-clock time in the zone, to the second, without its zone (what the tables store and show)."""
    return datetime.now(zone()).replace(tzinfo=None, microsecond=0)
