"""Nothing lost, nothing doubled: the statistics agree with the raw stream and survive replays.

Over a thousand simulated calls run through the real webhooks (the offline Twilio against
create_app, on a virtual clock): seniors straight through, others by the menu, some giving up
while they wait. Then
- every call that reached routing appears exactly once in the event stream, and recounting the
  stream by the rules of docs/statistics.md gives exactly the aggregates Stats reads;
- every webhook and status callback is sent a second time, signed as before, and no figure
  moves (aggregates, stream);
- no agent was on two calls at once and no caller was put through twice, both as the simulator
  saw it (legs) and as the engine recorded it (events).

`SILVERLINE_LEDGER_CALLS` sets the number of calls (default 1200, about 40 s here); the
two-worker soak over real HTTP is bench/soak.py.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import Plan
from ivr.simulator.transport import FlaskTransport, Reply, Transport
from routing.clock import FixedClock
from routing.engine import Engine
from routing.statsquery import CLASSES, Stats
from routing.store import connect
from tests.conftest import CLUSTER, T0
from tests.reliability.servers import context_of, twiml_of

CALLS = int(os.environ.get("SILVERLINE_LEDGER_CALLS", "1200"))
PLAN = Plan(
    calls=CALLS,
    rate=0.6,
    agents=10,
    senior_share=0.4,
    aht_s=12.0,
    patience_s=45.0,
    seed=17,
    answer_delay_s=(1.0, 4.0),
)
COUNTED = (
    "offered",
    "answered",
    "answered_sl",
    "abandoned",
    "short_abandoned",
    "completed",
    "wait_ms",
    "abandon_wait_ms",
    "max_wait_ms",
)


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    form: dict[str, str]
    headers: dict[str, str]


class Tape:
    """A transport that keeps every request it carries, to be sent again later."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: list[Sent] = []
        self.replies: list[Reply] = []

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        self.sent.append(Sent(method, url, dict(form), dict(headers)))
        reply = self.inner.send(method, url, form, headers)
        self.replies.append(reply)
        return reply


@dataclass
class Run:
    off: Offline
    tape: Tape


@pytest.fixture(scope="module")
def run(redis_server: str) -> Run:
    connect(redis_server, cluster=CLUSTER).flushall()
    off = Offline(
        {"redis.url": redis_server, "redis.cluster": CLUSTER, "routing.wrap_up_seconds": 2},
        clock=FixedClock(T0),
        seed=PLAN.seed,
        seconds_per_char=0.0,
    )
    assert off.sim.webhooks is not None
    tape = Tape(off.sim.webhooks.transport)
    off.sim.webhooks.transport = tape
    simulate(off, PLAN)
    return Run(off, tape)


def _events(engine: Engine) -> list[dict[str, str]]:
    entries = engine.redis.xrange(engine.keys.stats_events())
    return [fields for _, fields in entries]


def _figures(engine: Engine) -> dict[str, Any]:
    stats = Stats(engine.redis, engine.clock, engine.settings, engine.keys)
    totals = stats.totals()
    day = stats.day()
    return {
        "totals": {q: {c: totals[q][c].as_dict() for c in CLASSES} for q in totals},
        "day": {q: {c: day[q][c].as_dict() for c in CLASSES} for q in day},
    }


def _recount(engine: Engine, events: list[dict[str, str]]) -> dict[tuple[str, str], Counter[str]]:
    """Aggregates per (queue, class), rebuilt from the stream by the documented rules."""
    settings = engine.settings
    short_ms = settings.stats.short_abandon_seconds * 1000
    by_call: dict[str, list[dict[str, str]]] = defaultdict(list)
    for ev in events:
        by_call[ev["call"]].append(ev)
    out: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for evs in by_call.values():
        answered = [e for e in evs if e["kind"] == "answered"]
        callback = any(e["kind"] == "callback_requested" for e in evs)
        for ev in evs:
            counts = out[(ev["queue"], ev["class"])]
            wait = int(ev["wait_ms"])
            if ev["kind"] == "entered":
                counts["offered"] += 1
            elif ev["kind"] == "completed":
                counts["completed"] += 1
            elif ev["kind"] == "answered":
                sl_ms = settings.queues[ev["queue"]].sl_seconds * 1000
                counts["answered"] += 1
                counts["wait_ms"] += wait
                counts["answered_sl"] += wait <= sl_ms
                counts["max_wait_ms"] = max(counts["max_wait_ms"], wait)
            elif ev["kind"] == "abandoned" and not answered and not callback:
                if wait < short_ms:
                    counts["short_abandoned"] += 1
                else:
                    counts["abandoned"] += 1
                    counts["abandon_wait_ms"] += wait
    return out


def test_every_routed_call_is_in_the_stream_once_and_the_aggregates_recount(run: Run) -> None:
    engine = run.off.engine
    assert all(r.status == 200 for r in run.tape.replies)
    for sent, reply in zip(run.tape.sent, run.tape.replies, strict=True):
        twiml_of(reply.body, context_of(sent.url))
    assert not run.off.sim.faults
    events = _events(engine)
    assert len(events) < engine.settings.stats.stream_maxlen  # nothing trimmed away
    routed = {
        leg.sid
        for leg in run.off.sim.legs.values()
        if leg.party == "caller" and leg.direction == "inbound" and leg.routed_at is not None
    }
    assert len(routed) > CALLS * 0.95  # a few hear the menu's silence path; most are routed
    entered = Counter(ev["call"] for ev in events if ev["kind"] == "entered")
    assert set(entered) == routed
    assert set(entered.values()) == {1}
    kinds = Counter(ev["kind"] for ev in events)
    assert kinds["answered"] > CALLS / 2 and kinds["abandoned"] > 10  # both paths exercised

    recount = _recount(engine, events)
    totals = Stats(engine.redis, engine.clock, engine.settings, engine.keys).totals()
    for queue in engine.settings.queues:
        for klass, name in (("s", "senior"), ("o", "other")):
            figures = totals[queue][name]
            got = {k: getattr(figures, k) for k in COUNTED}
            assert got == {k: recount[(queue, klass)][k] for k in COUNTED}, (queue, name)


def test_replaying_every_webhook_changes_no_figure(run: Run) -> None:
    engine = run.off.engine
    before = _figures(engine)
    stream = engine.redis.xlen(engine.keys.stats_events())
    client = FlaskTransport(run.off.app)
    for sent in run.tape.sent:
        reply = client.send(sent.method, sent.url, sent.form, sent.headers)
        assert reply.status == 200, sent.url
        twiml_of(reply.body, context_of(sent.url))
    assert engine.redis.xlen(engine.keys.stats_events()) == stream
    assert _figures(engine) == before


def test_no_agent_on_two_calls_and_no_caller_put_through_twice(run: Run) -> None:
    legs = list(run.off.sim.legs.values())
    # As the simulator saw it: each agent's conversations never overlap in time.
    talks: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for leg in legs:
        if leg.direction == "outbound-dial" and leg.answered_at is not None:
            assert leg.ended_at is not None
            talks[leg.to].append((leg.answered_at, leg.ended_at))
    assert len(talks) == PLAN.agents
    for agent, spans in talks.items():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"{agent} on two calls at {start}"
    answered_children = Counter(
        leg.parent_sid
        for leg in legs
        if leg.direction == "outbound-dial" and leg.answered_at is not None
    )
    assert set(answered_children.values()) == {1}, "a caller was put through twice"
    # No offer went to an agent already talking: their phone would have rung out (busy).
    results = [s.form.get("DialCallStatus") for s in run.tape.sent if "/dial-result" in s.url]
    assert results and set(results) <= {"completed", "canceled"}, Counter(results)

    # As the engine recorded it: one answer per call; a missed offer only where the caller
    # hung up while the agent's phone rang; each agent's answered-to-completed spans disjoint.
    events = _events(run.off.engine)
    answers = Counter(ev["call"] for ev in events if ev["kind"] == "answered")
    assert set(answers.values()) == {1}
    canceled = {
        s.form["CallSid"]
        for s in run.tape.sent
        if "/dial-result" in s.url and s.form.get("DialCallStatus") == "canceled"
    }
    assert {ev["call"] for ev in events if ev["kind"] == "missed"} <= canceled
    spans_ms: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for ev in events:
        if ev["kind"] in ("answered", "completed"):
            spans_ms[ev["agent"]].setdefault(ev["call"], []).append(int(ev["at_ms"]))
    for agent, calls in spans_ms.items():
        spans = sorted((min(t), max(t)) for t in calls.values())
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, f"{agent} recorded on two calls"
