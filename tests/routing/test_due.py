"""When a tick next has work: what lets the simulator's ticker sleep between due times."""

from __future__ import annotations

from datetime import timedelta

from routing.clock import FixedClock
from routing.store import RedisClient
from tests.conftest import T0
from tests.routing.conftest import build, caller


def test_nothing_is_due_on_an_idle_hotline(r: RedisClient, clock: FixedClock) -> None:
    desk = build(r, clock)
    desk.agent("a01")
    assert desk.router.next_due() is None
    assert desk.router.tick_due() == ([], None)


def test_the_end_of_a_wrap_up_is_due_and_the_tick_then_hands_out_the_caller(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = build(r, clock, **{"routing.wrap_up_seconds": 15})
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.router.arrive("CA2", caller(), "general")  # waits: the only agent has CA1
    desk.clock.advance(30)
    desk.router.answered("CA1", "a01")
    desk.router.dial_result("CA1", "a01", "completed", 30)
    end = T0 + timedelta(seconds=45)
    assert desk.router.next_due() == end  # nobody is free: only the wrap-up's end
    desk.clock.advance(14.999)
    offers, due = desk.router.tick_due()
    assert offers == [] and due == end
    desk.clock.set(end)
    offers, due = desk.router.tick_due()
    assert [o.call_sid for o in offers] == ["CA2"]
    assert due is not None and due > end  # CA2's call going stale, later on


def test_a_waiting_caller_is_due_when_their_requirements_widen(
    r: RedisClient, clock: FixedClock
) -> None:
    """A senior no free agent may take yet: due when the dialect drops, then when the queue
    widens to any agent (config: 30 s and 45 s), and then the tick hands them out."""
    desk = build(r, clock)
    desk.agent("a01", skills="claims")  # not senior-trained
    desk.router.arrive("CA1", caller(senior=True), "senior")
    assert desk.router.next_due() == T0 + timedelta(seconds=30)
    desk.clock.set(T0 + timedelta(seconds=30))
    offers, due = desk.router.tick_due()
    assert offers == [] and due == T0 + timedelta(seconds=45)
    desk.clock.set(T0 + timedelta(seconds=45))
    offers, _ = desk.router.tick_due()
    assert [o.call_sid for o in offers] == ["CA1"]


def test_offers_not_yet_acted_on_are_due_now(r: RedisClient, clock: FixedClock) -> None:
    desk = build(r, clock, **{"routing.wrap_up_seconds": 0})
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.router.arrive("CA2", caller(), "general")
    desk.clock.advance(10)
    desk.router.answered("CA1", "a01")
    desk.router.dial_result("CA1", "a01", "completed", 10)  # a01 takes CA2: an offer to pull
    assert desk.router.next_due() == T0 + timedelta(seconds=10)
