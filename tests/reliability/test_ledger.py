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

`SILVERLINE_LEDGER_CALLS` sets the number of calls (default 1200: about 50 s on this 2-core
machine, replay included); the two-worker soak over real HTTP is bench/soak.py.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from dataclasses import dataclass

import pytest

from ivr.simulator.core.transport import FlaskTransport
from ivr.simulator.ledger import (
    Tape,
    context_of,
    double_answers,
    events,
    figures,
    mismatches,
    overlaps,
)
from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import Plan
from routing.store import connect
from tests.conftest import CLUSTER
from tests.helpers.hotline import offline_hotline
from tests.webhook_client import twiml_of

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

pytestmark = pytest.mark.slow  # one simulated day, shared by the module's tests


@dataclass
class Run:
    off: Offline
    tape: Tape


@pytest.fixture(scope="module")
def run(redis_server: str) -> Run:
    connect(redis_server, cluster=CLUSTER).flushall()
    settings = {
        "routing.wrap_up_seconds": 2,
        # the classic path, whose <Dial> legs and actions the checks below read; the
        # conference path's ledger is checked by bench/soak.py --connect conference
        "ivr.connect": "dial",
    }
    off = offline_hotline(
        redis_server, settings=settings, customers=(), seed=PLAN.seed, seconds_per_char=0.0
    )
    assert off.sim.webhooks is not None
    tape = Tape(off.sim.webhooks.transport)
    off.sim.webhooks.transport = tape
    simulate(off, PLAN)
    return Run(off, tape)


def test_every_routed_call_is_in_the_stream_once_and_the_aggregates_recount(run: Run) -> None:
    engine = run.off.engine
    assert all(r.status == 200 for r in run.tape.replies)
    for sent, reply in zip(run.tape.sent, run.tape.replies, strict=True):
        twiml_of(reply.body, context_of(sent.url))
    assert not run.off.sim.faults
    stream = events(engine)
    assert len(stream) < engine.settings.stats.stream_maxlen  # nothing trimmed away
    routed = {
        leg.sid
        for leg in run.off.sim.legs.values()
        if leg.party == "caller" and leg.direction == "inbound" and leg.routed_at is not None
    }
    assert len(routed) > CALLS * 0.95
    entered = Counter(ev["call"] for ev in stream if ev["kind"] == "entered")
    assert set(entered) == routed
    assert set(entered.values()) == {1}
    kinds = Counter(ev["kind"] for ev in stream)
    assert kinds["answered"] > CALLS / 2 and kinds["abandoned"] > 10  # both paths exercised
    assert mismatches(engine, stream) == []


def test_replaying_every_webhook_changes_no_figure(run: Run) -> None:
    engine = run.off.engine
    before = figures(engine)
    length = engine.redis.xlen(engine.keys.stats_events())
    client = FlaskTransport(run.off.app)
    for sent in run.tape.sent:
        reply = client.send(sent.method, sent.url, sent.form, sent.headers)
        assert reply.status == 200, sent.url
        twiml_of(reply.body, context_of(sent.url))
    assert engine.redis.xlen(engine.keys.stats_events()) == length
    assert figures(engine) == before


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
    # A dial that did not complete is one whose caller had hung up while the agent's phone
    # rang (its request's own CallStatus says so; the DialCallStatus Twilio reports then is
    # not documented).
    dials = [s.form for s in run.tape.sent if "/dial-result" in s.url]
    assert dials
    unfinished = [f for f in dials if f.get("DialCallStatus") != "completed"]
    assert all(f.get("CallStatus") == "completed" for f in unfinished), Counter(
        (f.get("DialCallStatus"), f.get("CallStatus")) for f in unfinished
    )

    # As the engine recorded it: one answer per call; no missed offer (agents here always
    # answer, and a caller who hangs up while the phone rings is not the agent's miss); no
    # agent's answered-to-completed spans overlap.
    stream = events(run.off.engine)
    assert double_answers(stream) == []
    assert [ev["call"] for ev in stream if ev["kind"] == "missed"] == []
    assert overlaps(stream) == []
