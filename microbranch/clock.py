"""The one time zone of everything shown and recorded: imports' dates, the audit, retention (setting `time_zone`,
Asia/Shanghai unless configured)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from microbranch import settings


def zone_name() -> str:
    return settings.current().time_zone


def zone() -> ZoneInfo:
    return ZoneInfo(zone_name())


def now() -> datetime:
    """The wall-clock time in the zone, to the second, without its zone (what the tables store and show)."""
    return datetime.now(zone()).replace(tzinfo=None, microsecond=0)
