"""Stale calls in the engine: claimed once, closed by Twilio's word or the hard bound, pruned."""

from __future__ import annotations

from routing.clock import FixedClock
from routing.queues.router import Offer
from routing.store import RedisClient
from tests.routing.conftest import Desk, build, caller

AFTER, MAX = 60, 600


def desk_with_a_call(r: RedisClient, clock: FixedClock, answered: bool = True) -> Desk:
    desk = build(r, clock, **{"routing.reconcile_after": AFTER, "routing.max_call_seconds": MAX})
    desk.agent("a1", "senior")
    offer = desk.router.arrive("CA1", caller(senior=True), "senior")
    assert isinstance(offer, Offer)
    if answered:
        assert desk.router.answered("CA1", "a1") is not None
    return desk


def test_a_call_heard_of_recently_is_not_stale_and_a_claimed_one_is_not_claimed_twice(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = desk_with_a_call(r, clock)
    clock.advance(AFTER - 1)
    assert desk.router.stale_calls(10) == []
    clock.advance(1)
    assert [s.call_sid for s in desk.router.stale_calls(10)] == ["CA1"]
    assert desk.router.stale_calls(10) == []  # another server's beat at the same moment
    clock.advance(AFTER)
    assert [s.call_sid for s in desk.router.stale_calls(10)] == ["CA1"]  # asked again later


def test_a_final_status_closes_the_call_as_its_status_callback_would(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = desk_with_a_call(r, clock)
    clock.advance(AFTER)
    desk.router.reconcile("CA1", "in-progress")  # still talking: nothing changes
    assert desk.agents.state("a1").state == "on_call"
    desk.router.reconcile("CA1", "completed")
    assert desk.agents.state("a1").state == "wrap_up"
    assert [e["kind"] for e in desk.events() if e["kind"] in ("completed", "unreported")] == [
        "completed"
    ]
    assert desk.router.stale_calls(10) == []  # over: no longer a live call


def test_unreported_closes_only_after_max_call_seconds_of_silence(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = desk_with_a_call(r, clock, answered=False)  # ringing: the agent is offered
    clock.advance(MAX - 1)
    desk.router.reconcile("CA1", "unreported")
    assert desk.agents.state("a1").state == "offered"
    clock.advance(1)
    desk.router.reconcile("CA1", "unreported")
    assert desk.agents.state("a1").state == "available"  # released, no miss counted
    assert desk.agents.state("a1").missed == 0
    assert len(desk.events("unreported")) == 1 and desk.events("abandoned") == []
    info = desk.router.call("CA1")
    assert info is not None and info.state == "unreported"


def test_prune_releases_an_agent_still_pointing_at_an_expiring_call(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = desk_with_a_call(r, clock)
    clock.advance(24 * 3600 + 1)  # no ticker ever reconciled it
    desk.router.tick()
    status = desk.agents.state("a1")
    assert status.state in ("wrap_up", "available") and status.call_sid == ""
    assert desk.router.call("CA1") is None  # the record is gone, and so is the agent's hold
    assert len(desk.events("unreported")) == 1
