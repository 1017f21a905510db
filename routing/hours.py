"""Business hours in the hotline's time zone: open days, opening times and holidays."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from routing.settings import BusinessHours


def is_open(when: datetime, hours: BusinessHours, tz: ZoneInfo) -> bool:
    """Whether agents are on duty at `when` (an aware datetime)."""
    local = when.astimezone(tz)
    if local.date().isoformat() in hours.holidays:
        return False
    if local.isoweekday() not in hours.weekdays:
        return False
    opens, closes = _hhmm(hours.open), _hhmm(hours.close)
    if opens == closes:  # open round the clock on open days
        return True
    now = local.time()
    if opens < closes:
        return opens <= now < closes
    return now >= opens or now < closes  # hours that run past midnight


def _hhmm(text: str) -> time:
    hh, mm = text.split(":")
    return time(int(hh), int(mm))
