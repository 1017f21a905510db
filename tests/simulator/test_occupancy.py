"""The occupancy meter against agent states driven through the real engine, second by second."""

from __future__ import annotations

import pytest

from ivr.settings import load_settings
from ivr.simulator.core.scheduler import Scheduler
from ivr.simulator.occupancy import Occupancy
from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import Plan, arrival_span
from routing.callers.caller import Caller
from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.queues.router import Offer
from routing.store import RedisClient
from tests.conftest import CLUSTER, T0
from tests.helpers.hotline import offline_hotline

WITHHELD_SENIOR = Caller("", None, None, 70, "mandarin", True)  # a senior who withheld the number


@pytest.fixture
def desk(r: RedisClient, redis_url: str) -> tuple[Engine, Scheduler, Occupancy]:
    settings = load_settings(
        {"redis.url": redis_url, "redis.cluster": CLUSTER, "routing.wrap_up_seconds": 10}
    )
    sched = Scheduler(FixedClock(T0))
    engine = Engine(r, sched.clock, settings)
    engine.agents.save(Agent("a1", "A", "client:a1", frozenset({"senior"}), ("mandarin",)))
    engine.router.set_agent_state("a1", "available")
    return engine, sched, Occupancy(engine.agents, sched)


def at(sched: Scheduler, second: float) -> None:
    sched.clock.advance(second - sched.now())


def offer(engine: Engine, sid: str) -> None:
    assert isinstance(engine.router.arrive(sid, WITHHELD_SENIOR, "senior"), Offer)


def test_ringing_talk_and_wrap_up_count_as_busy_and_away_as_not_staffed(
    desk: tuple[Engine, Scheduler, Occupancy],
) -> None:
    engine, sched, meter = desk
    meter.observe()  # 0 s: available
    at(sched, 20)
    meter.observe()
    offer(engine, "CA1")  # rings from 20 s
    at(sched, 23)
    meter.observe()
    assert engine.router.answered("CA1", "a1") is not None  # talks from 23 s
    at(sched, 83)
    meter.observe()
    engine.router.dial_result("CA1", "a1", "completed", 60)  # wraps up until 93 s
    at(sched, 100)
    meter.observe()  # the wrap-up ran out at 93 s: free since then
    engine.router.set_agent_state("a1", "away")
    at(sched, 110)
    meter.observe()
    engine.router.set_agent_state("a1", "available")
    at(sched, 120)
    meter.observe()
    assert meter.share(0, 120) == pytest.approx(73 / 110)  # busy 20-93; away 100-110
    assert meter.share(20, 93) == pytest.approx(1.0)
    assert meter.share(100, 110) is None  # nobody staffed


def test_a_free_spell_between_two_reads_is_found_from_the_wrap_ups_end(
    desk: tuple[Engine, Scheduler, Occupancy],
) -> None:
    """A live server's ticker can end a free spell between two reads (no read at 93 or 95)."""
    engine, sched, meter = desk
    meter.observe()
    at(sched, 20)
    offer(engine, "CA1")
    assert engine.router.answered("CA1", "a1") is not None
    at(sched, 50)
    meter.observe()  # talking since 20 s
    at(sched, 80)
    engine.router.dial_result("CA1", "a1", "completed", 60)
    at(sched, 81)
    meter.observe()  # wrapping up until 90 s
    at(sched, 95)
    offer(engine, "CA2")  # rings from 95 s, unseen until 100 s
    at(sched, 100)
    meter.observe()
    assert meter.share(0, 100) == pytest.approx((70 + 5) / 100)


def _offline(redis_url: str, wrap_up_s: int) -> Offline:
    # Wrap-ups run their length here: no senior ends one (routing.senior_wrap_up_break).
    settings = {"routing.senior_wrap_up_break": 0, "routing.wrap_up_seconds": wrap_up_s}
    return offline_hotline(redis_url, settings=settings, customers=())


def test_a_run_holds_each_agent_from_the_ring_to_the_end_of_the_runs_wrap_up(
    redis_url: str,
) -> None:
    """simulate(): busy spells run from the offer to the hang-up plus the plan's wrap-up."""
    offline = _offline(redis_url, 7)
    plan = Plan(6, rate=0.002, agents=1, senior_share=1.0, aht_s=20.0, seed=5, wrap_up_s=7)
    outcomes = simulate(offline, plan)
    assert all(o.answered is not None and o.ended is not None for o in outcomes)
    assert any(o.waited for o in outcomes)  # one waits for the agent's wrap-up to end
    busy = [(start, end) for kind, start, end in offline.occupancy.spells if kind == "busy"]
    # Held from the offer, which comes between the call's first webhook and the pick-up
    # (the engine keeps milliseconds).
    assert len(busy) == len(outcomes)
    for (start, _), o in zip(busy, outcomes, strict=True):
        assert o.arrived - 0.001 <= start <= (o.answered or 0)
    # ... to the agent's hang-up (a senior may stay on after it, hearing the complaint
    # channel) plus the wrap-up
    hang_ups = sorted(
        x.ended_at or 0 for x in offline.sim.legs.values() if x.to.startswith("client:")
    )
    # (the engine hears of the hang-up when its status callback arrives: up to the offline
    # Twilio's delivery delay later, callback_jitter_s)
    late = offline.sim.callback_jitter_s
    assert all(
        hang_up + 7 - 1e-3 <= end <= hang_up + 7 + late + 1e-3
        for (_, end), hang_up in zip(busy, hang_ups, strict=True)
    ), (busy, hang_ups)
    start, stop = arrival_span(outcomes)
    held = sum(min(end, stop) - max(begin, start) for begin, end in busy if end > start)
    assert offline.occupancy.share(start, stop) == pytest.approx(held / (stop - start))


def test_a_plan_whose_wrap_up_is_not_the_apps_is_refused(redis_url: str) -> None:
    plan = Plan(1, rate=1.0, agents=1, senior_share=1.0, wrap_up_s=15)
    with pytest.raises(ValueError, match="wrap-up"):
        simulate(_offline(redis_url, 0), plan)
