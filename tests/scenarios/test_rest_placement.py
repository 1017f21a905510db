"""The agent's leg on the conference path, placed through a REST API that is slow, times out
or is limited to the account's calls per second (issue 32, points 4 and 5): whole calls
through the real webhooks and the offline Twilio, which queues created calls at 1 CPS and
lets a create whose answer never came exist all the same (ivr/simulator/core/rest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from app import create_app
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import Plan
from routing.callers.caller import Customer
from routing.clock import FixedClock
from routing.exceptions import SettingsError
from tests.conftest import CLUSTER
from tests.helpers.hotline import offline_hotline

SENIOR = "+8613800000001"  # born 1954: 72 on the test date


def _hotline(redis_url: str, clock: FixedClock, **overrides: object) -> Offline:
    off = Offline(
        create_app,
        {
            "redis.url": redis_url,
            "redis.cluster": CLUSTER,
            "ivr.connect": "conference",
            **overrides,
        },
        clock=clock,
        seed=3,
    )
    off.engine.directory.save(Customer("c1", "陈伯", date(1954, 3, 1), "mandarin", (SENIOR,)))
    return off


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    return _hotline(redis_url, clock)


def legs_to(off: Offline, address: str) -> list[Leg]:
    """Every leg that rang `address`: created through REST or a <Dial>'s child."""
    return [leg for leg in off.sim.legs.values() if leg.to == address]


def first_heard(leg: Leg) -> float:
    """Seconds from the call's start to the first thing the caller heard."""
    return min(x.at for x in leg.transcript if x.party == "caller" and x.kind == "say") - (
        leg.created_at
    )


def slow_once(off: Offline, seconds: float) -> Callable[[], int]:
    """Make the next REST request take `seconds`, the ones after it none; how many were sent."""
    rest = off.rest
    sent = [0]
    network = rest._network

    def once(timeout: float | None) -> None:
        sent[0] += 1
        off.sim.rest_latency_s = seconds if sent[0] == 1 else 0.0
        network(timeout)

    rest._network = once  # type: ignore[method-assign]
    return lambda: sent[0]


def test_the_callers_first_answer_never_waits_for_the_agents_leg(hotline: Offline) -> None:
    # REST answering in 4 s, inside twilio.rest_timeout (5 s): the leg placed inside the
    # webhook kept the senior in silence for those 4 s before the greeting.
    hotline.sim.rest_latency_s = 4.0
    agent = hotline.add_agent("elder", {"senior"}, aht_s=60.0, answer_delay_s=(3.0, 3.0))
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    assert not hotline.sim.faults
    assert first_heard(leg) < 0.5, first_heard(leg)
    assert leg.bridged_at is not None and agent.calls == 1
    assert len(legs_to(hotline, "client:elder")) == 1
    # the leg exists once the create reaches Twilio (4 s), then rings 3 s, then the whisper
    assert leg.bridged_at - leg.created_at <= 8.5


def test_a_create_that_timed_out_gives_the_agent_one_leg_for_the_caller(
    hotline: Offline,
) -> None:
    # The create takes 6 s, past twilio.rest_timeout: twilio-python gives up, yet Twilio made
    # the call. Taken for a failure, it left the agent's phone ringing while the caller was
    # <Dial>ed to the same agent: two legs for one caller.
    sent = slow_once(hotline, 6.0)
    agent = hotline.add_agent("elder", {"senior"}, aht_s=60.0, answer_delay_s=(3.0, 3.0))
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    assert sent() >= 2  # the create, then the look-up that found its leg
    assert not hotline.sim.faults
    [ring] = legs_to(hotline, "client:elder")
    assert ring.direction == "outbound-api" and leg.bridged_at is not None
    assert agent.calls == 1 and first_heard(leg) < 0.5
    info = hotline.engine.router.call(leg.sid)
    assert info is not None and info.state == "done" and info.agent_leg == ring.sid


def test_a_caller_is_not_rung_a_second_leg_when_the_create_and_its_look_up_time_out(
    hotline: Offline,
) -> None:
    # REST too slow for the create and for the look-up after it: nobody can say whether the
    # leg exists, so the caller, at their room's door, is <Dial>ed to the agent, and the leg
    # Twilio made after all is ended when it reaches the room (never a caller held in a room
    # only REST can take them out of). Before, the agent's phone rang once for the create
    # nobody recorded, and again for each retry.
    hotline.sim.rest_latency_s = 6.0
    agent = hotline.add_agent("elder", {"senior"}, aht_s=60.0, answer_delay_s=(3.0, 3.0))
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run(until=0.5)
    hotline.sim.rest_latency_s = 0.0
    hotline.run()
    assert not hotline.sim.faults
    orphan, dialled = sorted(legs_to(hotline, "client:elder"), key=lambda x: x.direction)
    assert (orphan.direction, dialled.direction) == ("outbound-api", "outbound-dial")
    assert "connected to client:elder" in [x.text for x in leg.transcript]
    assert orphan.status == "completed" and orphan.ended_at is not None
    assert not [x for x in orphan.transcript if x.text.startswith("connected to")]
    assert leg.bridged_at is not None and leg.bridged_at - leg.created_at < 15.0
    info = hotline.engine.router.call(leg.sid)
    assert info is not None and info.state == "done" and info.agent_leg == ""
    day = hotline.engine.stats.day()["all"]["senior"]
    assert (day.answered, day.connected, day.abandoned) == (1, 1, 0)
    assert agent.calls >= 1


def _ring_waits(off: Offline) -> list[float]:
    """For each agent's leg created through REST: seconds between its create and its ringing."""
    waits = []
    for leg in off.sim.legs.values():
        if leg.direction == "outbound-api" and leg.to.startswith("client:"):
            rang = [x.at for x in leg.transcript if x.kind == "event" and x.text.startswith("ring")]
            waits.append(rang[0] - leg.created_at)
    return waits


def test_no_agents_leg_waits_for_the_accounts_calls_per_second(hotline: Offline) -> None:
    # Three seniors within a second, three agents free, an account of 1 call a second: each
    # create answered with a QueueTime, the second and third agents rang 1 s and 2 s late.
    # Past the first, the callers are connected by <Dial>, which Twilio does not limit.
    agents = [
        hotline.add_agent(f"a{i}", {"senior"}, aht_s=60.0, answer_delay_s=(3.0, 3.0))
        for i in range(3)
    ]
    hotline.engine.directory.save(
        Customer("c2", "王婆", date(1950, 1, 1), "mandarin", ("+8613800000002",))
    )
    hotline.engine.directory.save(
        Customer("c3", "李伯", date(1951, 1, 1), "mandarin", ("+8613800000003",))
    )
    callers = [
        hotline.call(VirtualCaller(number, hotline.sim.rng), delay=0.3 * i)
        for i, number in enumerate((SENIOR, "+8613800000002", "+8613800000003"))
    ]
    hotline.run()
    assert not hotline.sim.faults
    assert _ring_waits(hotline) and max(_ring_waits(hotline)) == 0.0, _ring_waits(hotline)
    queue_times = [
        r for r in hotline.rest.api.requests if r[0] == "POST" and r[1].endswith("/Calls.json")
    ]
    assert len(queue_times) == 1  # one agent leg a second: the others by <Dial>
    assert all(c.bridged_at is not None for c in callers)
    assert sum(a.calls for a in agents) == 3
    assert all(c.bridged_at - c.created_at < 12.0 for c in callers if c.bridged_at)


def test_calls_per_second_is_checked_at_start_up(redis_url: str, clock: FixedClock) -> None:
    with pytest.raises(SettingsError, match="twilio.calls_per_second"):
        _hotline(redis_url, clock, **{"twilio.calls_per_second": -1})


def test_a_caller_pulled_from_the_queue_without_a_free_second_is_dialled_not_left_in_a_room(
    redis_url: str,
) -> None:
    # One agent, short calls on a 1-CPS account: a senior assigned from the queue within the
    # second the last leg took is pulled to be <Dial>ed. Twilio requests both the pull's URL
    # and the <Enqueue> action ("redirected"); the offline Twilio runs the URL's answer. The
    # action's request had claimed the agent for a <Dial>, and the URL's then put the caller
    # in a room nobody would ring: held there for good, hearing "connecting you" (this run's
    # fourth caller; the whole-app Erlang C run never ended).
    settings = {"routing.wrap_up_seconds": 0}
    settings |= {"business_hours.open": "00:00", "business_hours.close": "00:00"}
    off = offline_hotline(redis_url, settings=settings, customers=(), seed=2, seconds_per_char=0.0)
    plan = Plan(20, 0.125, 1, 1.0, 4.0, patience_s=600.0, seed=2, wrap_up_s=0)
    outcomes = simulate(off, plan)
    assert not off.sim.faults
    assert all(o.answered is not None for o in outcomes), [o.answered for o in outcomes]
