"""Statistics: each event counted once, aggregates that match a recount of the raw stream.

The recount below is an independent reading of docs/statistics.md: from the audit stream's
events it decides each call's outcome (answered beats abandoned; a call-back request means
the caller did not abandon) and sums per queue and interval. A burst of events sent twice
and in random order must leave the aggregates equal to it.
"""

from __future__ import annotations

import functools
import operator
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from routing.clock import FixedClock
from routing.keys import Keys
from routing.queues.events import EventKind, day_intervals, interval_id
from routing.queues.recorder import Recorder
from routing.queues.routing_script import RoutingLua, RoutingScript
from routing.reporting.queue_stats import Figures, Stats
from routing.settings import EngineSettings, load_engine_settings
from routing.store import RedisClient
from tests.conftest import T0

QUEUES = ("senior", "general", "complaints")  # complaints: a different T (30 s)


@dataclass(frozen=True)
class Event:
    kind: EventKind
    call: str
    queue: str
    senior: bool
    agent: str
    wait_s: float
    at: datetime


@dataclass
class Parts:
    settings: EngineSettings
    recorder: Recorder
    stats: Stats
    r: RedisClient
    keys: Keys


@pytest.fixture
def parts(r: RedisClient, clock: FixedClock) -> Parts:
    settings = load_engine_settings()
    keys = Keys("sl")
    return Parts(
        settings,
        Recorder(RoutingScript(r, RoutingLua(settings, keys)), clock),
        Stats(r, clock, settings, keys),
        r,
        keys,
    )


def record(parts: Parts, e: Event) -> bool:
    return parts.recorder.record(
        e.kind,
        e.call,
        queue=e.queue,
        senior=e.senior,
        dialect="mandarin",
        agent=e.agent,
        wait_s=e.wait_s,
        at=e.at,
    )


# -- single events -----------------------------------------------------------------------------


def test_a_repeated_event_counts_once(parts: Parts) -> None:
    e = Event("answered", "CA1", "general", False, "a01", 12, T0)
    assert record(parts, e) is True
    assert record(parts, e) is False
    f = parts.stats.day()["general"]["other"]
    assert (f.answered, f.wait_ms, f.answered_sl) == (1, 12_000, 1)
    assert parts.r.xlen(parts.keys.stats_events()) == 1


def test_the_script_writes_exactly_the_statistics_keys_keys_py_names(
    r: RedisClient, clock: FixedClock
) -> None:
    """record_lib.lua spells no key name: it fills in keys.py's patterns, even for a prefix
    holding the pattern character."""
    settings, keys = load_engine_settings(), Keys("a%s")
    recorder = Recorder(RoutingScript(r, RoutingLua(settings, keys)), clock)
    recorder.record(
        "answered", "CA1", queue="general", senior=False, dialect="mandarin", agent="a01",
        wait_s=3, at=T0,
    )  # fmt: skip
    interval = interval_id(T0, settings)
    named = {
        keys.stats_call("CA1"),
        keys.stats_interval("general", interval),
        keys.stats_day("general", interval[:8]),
        keys.stats_total("general"),
        keys.stats_events(),
        keys.stats_agents(interval),
        keys.stats_dialects(interval),
    }
    assert {k for k in r.scan_iter(match="*:st:*")} == named


def test_an_answer_after_a_counted_abandon_overturns_it_across_intervals(parts: Parts) -> None:
    record(parts, Event("abandoned", "CA1", "senior", True, "", 40, T0 + timedelta(minutes=20)))
    assert parts.stats.day()["senior"]["senior"].abandoned == 1
    record(parts, Event("answered", "CA1", "senior", True, "a01", 15, T0))
    day = parts.stats.day()["senior"]["senior"]
    assert (day.abandoned, day.answered, day.answered_sl, day.max_abandon_ms) == (0, 1, 1, 0)
    later = parts.stats.intervals(T0.date(), T0.date(), "senior")
    by_start = {iv.start.astimezone(UTC): iv.figures["senior"] for iv in later}
    assert by_start[T0].answered == 1
    assert by_start[T0 + timedelta(minutes=15)].abandoned == 0


def test_a_day_asked_for_again_shows_a_late_correction_of_a_past_interval(parts: Parts) -> None:
    # The interval query keeps the figures of intervals it has read; a past interval that a
    # late answer overturns must not be answered from what was kept.
    def by_start() -> dict[datetime, Figures]:
        day = parts.stats.intervals(T0.date(), T0.date(), "senior")
        return {iv.start.astimezone(UTC): iv.figures["senior"] for iv in day}

    record(parts, Event("abandoned", "CA1", "senior", True, "", 40, T0 + timedelta(minutes=20)))
    record(parts, Event("answered", "CA2", "senior", True, "a01", 5, T0 + timedelta(minutes=20)))
    first = by_start()
    assert (first[T0 + timedelta(minutes=15)].abandoned, first[T0].answered) == (1, 0)
    assert by_start() == first  # asked again, unchanged: the same figures
    record(parts, Event("answered", "CA1", "senior", True, "a01", 15, T0))
    again = by_start()
    past = again[T0 + timedelta(minutes=15)]
    assert (past.abandoned, past.answered, past.max_abandon_ms) == (0, 1, 0)
    assert again[T0].answered == 1


def test_an_abandon_after_a_call_back_request_is_not_an_abandon(parts: Parts) -> None:
    record(parts, Event("callback_requested", "CA1", "senior", True, "", 70, T0))
    record(parts, Event("abandoned", "CA1", "senior", True, "", 71, T0))
    f = parts.stats.day()["senior"]["senior"]
    assert (f.abandoned, f.short_abandoned, f.cb_requested) == (0, 0, 1)


def test_short_abandons_stay_out_of_service_level_and_abandon_rate(parts: Parts) -> None:
    for i, wait in enumerate((2, 4.9, 5, 30)):
        record(parts, Event("entered", f"CA{i}", "general", False, "", 0, T0))
        record(parts, Event("abandoned", f"CA{i}", "general", False, "", wait, T0))
    record(parts, Event("entered", "CA9", "general", False, "", 0, T0))
    record(parts, Event("answered", "CA9", "general", False, "a01", 20, T0))
    f = parts.stats.day()["general"]["other"]
    assert (f.offered, f.short_abandoned, f.abandoned, f.answered_sl) == (5, 2, 2, 1)
    assert f.service_level == pytest.approx(1 / 3)  # answered within 20 s ÷ (1 + 2)
    assert f.abandon_rate == pytest.approx(2 / 3)  # 2 ÷ (5 − 2)
    assert f.asa_s == 20
    assert f.max_wait_s == 30


def test_service_level_threshold_is_per_queue(parts: Parts) -> None:
    record(parts, Event("answered", "CA1", "general", False, "a01", 25, T0))
    record(parts, Event("answered", "CA2", "complaints", False, "a01", 25, T0))
    day = parts.stats.day()
    assert day["general"]["other"].answered_sl == 0  # T = 20 s
    assert day["complaints"]["other"].answered_sl == 1  # T = 30 s
    assert day["all"]["other"].sl_seconds is None  # no single T across those queues
    assert day["general"]["all"].sl_seconds == 20


# -- the burst ---------------------------------------------------------------------------------


def burst(rng: random.Random, calls: int) -> list[Event]:
    """Events of `calls` calls over two hours, with every outcome the call flow produces."""
    return [e for n in range(calls) for e in one_call(rng, f"CA{n:04d}")]


def one_call(rng: random.Random, sid: str) -> list[Event]:
    queue = rng.choice(QUEUES)
    senior = queue == "senior" or rng.random() < 0.2
    start = T0 + timedelta(seconds=rng.uniform(0, 7200))

    def ev(kind: EventKind, wait: float, agent: str = "") -> Event:
        at = start + timedelta(seconds=wait)
        return Event(kind, sid, queue, senior, agent, round(wait, 3), at)

    events = [ev("entered", 0)]
    wait = rng.choice((rng.uniform(0, 25), rng.uniform(0, 400)))
    fate = rng.random()
    if fate < 0.5:
        if rng.random() < 0.3:
            events += [ev("offered", wait / 3, "a01"), ev("missed", wait / 2, "a01")]
        events += [ev("offered", max(0, wait - 1), "a02"), ev("answered", wait, "a02")]
        events.append(ev("completed", wait + rng.uniform(30, 300), "a02"))
        if rng.random() < 0.15:  # a late hangup callback that must not count
            events.append(ev("abandoned", wait + 1))
    elif fate < 0.8:
        events.append(ev("abandoned", wait))
    else:
        events += [ev("callback_requested", wait), ev("abandoned", wait + 2)]
        if rng.random() < 0.5:
            events.append(ev("callback_placed", wait + 60))
            if rng.random() < 0.5:
                events.append(ev("answered", wait + 70, "a03"))
            else:
                events.append(ev("callback_failed", wait + 90))
    if rng.random() < 0.1:  # an answer recorded after the abandon it overturns
        events.append(ev("answered", wait + 3, "a04"))
    return events


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_wait_ms: int = 0
    max_abandon_ms: int = 0
    max_abandon_bound_ms: int = 0  # including abandons later overturned (a max cannot shrink)


SIMPLE = {
    "entered": "offered",
    "offered": "offers",
    "missed": "missed",
    "completed": "completed",
    "callback_requested": "cb_requested",
    "callback_placed": "cb_placed",
    "callback_failed": "cb_failed",
}


def recount(
    entries: list[dict[str, str]], settings: EngineSettings
) -> dict[tuple[str, str, str], Tally]:
    """Aggregates by (queue, interval id | day, class) from the raw stream's events."""
    bounds = [b * 1000 for b in settings.stats.histogram_bounds]
    short_ms = settings.stats.short_abandon_seconds * 1000
    out: dict[tuple[str, str, str], Tally] = defaultdict(Tally)
    by_call: dict[str, list[dict[str, str]]] = defaultdict(list)
    for e in entries:
        by_call[e["call"]].append(e)

    def places(e: dict[str, str]) -> list[Tally]:
        iv = interval_id(datetime.fromtimestamp(int(e["at_ms"]) / 1000, UTC), settings)
        return [out[(e["queue"], key, e["class"])] for key in (iv, iv[:8], "total")]

    def bucket(w: int) -> int:
        return next((i for i, b in enumerate(bounds) if w < b), len(bounds))

    for events in by_call.values():
        kinds = {e["kind"] for e in events}
        for e in events:
            w = int(e["wait_ms"])
            if e["kind"] in SIMPLE:
                for t in places(e):
                    t.counts[SIMPLE[e["kind"]]] += 1
            elif e["kind"] == "answered":
                sl_ms = settings.queues[e["queue"]].sl_seconds * 1000
                for t in places(e):
                    t.counts["answered"] += 1
                    t.counts["wait_ms"] += w
                    t.counts[f"h{bucket(w)}"] += 1
                    t.counts["answered_sl"] += w <= sl_ms
                    t.max_wait_ms = max(t.max_wait_ms, w)
            elif e["kind"] == "abandoned":
                counted = "answered" not in kinds and "callback_requested" not in kinds
                for t in places(e):
                    if w >= short_ms:
                        t.max_abandon_bound_ms = max(t.max_abandon_bound_ms, w)
                    if not counted:
                        continue
                    t.counts[f"ah{bucket(w)}"] += 1
                    if w < short_ms:
                        t.counts["short_abandoned"] += 1
                    else:
                        t.counts["abandoned"] += 1
                        t.counts["abandon_wait_ms"] += w
                        t.max_abandon_ms = max(t.max_abandon_ms, w)
    return out


def assert_matches(stored: Figures, tally: Tally, where: str) -> None:
    c = tally.counts
    size = len(stored.histogram)
    expected = {
        **{name: c[name] for name in SIMPLE.values()},
        "answered": c["answered"],
        "answered_sl": c["answered_sl"],
        "abandoned": c["abandoned"],
        "short_abandoned": c["short_abandoned"],
        "wait_ms": c["wait_ms"],
        "abandon_wait_ms": c["abandon_wait_ms"],
        "max_wait_ms": tally.max_wait_ms,
        "histogram": tuple(c[f"h{i}"] for i in range(size)),
        "abandon_histogram": tuple(c[f"ah{i}"] for i in range(size)),
    }
    got = {name: getattr(stored, name) for name in expected}
    assert got == expected, where
    assert tally.max_abandon_ms <= stored.max_abandon_ms <= tally.max_abandon_bound_ms, where


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_aggregates_match_a_recount_after_a_burst_sent_twice_out_of_order(
    parts: Parts, seed: int
) -> None:
    rng = random.Random(seed)
    events = burst(rng, 150)
    unique = {(e.call, e.kind, e.agent if e.kind in ("offered", "missed") else "") for e in events}
    sent = events * 2
    rng.shuffle(sent)
    recorded = sum(record(parts, e) for e in sent)

    assert recorded == len(unique)  # every event once, every repeat refused
    entries = [fields for _, fields in parts.r.xrange(parts.keys.stats_events())]
    assert len(entries) == len(unique)
    tallies = recount(entries, parts.settings)
    day = T0.astimezone(parts.settings.tz).date()
    for queue in QUEUES:
        for klass, short in (("senior", "s"), ("other", "o")):
            assert_matches(
                parts.stats.day(day)[queue][klass], tallies[(queue, f"{day:%Y%m%d}", short)], "day"
            )
            assert_matches(
                parts.stats.totals()[queue][klass], tallies[(queue, "total", short)], "t"
            )
            for iv in parts.stats.intervals(day, day, queue):
                key = interval_id(iv.start, parts.settings)
                assert_matches(iv.figures[klass], tallies[(queue, key, short)], key)
    # Every queue's sum, read at once (raw counts summed, then parsed), equals the sum of
    # each queue's figures (Figures added), for every class, interval and the day.
    each = {q: parts.stats.intervals(day, day, q) for q in parts.settings.queues}
    for i, iv in enumerate(parts.stats.intervals(day, day)):
        for klass in ("senior", "other", "all"):
            added = functools.reduce(operator.add, (each[q][i].figures[klass] for q in each))
            assert iv.figures[klass] == added, (iv.start, klass)
    assert any(iv.figures["all"].answered for iv in parts.stats.intervals(day, day))


def test_interval_ids_follow_the_hotline_time_zone(parts: Parts) -> None:
    # 02:00 UTC is 10:00 in Shanghai; the last interval of a day is 23:45 local.
    assert interval_id(T0, parts.settings) == "20261123T1000"
    late = datetime(2026, 11, 23, 15, 59, tzinfo=UTC)
    assert interval_id(late, parts.settings) == "20261123T2345"
    assert interval_id(late + timedelta(minutes=1), parts.settings) == "20261124T0000"


def test_a_range_longer_than_one_read_finds_every_recorded_interval(parts: Parts) -> None:
    # Three days of every queue's intervals are more hashes than one gathering call reads.
    recorded = {}
    for day in range(3):
        for queue in parts.settings.queues:
            at = T0 + timedelta(days=day, minutes=15 * (day + 1))
            call = f"CA{day}{queue}"
            record(parts, Event("entered", call, queue, day == 1, "", 0, at))
            recorded[at, queue] = "senior" if day == 1 else "other"
    start = T0.date()
    per_queue = len(day_intervals(start, parts.settings)) * len(parts.settings.queues)
    assert 3 * per_queue > 1024  # more than one batch (queue_stats._GATHER_BATCH)
    everything = parts.stats.intervals(start, start + timedelta(days=2))
    found = {}
    for iv in everything:
        for klass in ("senior", "other"):
            if iv.figures[klass].offered:
                found[iv.start.astimezone(UTC)] = (iv.figures[klass].offered, klass)
    assert found == {at: (len(parts.settings.queues), klass) for (at, _), klass in recorded.items()}
    for queue in parts.settings.queues:
        one = parts.stats.intervals(start, start + timedelta(days=2), queue)
        hits = {iv.start.astimezone(UTC) for iv in one if iv.figures["all"].offered}
        assert hits == {at for (at, q) in recorded if q == queue}
