"""Business hours in the hotline's time zone: open days, opening times, holidays and days with
hours of their own (a half day before Spring Festival, a make-up working Saturday)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from routing.settings import BusinessHours

CLOSED = "closed"


def is_open(when: datetime, hours: BusinessHours, tz: ZoneInfo) -> bool:
    """Whether agents are on duty at `when` (an aware datetime)."""
    local = when.astimezone(tz)
    span = hours_on(local.date(), hours)
    if span is None:
        return False
    opens, closes = span
    if opens == closes:  # open round the clock on open days
        return True
    now = local.time()
    if opens < closes:
        return opens <= now < closes
    return now >= opens or now < closes  # hours that run past midnight


def hours_on(day: date, hours: BusinessHours) -> tuple[time, time] | None:
    """Opening and closing time on `day` (local), or None when closed all day.

    A day in `special_days` keeps the hours it names whatever the weekday (so a make-up
    working Saturday opens), or is closed; then `holidays`, then the weekdays and the regular
    hours.
    """
    special = hours.special_days.get(day.isoformat())
    if special is not None:
        return None if special == CLOSED else special_span(special)
    if day.isoformat() in hours.holidays or day.isoweekday() not in hours.weekdays:
        return None
    return _hhmm(hours.open), _hhmm(hours.close)


def special_today(when: datetime, hours: BusinessHours, tz: ZoneInfo) -> tuple[str, str] | None:
    """Today's own hours as ("HH:MM", "HH:MM") when today is a special day that opens."""
    special = hours.special_days.get(when.astimezone(tz).date().isoformat())
    if special is None or special == CLOSED:
        return None
    opens, closes = special.split("-")
    return opens, closes


def special_span(text: str) -> tuple[time, time]:
    """ "HH:MM-HH:MM" as two times (checked by BusinessHours.check)."""
    opens, closes = text.split("-")
    return _hhmm(opens), _hhmm(closes)


def _hhmm(text: str) -> time:
    hh, mm = text.split(":")
    return time(int(hh), int(mm))
