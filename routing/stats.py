"""Wait-time statistics: every queue event recorded once, aggregated as it happens.

One Lua function (record_lib.lua) dedupes each event per (call, kind[, agent]), updates the
queue's interval, day and all-time aggregates for seniors ("s") and others ("o"), and appends
it to a capped stream. The routing script runs it for the events of each routing decision in
the same atomic call (no round trip of its own); `Recorder` runs it for one event at a time.
The definitions the aggregates serve are in docs/statistics.md.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from importlib import resources
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

import redis

from routing.clock import Clock, epoch_ms
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.settings import Settings
from routing.store import RedisClient

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
]
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))
# Kinds that may happen once per agent for one call; every other kind happens once per call.
_PER_AGENT = frozenset({"offered", "missed"})
DEFAULT_SL_SECONDS = 20  # the service-level threshold of a queue the settings do not name
_CALL_TTL_MS = 8 * 24 * 3600 * 1000  # outlives a call-back booked over a week-long closure
LIBRARY = resources.files("routing").joinpath("record_lib.lua").read_text(encoding="utf-8")
_SCRIPT = LIBRARY + resources.files("routing").joinpath("record.lua").read_text(encoding="utf-8")


class Intervals:
    """The statistics interval a time falls in, remembered while time stays inside it."""

    def __init__(self, settings: Settings) -> None:
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


def route_config(settings: Settings) -> dict[str, Any]:
    """What route.lua needs to record the events of its decisions, fixed by the settings."""
    stats = settings.stats
    return {
        "sl": {name: q.sl_seconds * 1000 for name, q in settings.queues.items()},
        "sl_default": DEFAULT_SL_SECONDS * 1000,
        "short": stats.short_abandon_seconds * 1000,
        "bounds": [b * 1000 for b in stats.histogram_bounds],
        "ttl": _CALL_TTL_MS,
        "maxlen": stats.stream_maxlen,
    }


class Recorder:
    """Record queue events: dedupe, aggregate per interval and append to the audit stream."""

    def __init__(self, redis: RedisClient, clock: Clock, settings: Settings, keys: Keys) -> None:
        self.redis = redis
        self.clock = clock
        self.settings = settings
        self.keys = keys
        self._script = redis.register_script(_SCRIPT)
        self._bounds = ",".join(str(b * 1000) for b in settings.stats.histogram_bounds)
        self._intervals = Intervals(settings)

    def record(
        self,
        kind: EventKind,
        call_sid: str,
        *,
        queue: str,
        senior: bool,
        dialect: str,
        agent: str = "",
        wait_s: float = 0.0,
        at: datetime | None = None,
    ) -> bool:
        """Record one event; False when it was a duplicate and changed nothing."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown statistics event {kind!r}")
        at_ms = epoch_ms(at or self.clock.now())
        interval, expire = self._intervals.at(at_ms)
        keys = [
            self.keys.stats_call(call_sid),
            *self._aggregate_keys(queue, interval),
            self.keys.stats_events(),
        ]
        entry = (kind, call_sid, queue, senior, dialect, agent, wait_s)
        args = self._args(*entry, at_ms, interval, expire)
        status = self._run(keys, args)
        if status[0] == -1:  # an answer overturns a counted abandon: name its aggregates too
            status = self._run(keys + self._aggregate_keys(status[1], status[2]), args)
        return bool(status[0] == 1)

    def _aggregate_keys(self, queue: str, interval: str) -> list[str]:
        return [
            self.keys.stats_interval(queue, interval),
            self.keys.stats_day(queue, interval[:8]),
            self.keys.stats_total(queue),
        ]

    def _args(
        self,
        kind: str,
        call_sid: str,
        queue: str,
        senior: bool,
        dialect: str,
        agent: str,
        wait_s: float,
        at_ms: int,
        interval: str,
        expire_ms: int,
    ) -> list[str | int]:
        stats = self.settings.stats
        wait_ms = max(0, round(wait_s * 1000))
        klass = "s" if senior else "o"
        entry: list[str | int] = ["kind", kind, "call", call_sid, "queue", queue]
        entry += ["class", klass, "dialect", dialect, "agent", agent]
        entry += ["wait_ms", wait_ms, "at_ms", at_ms]
        return [
            kind,
            f"k:{kind}:{agent}" if kind in _PER_AGENT else f"k:{kind}",
            klass,
            wait_ms,
            sl_seconds(self.settings, queue) * 1000,
            stats.short_abandon_seconds * 1000,
            self._bounds,
            at_ms,
            queue,
            interval,
            expire_ms,
            _CALL_TTL_MS,
            stats.stream_maxlen,
            *entry,
        ]

    def _run(self, keys: list[str], args: list[str | int]) -> list[Any]:
        try:
            result: list[Any] = self._script(keys=keys, args=args)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise StoreUnavailable(f"could not record a statistics event: {exc}") from exc
        return result


def sl_seconds(settings: Settings, queue: str) -> int:
    """The queue's service-level threshold T in seconds (the default queue's for unknown ones)."""
    found = settings.queues.get(queue)
    return found.sl_seconds if found else DEFAULT_SL_SECONDS


def interval_id(when: datetime, settings: Settings) -> str:
    """The local start of the interval holding `when`, as YYYYMMDDTHHMM."""
    local = when.astimezone(settings.tz)
    size = settings.stats.interval_minutes
    minute = (local.hour * 60 + local.minute) // size * size
    return f"{local:%Y%m%d}T{minute // 60:02d}{minute % 60:02d}"


def interval_start(interval: str, tz: ZoneInfo) -> datetime:
    """The aware local datetime an interval id names (as strptime would read it, ~6x faster)."""
    if len(interval) != 13 or interval[8] != "T" or not interval.replace("T", "", 1).isdigit():
        raise ValueError(f"not an interval id: {interval!r}")
    return datetime(
        int(interval[:4]),
        int(interval[4:6]),
        int(interval[6:8]),
        int(interval[9:11]),
        int(interval[11:]),
        tzinfo=tz,
    )


def day_intervals(day: date, settings: Settings) -> list[str]:
    """Every interval id of one local day, in order."""
    size = settings.stats.interval_minutes
    stamp = f"{day:%Y%m%d}"
    return [f"{stamp}T{m // 60:02d}{m % 60:02d}" for m in range(0, 24 * 60, size)]


def local_day(when: datetime, settings: Settings) -> date:
    """The hotline's calendar day at `when`."""
    return when.astimezone(settings.tz).date()


def days(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
