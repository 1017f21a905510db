"""Property: whatever reports are lost and however often the app restarts, nobody is stranded.

Calls run through the real app and the offline Twilio (its REST API answers
`calls(sid).fetch()`). Hypothesis picks which report webhooks are lost (the <Dial> action, the
queue hang-up, the status callback, the call-back status) and when the app restarts on the
same Redis. Once every call has ended on Twilio's side and `routing.reconcile_after` has
passed, no agent may be offered or on a call, nobody may be left waiting, and the
aggregates must equal the recount of the event stream.
"""

from __future__ import annotations

import itertools
import random

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.ledger import Lossy, events, is_report, mismatches
from ivr.simulator.offline import Offline
from tests.conftest import CLUSTER
from tests.helpers.hotline import offline_hotline
from tests.profiles import examples

RECONCILE_AFTER = 30
PROPERTY = settings(
    max_examples=examples(25),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _hotline(redis_url: str, seed: int) -> Offline:
    if CLUSTER:
        redis.RedisCluster.from_url(redis_url).flushall(target_nodes=redis.RedisCluster.PRIMARIES)
    else:
        redis.Redis.from_url(redis_url).flushall()
    settings = {
        "routing.reconcile_after": RECONCILE_AFTER,
        "routing.callback_offer_after": 20,
        # agents set away after missed offers would leave a patient caller waiting for ever
        "routing.max_missed_offers": 1000,
    }
    off = offline_hotline(
        redis_url, settings=settings, customers=(), seed=seed, beat_s=2.0, linger_s=150.0
    )
    for n in range(2):
        off.add_agent(f"a{n}", {"senior"}, aht_s=40.0, miss_probability=0.3)
    return off


def _callers(off: Offline, rng: random.Random, count: int) -> None:
    for i in range(count):
        keys = [Input(digits=off.engine.settings.ivr.agent_key)]
        caller = VirtualCaller(
            f"+8613700000{i:03d}",
            off.sim.rng,
            inputs=keys,
            patience_s=rng.choice([10.0, 60.0, 900.0]),
            accept_callback=False,
        )
        off.call(caller, delay=rng.uniform(0, 60))


def _lose(off: Offline, drops: list[bool]) -> Lossy:
    pick = itertools.cycle(drops)
    assert off.sim.webhooks is not None
    lossy = Lossy(off.sim.webhooks.transport, lambda url: is_report(url) and next(pick))
    off.sim.webhooks.transport = lossy
    return lossy


def _restart(off: Offline, lossy: Lossy) -> None:
    off.restart()
    assert off.sim.webhooks is not None
    lossy.inner = off.sim.webhooks.transport
    off.sim.webhooks.transport = lossy


@pytest.mark.slow
@PROPERTY
@given(
    drops=st.lists(st.booleans(), min_size=1, max_size=12),
    restarts=st.lists(st.floats(0.0, 200.0), max_size=2),
    calls=st.integers(1, 5),
    seed=st.integers(0, 10_000),
)
def test_once_every_call_has_ended_and_reconcile_after_has_passed_nobody_is_stranded(
    redis_url: str, drops: list[bool], restarts: list[float], calls: int, seed: int
) -> None:
    off = _hotline(redis_url, seed)
    lossy = _lose(off, drops)
    for at in restarts:
        off.sim.sched.call_later(at, _restart, off, lossy)
    _callers(off, random.Random(seed), calls)
    off.run()

    assert all(leg.ended for leg in off.sim.legs.values())
    held = {
        a: s for a, s in off.engine.agents.states().items() if s.state in ("offered", "on_call")
    }
    assert held == {}, (held, [s.url for s in lossy.lost])
    snapshot = off.engine.router.snapshot()
    assert sum(q.waiting for q in snapshot.queues.values()) == 0
    stream = events(off.engine)
    assert mismatches(off.engine, stream) == []
    entered = [e["call"] for e in stream if e["kind"] == "entered"]
    assert len(entered) == len(set(entered))
