"""The offline ticker sleeps through the beats that would find nothing to do once no call is
live (`Offline.sleep_when_quiet`): whole scenarios come out exactly as with a beat every second.

The quarter of an hour a scenario lingers after its last call, a beat every virtual second,
was more than half of the scenario tests' CPU time (BENCHMARKS.md, "The suite's time"). Each
scenario here has quiet stretches in which something falls due (a wrap-up's end, a
call-back's retry, a lost report's look-up); it runs twice on a fresh store, and what the
offline Twilio saw, what the statistics stream holds and where the clock ended must match.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.ledger import Lossy, events
from ivr.simulator.offline import Offline
from routing.clock import FixedClock
from routing.store import RedisClient
from tests.helpers import T0
from tests.helpers.hotline import ask_for_a_call_back, offline_hotline
from tests.helpers.people import EVERYONE, SENIOR, STRANGER, YOUNG


def _wrap_up_then_a_quiet_gap(off: Offline) -> None:
    """Two callers for one agent (the second waits out the first's wrap-up), a third after
    a quiet quarter of an hour."""
    off.add_agent("a1", {"senior"}, aht_s=40.0)
    off.call(VirtualCaller(SENIOR, off.sim.rng))
    off.call(VirtualCaller(YOUNG, off.sim.rng, inputs=[Input(digits="0")]), delay=5.0)
    off.run(until=1200.0)  # a call placed ahead is live from the start: placed now instead
    off.call(VirtualCaller(STRANGER, off.sim.rng, inputs=[Input(digits="0")]))
    off.run()


def _a_call_back_nobody_answers_is_retried(off: Offline) -> None:
    """A senior asks for a call-back and is not there for it: retried after a quiet wait."""
    caller = VirtualCaller(SENIOR, off.sim.rng, accept_callback=True, answers="nobody")
    off.sim.people.add_caller(caller)
    ask_for_a_call_back(off, caller)
    off.run(until=400)
    off.add_agent("a1", {"senior"}, aht_s=30.0)
    off.run()


def _lost_end_reports_are_looked_up(off: Offline) -> None:
    """Both end reports of a conversation are lost: the call is looked up once stale."""
    assert off.sim.webhooks is not None
    off.sim.webhooks.transport = Lossy(
        off.sim.webhooks.transport, lambda url: "/voice/dial-result" in url or "status" in url
    )
    off.add_agent("a1", {"senior"}, aht_s=30.0)
    off.call(VirtualCaller(SENIOR, off.sim.rng))
    off.run()


SCENARIOS: dict[str, tuple[Callable[[Offline], None], dict[str, object]]] = {
    "wrap-up": (_wrap_up_then_a_quiet_gap, {"routing.wrap_up_seconds": 20}),
    "call-back retry": (
        _a_call_back_nobody_answers_is_retried,
        {"routing.callback_offer_after": 20, "routing.callback_retry_seconds": 300},
    ),
    "lost reports": (
        _lost_end_reports_are_looked_up,
        {"routing.reconcile_after": 60, "ivr.connect": "dial"},
    ),
}


def _seen(off: Offline) -> dict[str, Any]:
    return {
        "legs": [dataclasses.asdict(leg) for leg in off.sim.legs.values()],
        "events": events(off.engine),
        "faults": list(off.sim.faults),
        "ended_at": off.sim.now(),
    }


@pytest.mark.parametrize("name", SCENARIOS)
def test_sleeping_through_quiet_beats_changes_nothing_a_scenario_sees(
    r: RedisClient, redis_url: str, name: str
) -> None:
    scenario, settings = SCENARIOS[name]
    seen, beats = [], []
    for quiet in (False, True):
        r.flushall()
        off = offline_hotline(
            redis_url, FixedClock(T0), settings=settings, customers=EVERYONE, seed=8
        )
        off.sleep_when_quiet = quiet
        scenario(off)
        seen.append(_seen(off))
        beats.append(off.beats)
    every_second, quiet_run = seen
    assert len(every_second["legs"]) >= 2 and every_second["events"]  # calls were made
    assert quiet_run == every_second
    assert beats[1] * 2 < beats[0], beats  # and most beats were slept through
