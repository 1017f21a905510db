"""Read the statistics aggregates: figures per queue, class, day and interval.

Every query reads a fixed number of aggregate hashes (per queue and day or interval), so its
cost depends on the range asked for, never on how many calls were ever recorded. The
definitions are in docs/statistics.md.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from functools import cache, cached_property, lru_cache, reduce
from typing import Any

import redis

from routing.clock import Clock
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.queues.events import (
    TTH_BOUNDS,
    day_intervals,
    days,
    interval_start,
    local_day,
    sl_seconds,
)
from routing.scripts import lua_source
from routing.settings import EngineSettings
from routing.store import RedisClient

CLASSES = ("senior", "other", "all")
ALL = "all"  # the name of the sum over every queue
# One call reads many aggregate hashes and answers only those that exist: a day has 96
# intervals per queue and most are empty at night. Batches keep each call short, so a long
# range never holds Redis (and the routing decisions queued behind it) for long. A hash comes
# back as one string, its fields and values joined by newlines (neither holds one: the fields
# are record_lib.lua's names, the values integers): one bulk reply per hash instead of one
# per field halves the client's work.
# The same for a range of intervals, whose key names are built in the script from each
# queue's interval-key stem and the interval ids: ARGV = n, group, n stems, then the ids. Key
# number k (1-based) is interval (k - 1) // n, queue (k - 1) % n. Sending 576 names for a day,
# and declaring each, cost more than reading the hashes. One EXISTS over a group of intervals
# (an hour) skips the group when nobody called in it: nights and quiet queues cost one call,
# not one per hash.
_EXISTS_GROUP = 4  # intervals checked by one EXISTS
_GATHER_BATCH = 1024
# Distinct interval contents whose figures are kept between queries. A past interval rarely
# changes, so a dashboard or tool asking for the same day again finds it here; the key is the
# raw aggregates themselves, so a late correction (an abandon taken back) is a new key and
# never a stale answer.
_MEMO_SIZE = 1024  # ~9 KB each: a day of every queue and their sum, at most ~9 MB
MAX_RANGE_DAYS = 92  # interval queries beyond a quarter are refused: their cost is the range


@dataclass(frozen=True)
class Figures:
    """The counts of one queue (or all) and one class over a period, and what follows from them."""

    offered: int = 0
    answered: int = 0
    answered_sl: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    offers: int = 0
    missed: int = 0
    completed: int = 0
    cb_requested: int = 0
    cb_placed: int = 0
    cb_failed: int = 0
    overflowed: int = 0  # left the queue for a line: its overflow line, or a Twilio error's
    moved_out: int = 0  # moved to another queue by this queue's overflow (entry time kept)
    moved_in: int = 0  # moved here by another queue's overflow
    connected: int = 0  # callers bridged to a person (their time to a human is known)
    tth_ms: int = 0
    max_tth_ms: int = 0
    unreported: int = 0  # calls closed as "ended, unreported" (routing.max_call_seconds)
    # Calls that never reached a queue (docs/statistics.md, "Every caller counted")
    ivr_abandoned: int = 0  # hung up in the menu, the hotline open
    ah_hangup: int = 0  # hung up in the after-hours flow
    ah_duty: int = 0  # put through to the duty or on-call line out of hours
    booked_callback: int = 0  # a call-back booked out of hours or out of complaint hours
    complaint_recorded: int = 0  # a complaint left as a recording out of complaint hours
    wait_ms: int = 0
    abandon_wait_ms: int = 0
    max_wait_ms: int = 0
    max_abandon_ms: int = 0
    histogram: tuple[int, ...] = ()
    abandon_histogram: tuple[int, ...] = ()
    tth_histogram: tuple[
        int, ...
    ] = ()  # per TTH_BOUNDS (routing/queues/events.py), one more bucket
    sl_seconds: int | None = None  # T; None when queues with different T are summed

    @property
    def tth_s(self) -> float | None:
        """Mean time to a human: first webhook to the bridge (None before any connection)."""
        return self.tth_ms / 1000 / self.connected if self.connected else None

    @property
    def tth_p90_s(self) -> float | None:
        """90th percentile of the time to a human, as the upper bound of its histogram bucket
        (a figure "at most"); None before any connection or beyond the last bound."""
        return histogram_quantile(self.tth_histogram, TTH_BOUNDS, 0.9)

    @property
    def asa_s(self) -> float | None:
        """Average speed of answer: answered wait ÷ answered (None when nothing was answered)."""
        return self.wait_ms / 1000 / self.answered if self.answered else None

    @property
    def service_level(self) -> float | None:
        """Answered within T ÷ (answered + abandoned after the short-abandon threshold)."""
        base = self.answered + self.abandoned
        return self.answered_sl / base if base else None

    @property
    def abandon_rate(self) -> float | None:
        """Abandoned (short abandons excluded) ÷ (offered − short abandons)."""
        base = self.offered - self.short_abandoned
        return self.abandoned / base if base > 0 else None

    @property
    def max_wait_s(self) -> float:
        """Longest wait of an answered or (not short) abandoned call."""
        return max(self.max_wait_ms, self.max_abandon_ms) / 1000

    def __add__(self, other: Figures) -> Figures:
        """Sum two periods, queues or classes."""
        # A day's interval query sums thousands of these: field names and rules come from
        # tables made once (_COMBINE), not from fields() and string tests on every call.
        return Figures(
            **{name: rule(getattr(self, name), getattr(other, name)) for name, rule in _COMBINE}
        )

    @cached_property
    def json(self) -> dict[str, Any]:
        """`as_dict()` made once per Figures and shared: read it, never change it.

        Its keys are in order: the JSON responses sort keys, and keys already in order sort
        almost for free (for a day's intervals, 0.05 ms of sorting instead of 0.19 ms).
        """
        return dict(sorted(self.as_dict().items()))

    def as_dict(self) -> dict[str, Any]:
        """The counts and the derived figures, ready for JSON."""
        out: dict[str, Any] = {name: getattr(self, name) for name, _ in _COMBINE}
        out["histogram"] = list(self.histogram)
        out["abandon_histogram"] = list(self.abandon_histogram)
        out["asa_s"] = _round(self.asa_s)
        out["service_level"] = _round(self.service_level, 4)
        out["abandon_rate"] = _round(self.abandon_rate, 4)
        out["max_wait_s"] = round(self.max_wait_s, 1)
        out["tth_histogram"] = list(self.tth_histogram)
        out["time_to_human_s"] = _round(self.tth_s)
        out["time_to_human_p90_s"] = self.tth_p90_s
        return out


@dataclass(frozen=True)
class Interval:
    """One interval of one queue (or all): its local start and figures per class."""

    start: datetime
    queue: str
    figures: dict[str, Figures] = field(default_factory=dict)


class Stats:
    """Queries over the aggregates the Recorder writes."""

    def __init__(
        self, redis: RedisClient, clock: Clock, settings: EngineSettings, keys: Keys
    ) -> None:
        self.redis, self.clock, self.settings, self.keys = redis, clock, settings, keys
        self._zeros: dict[tuple[str, ...], dict[str, Figures]] = {}  # see _no_calls
        self._gather = redis.register_script(lua_source("gather"))
        self._gather_range = redis.register_script(lua_source("gather_range"))
        self._summed = lru_cache(maxsize=_MEMO_SIZE)(self._sum_figures)

    def queues(self) -> list[str]:
        """The configured queues, in configuration order."""
        return list(self.settings.queues)

    def today(self) -> date:
        """The hotline's current calendar day."""
        return local_day(self.clock.now(), self.settings)

    def day(self, day: date | None = None) -> dict[str, dict[str, Figures]]:
        """Figures for one local day (today by default): {queue | "all": {class: Figures}}."""
        when = day or self.today()
        names = [self.keys.stats_day(q, f"{when:%Y%m%d}") for q in self.queues()]
        return self._by_queue(self._read(names))

    def totals(self) -> dict[str, dict[str, Figures]]:
        """All-time figures: {queue | "all": {class: Figures}} (counters for /metrics)."""
        names = [self.keys.stats_total(q) for q in self.queues()]
        return self._by_queue(self._read(names))

    def intervals(self, start: date, end: date, queue: str | None = None) -> list[Interval]:
        """Every interval from `start` to `end` (local days, both included), oldest first.

        With `queue`, that queue's intervals; without, the sum over every queue ("all").
        """
        span = days(start, end)
        if not span or len(span) > MAX_RANGE_DAYS:
            raise ValueError(f"a range must cover 1 to {MAX_RANGE_DAYS} days")
        queues = (queue,) if queue else tuple(self.queues())
        ids = [iv for d in span for iv in day_intervals(d, self.settings)]
        rows = self._read_intervals(list(queues), ids)
        name, n, tz = queue or ALL, len(queues), self.settings.tz
        zeros, t = self._no_calls(queues), self._threshold(queues)
        out = []
        for i, iv in enumerate(ids):
            called = tuple(row for row in rows[i * n : (i + 1) * n] if row)
            # nobody called in any of the queues: the same zeros every time
            figures = self._summed(called, t) if called else zeros
            out.append(Interval(interval_start(iv, tz), name, dict(figures)))
        return out

    def _sum_figures(
        self, called: tuple[tuple[str, ...], ...], t: int | None
    ) -> dict[str, Figures]:
        """The figures of the queues' raw aggregates `called` (flat field, value, ...) summed.

        The raw counts are summed first: one parse per class, not one per queue. Memoised
        (`_summed`) on the raw content: the answer is shared, never changed.
        """
        rows = [dict(zip(flat[::2], flat[1::2], strict=True)) for flat in called]
        return self._classes_at(rows[0] if len(rows) == 1 else _sum_rows(rows), t)

    def _no_calls(self, queues: tuple[str, ...]) -> dict[str, Figures]:
        found = self._zeros.get(queues)
        if found is None:
            found = self._zeros[queues] = self._classes_at({}, self._threshold(queues))
        return found

    def _threshold(self, queues: tuple[str, ...]) -> int | None:
        """The service-level T of a sum over `queues`: theirs when they share it, else None."""
        found = {sl_seconds(self.settings, q) for q in queues}
        return found.pop() if len(found) == 1 else None

    def _by_queue(self, rows: list[dict[str, str]]) -> dict[str, dict[str, Figures]]:
        out = {q: self._classes(q, row) for q, row in zip(self.queues(), rows, strict=True)}
        out[ALL] = _sum_classes(list(out.values()))
        return out

    def _classes(self, queue: str, row: Mapping[str, str]) -> dict[str, Figures]:
        return self._classes_at(row, sl_seconds(self.settings, queue))

    def _classes_at(self, row: Mapping[str, str | int], t: int | None) -> dict[str, Figures]:
        size = len(self.settings.stats.histogram_bounds) + 1
        senior = _figures(row, "s", size, t)
        other = _figures(row, "o", size, t)
        return {"senior": senior, "other": other, "all": senior + other}

    def hashes(self, names: list[str]) -> list[dict[str, str]]:
        """The statistics hashes `names` ({} for a missing one), in order (team_stats.py)."""
        return self._read(names)

    def _read(self, names: list[str]) -> list[dict[str, str]]:
        """The hashes `names` ({} for a missing one), in order; the keys share one hash tag."""
        rows: list[dict[str, str]] = [{} for _ in names]
        with _unavailable_as_error():
            for first in range(0, len(names), _GATHER_BATCH):
                found = self._gather(keys=names[first : first + _GATHER_BATCH])
                for i, joined in zip(found[::2], found[1::2], strict=True):
                    flat = joined.split("\n")
                    rows[first + i - 1] = dict(zip(flat[::2], flat[1::2], strict=True))
        return rows

    def _read_intervals(self, queues: list[str], ids: list[str]) -> list[tuple[str, ...]]:
        """The interval hashes of `queues` for each of `ids`, interval by interval, as HGETALL
        answers them (field, value, ...; () for a missing one)."""
        stems = [self.keys.stats_interval(q, "") for q in queues]
        rows: list[tuple[str, ...]] = [() for _ in range(len(ids) * len(queues))]
        per_call = max(1, _GATHER_BATCH // len(queues))
        with _unavailable_as_error():
            for first in range(0, len(ids), per_call):
                found = self._gather_range(
                    keys=[stems[0] + ids[first]],  # the slot all of them share
                    args=[len(stems), _EXISTS_GROUP, *stems, *ids[first : first + per_call]],
                )
                base = first * len(queues) - 1
                for k, joined in zip(found[::2], found[1::2], strict=True):
                    rows[base + k] = tuple(joined.split("\n"))
        return rows


@contextmanager
def _unavailable_as_error() -> Iterator[None]:
    try:
        yield
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise StoreUnavailable(f"could not read statistics: {exc}") from exc


def _sum_rows(rows: list[dict[str, str]]) -> dict[str, int]:
    """Raw aggregate hashes summed field by field: "<class>:max_..." by max, the rest added.

    The same rules as `Figures.__add__` (_rule), applied before parsing.
    """
    out: dict[str, int] = {}
    for row in rows:
        for name, raw in row.items():
            value, old = int(raw), out.get(name)
            if old is None:
                out[name] = value
            elif name.partition(":")[2].startswith("max_"):
                out[name] = max(old, value)
            else:
                out[name] = old + value
    return out


def _figures(row: Mapping[str, str | int], p: str, size: int, t: int | None) -> Figures:
    if not row:  # an interval nobody called in: most of them (Figures are immutable)
        return _empty(size, t)
    return _parse(row, p, size, t)


@cache
def _empty(size: int, t: int | None) -> Figures:
    return _parse({}, "", size, t)


def _parse(row: Mapping[str, str | int], p: str, size: int, t: int | None) -> Figures:
    def num(name: str) -> int:
        return int(row.get(f"{p}:{name}", 0))

    counts = {name: num(name) for name in _COUNTS}
    return Figures(
        **counts,
        histogram=tuple(num(f"h{i}") for i in range(size)),
        abandon_histogram=tuple(num(f"ah{i}") for i in range(size)),
        tth_histogram=tuple(num(f"t{i}") for i in range(len(TTH_BOUNDS) + 1)),
        sl_seconds=t,
    )


def _add_histograms(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    if not a or not b:
        return a or b
    return tuple(x + y for x, y in zip(a, b, strict=True))


def _same_threshold(a: int | None, b: int | None) -> int | None:
    return a if a == b else None  # a sum over different thresholds has no single T


def _rule(name: str) -> Callable[[Any, Any], Any]:
    if name.startswith("max_"):
        return max
    if name in ("histogram", "abandon_histogram", "tth_histogram"):
        return _add_histograms
    if name == "sl_seconds":
        return _same_threshold
    return operator.add


_COUNTS = tuple(f.name for f in fields(Figures) if f.type in ("int", int))
_COMBINE = tuple((f.name, _rule(f.name)) for f in fields(Figures))


def _sum_classes(parts: Iterable[dict[str, Figures]]) -> dict[str, Figures]:
    listed = list(parts)
    if not listed:
        return {c: Figures() for c in CLASSES}
    return {c: reduce(operator.add, (part[c] for part in listed)) for c in CLASSES}


def histogram_quantile(counts: tuple[int, ...], bounds: tuple[int, ...], q: float) -> float | None:
    """The upper bound (seconds) of the bucket holding the `q` quantile; None if none or beyond."""
    total = sum(counts)
    if not total:
        return None
    seen = 0
    for i, count in enumerate(counts):
        seen += count
        if seen >= q * total:
            return float(bounds[i]) if i < len(bounds) else None
    return None


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)
