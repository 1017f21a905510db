"""routing.senior_wrap_up_break: a waiting senior ends a senior-trained agent's wrap-up once it
has lasted that long; nobody else does, nor before then."""

from __future__ import annotations

from routing.clock import FixedClock
from routing.queues.router import Offer
from routing.store import RedisClient
from tests.routing.conftest import Desk, build, caller


def busy_then_wrapping(desk: Desk, skills: str = "senior") -> None:
    """a01 talks to a caller for 60 s, then wraps up (15 s, config/silverline.toml)."""
    desk.agent("a01", skills=skills)
    trained = "senior" in skills  # the senior reserve keeps a trained agent from others
    first = desk.router.arrive(
        "CA0", caller(senior=trained, number="+8613900000000"), "senior" if trained else "general"
    )
    assert isinstance(first, Offer)
    desk.router.answered("CA0", "a01")
    desk.clock.advance(60)
    assert desk.router.dial_result("CA0", "a01", "completed", 60) is None
    assert desk.agents.state("a01").state == "wrap_up"


def test_a_senior_ends_a_wrap_up_once_it_has_lasted_the_break(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = build(r, clock, **{"routing.senior_wrap_up_break": 5})
    busy_then_wrapping(desk)
    desk.clock.advance(3)
    waiting = desk.router.arrive("CA-S", caller(senior=True), "senior")
    assert not isinstance(waiting, Offer)  # 3 s into the wrap-up: it goes on
    desk.clock.advance(2)
    [offer] = desk.router.tick()  # 5 s: the senior ends it
    assert (offer.call_sid, offer.agent.id) == ("CA-S", "a01")
    assert desk.router.next_due() is not None


def test_others_and_untrained_agents_wait_for_the_wrap_up_to_end(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = build(r, clock, **{"routing.senior_wrap_up_break": 5})
    busy_then_wrapping(desk)
    desk.clock.advance(6)
    younger = desk.router.arrive("CA-Y", caller(number="+8613900000001"), "general")
    assert not isinstance(younger, Offer)  # only seniors break a wrap-up
    assert desk.agents.state("a01").state == "wrap_up"

    other = build(r, clock, prefix="untrained", **{"routing.senior_wrap_up_break": 5})
    busy_then_wrapping(other, skills="")
    other.clock.advance(6)
    senior = other.router.arrive("CA-S", caller(senior=True), "senior")
    assert not isinstance(senior, Offer)  # a01 is not senior-trained: their wrap-up stands
    assert other.agents.state("a01").state == "wrap_up"


def test_zero_turns_it_off(r: RedisClient, clock: FixedClock) -> None:
    desk = build(r, clock, **{"routing.senior_wrap_up_break": 0})
    busy_then_wrapping(desk)
    desk.clock.advance(10)
    assert not isinstance(desk.router.arrive("CA-S", caller(senior=True), "senior"), Offer)
    desk.clock.advance(5)  # the wrap-up ends on its own
    [offer] = desk.router.tick()
    assert offer.call_sid == "CA-S"
