"""Wait-time statistics: every queue event recorded once, aggregated as it happens.

One Lua function (record_lib.lua) dedupes each event per (call, kind[, agent]), updates the
queue's interval, day and all-time aggregates for seniors ("s") and others ("o"), and appends
it to a capped stream. The routing script runs it for the events of each routing decision in
the same atomic call (no round trip of its own), and for one event at a time
(routing/queues/recorder.py). This module names the events and the intervals they are counted in.
The definitions the aggregates serve are in docs/statistics.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from routing.clock import epoch_ms
from routing.scripts import lua_source
from routing.settings import EngineSettings

EventKind = Literal[
    "entered",
    "offered",
    "answered",
    "missed",
    "abandoned",
    "completed",
    "callback_requested",
    "callback_placed",
    "callback_failed",
    "unreported",  # closed with no report of its end and nothing from Twilio (docs/statistics.md)
    # calls that never reached a queue (docs/statistics.md, "Every caller counted")
    "ivr_abandoned",  # hung up in the menu, the hotline open
    "after_hours_hangup",  # hung up in the after-hours flow
    "after_hours_duty",  # put through to the duty or on-call line out of hours
    "booked_callback",  # a call-back booked instead of a queue (out of hours or complaint hours)
    "complaint_recorded",  # left a recorded complaint out of complaint hours
]
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))
DEFAULT_SL_SECONDS = 20  # the service-level threshold of a queue the settings do not name
# Buckets of the time to a human (seconds). Finer than the wait histogram's: the figure is
# compared with single seconds (Ping An's 4.6 s), and its p90 is read off these bounds.
TTH_BOUNDS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 60, 120, 300)
_CALL_TTL_MS = 8 * 24 * 3600 * 1000  # outlives a call-back booked over a week-long closure
LIBRARY = lua_source("record_lib")


class Intervals:
    """The statistics interval a time falls in, remembered while time stays inside it."""

    def __init__(self, settings: EngineSettings) -> None:
        self.settings = settings
        self._current = (0, 0, "", 0)  # [start ms, end ms), interval id, expire-at ms

    def at(self, ms: int) -> tuple[str, int]:
        """(interval id, when its aggregates expire in ms) of the time `ms`."""
        lo, hi, interval, expire = self._current
        if lo <= ms < hi:
            return interval, expire
        interval = interval_id(datetime.fromtimestamp(ms / 1000, UTC), self.settings)
        start = epoch_ms(interval_start(interval, self.settings.tz))
        expire = start + self.settings.stats.retention_days * 86_400_000
        end = start + self.settings.stats.interval_minutes * 60_000
        if start <= ms < end:  # not so for the repeated hour of a DST fall-back: no caching
            self._current = (start, end, interval, expire)
        return interval, expire


def route_config(settings: EngineSettings) -> dict[str, Any]:
    """What route.lua needs to record the events of its decisions, fixed by the settings."""
    stats = settings.stats
    return {
        "sl": {name: q.sl_seconds * 1000 for name, q in settings.queues.items()},
        "sl_default": DEFAULT_SL_SECONDS * 1000,
        "short": stats.short_abandon_seconds * 1000,
        "bounds": [b * 1000 for b in stats.histogram_bounds],
        "tbounds": [b * 1000 for b in TTH_BOUNDS],
        "ttl": _CALL_TTL_MS,
        "maxlen": stats.stream_maxlen,
    }


def sl_seconds(settings: EngineSettings, queue: str) -> int:
    """The queue's service-level threshold T in seconds (the default queue's for unknown ones)."""
    found = settings.queues.get(queue)
    return found.sl_seconds if found else DEFAULT_SL_SECONDS


def interval_id(when: datetime, settings: EngineSettings) -> str:
    """The local start of the interval holding `when`, as YYYYMMDDTHHMM."""
    local = when.astimezone(settings.tz)
    size = settings.stats.interval_minutes
    minute = (local.hour * 60 + local.minute) // size * size
    return f"{local:%Y%m%d}T{minute // 60:02d}{minute % 60:02d}"


@lru_cache(maxsize=16384)  # a quarter's intervals: the range queries ask for the same ones
def interval_start(interval: str, tz: ZoneInfo) -> datetime:
    """The aware local datetime an interval id names."""
    return datetime.strptime(interval, "%Y%m%dT%H%M").replace(tzinfo=tz)


def day_intervals(day: date, settings: EngineSettings) -> list[str]:
    """Every interval id of one local day, in order."""
    size = settings.stats.interval_minutes
    stamp = f"{day:%Y%m%d}"
    return [f"{stamp}T{m // 60:02d}{m % 60:02d}" for m in range(0, 24 * 60, size)]


def local_day(when: datetime, settings: EngineSettings) -> date:
    """The hotline's calendar day at `when`."""
    return when.astimezone(settings.tz).date()


def days(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
