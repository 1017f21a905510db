"""Overflow: a queue's callers past its wait bound or length limit go where it overflows."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.router import Offer, Queued
from routing.settings import SettingsError, load_engine_settings
from routing.store import RedisClient
from tests.conftest import T0
from tests.routing.conftest import Desk, build, caller

LINE = "+861095500777"


def _desk(r: RedisClient, clock: FixedClock, queue: str, **overflow: Any) -> Desk:
    return build(r, clock, **{f"queues.{queue}.overflow_{k}": v for k, v in overflow.items()})


def _number(n: int) -> str:
    return f"+86138000000{n:02d}"


def test_a_caller_past_the_bound_moves_to_the_overflow_queue_keeping_their_entry_time(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = _desk(r, clock, "complaints", after=30, to="general")
    desk.agent("a01")  # no complaints skill: takes general callers only (complaints widen at 90 s)
    desk.router.set_agent_state("a01", "away")
    assert isinstance(desk.router.arrive("CA1", caller(), "complaints"), Queued)
    assert desk.router.next_due() == T0 + timedelta(seconds=30)
    desk.router.set_agent_state("a01", "available")
    clock.advance(29.999)
    assert desk.router.tick() == []
    clock.advance(0.001)
    [offer] = desk.router.tick()
    assert (offer.call_sid, offer.agent.id, offer.queue, offer.entered_at) == (
        "CA1",
        "a01",
        "general",
        T0,
    )
    moved = [(e["kind"], e["queue"]) for e in desk.events() if e["kind"].startswith("moved")]
    assert moved == [("moved_out", "complaints"), ("moved_in", "general")]


def test_moves_are_counted_out_of_one_queue_and_into_the_other(
    r: RedisClient, clock: FixedClock
) -> None:
    overrides = {"queues.complaints.overflow_after": 30, "queues.complaints.overflow_to": "general"}
    eng = Engine(r, clock, load_engine_settings(overrides))
    eng.router.arrive("CA1", caller(), "complaints")
    clock.advance(30)
    eng.router.tick()
    today = eng.stats.day()
    assert (today["complaints"]["all"].offered, today["complaints"]["all"].moved_out) == (1, 1)
    assert (today["general"]["all"].offered, today["general"]["all"].moved_in) == (0, 1)
    assert today["all"]["all"].moved_in == today["all"]["all"].moved_out == 1


def test_a_caller_past_the_bound_of_a_line_overflow_leaves_routing_for_the_line(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = _desk(r, clock, "general", after=120, to=LINE)
    desk.router.arrive("CA1", caller(), "general")
    desk.router.arrive("CA2", caller(number=_number(2)), "general")
    desk.router.request_callback("CA2")  # hung up, their place kept: no line can take them
    assert desk.router.next_due() == T0 + timedelta(seconds=120)
    clock.advance(120)
    desk.router.tick()
    first, second = desk.router.call("CA1"), desk.router.call("CA2")
    assert first is not None and first.state == "overflowed"
    assert second is not None and second.state == "waiting"
    assert [e["call"] for e in desk.events("overflowed")] == ["CA1"]
    assert desk.router.next_due() != clock.now()  # the call-back left in line is not "due"
    desk.agent("a01")  # the call-back is offered; the caller who went to the line is not
    after = desk.router.call("CA2"), desk.router.call("CA1")
    assert [i.state if i else None for i in after] == ["offered", "overflowed"]


def test_an_arrival_finding_the_queue_too_long_goes_to_the_line_at_once(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = _desk(r, clock, "general", length=2, to=LINE)
    for n in (1, 2):
        assert isinstance(
            desk.router.arrive(f"CA{n}", caller(number=_number(n)), "general"), Queued
        )
    third = desk.router.arrive("CA3", caller(number=_number(3)), "general")
    assert isinstance(third, Queued) and third.position == 0
    info = desk.router.call("CA3")
    assert info is not None and info.state == "overflowed"
    assert desk.router.snapshot().queues["general"].waiting == 2


def test_a_callback_overflow_is_offered_from_the_bound_at_the_announcements(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = _desk(r, clock, "general", after=60, to="callback")
    desk.router.arrive("CA1", caller(), "general")
    assert not desk.router.poll("CA1").offer_callback
    clock.advance(59)
    assert not desk.router.poll("CA1").offer_callback
    clock.advance(1)
    assert not desk.router.poll("CA1").offer_callback  # past the bound, between announcements
    every = desk.router.settings.routing.announce_every
    clock.advance(every - 1)
    status = desk.router.poll("CA1")
    assert status.announce and status.offer_callback
    info = desk.router.call("CA1")
    assert info is not None and info.state == "waiting"  # offered, never moved


def test_a_callback_overflow_on_length_is_offered_at_the_first_announcement(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = _desk(r, clock, "general", length=1, to="callback")
    desk.router.arrive("CA1", caller(number=_number(1)), "general")
    desk.router.arrive("CA2", caller(number=_number(2)), "general")
    assert not desk.router.poll("CA1").offer_callback
    assert desk.router.poll("CA2").offer_callback


@pytest.mark.parametrize(
    ("to", "kind", "state"),
    [
        ("general", "queue", "waiting"),
        (LINE, "line", "overflowed"),
        ("callback", "callback", "waiting"),
        ("", "", "overflowed"),
    ],
)
def test_twilios_queue_full_is_routed_as_the_queue_overflows(
    r: RedisClient, clock: FixedClock, to: str, kind: str, state: str
) -> None:
    desk = _desk(r, clock, "complaints", to=to)
    desk.router.arrive("CA1", caller(), "complaints")
    clock.advance(2)
    got, placement = desk.router.queue_full("CA1")
    info = desk.router.call("CA1")
    assert (got, info and info.state) == (kind, state)
    if kind == "queue":
        assert isinstance(placement, Queued) and placement.queue == "general"
        assert info is not None and info.entered_at == T0


def test_a_caller_moved_by_queue_full_is_offered_at_once_where_an_agent_is_free(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = _desk(r, clock, "complaints", to="general")
    desk.agent("a01")  # no complaints skill
    assert isinstance(desk.router.arrive("CA1", caller(), "complaints"), Queued)
    kind, placement = desk.router.queue_full("CA1")
    assert kind == "queue"
    assert isinstance(placement, Offer) and placement.agent.id == "a01"
    assert placement.queue == "general" and placement.entered_at == T0


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"queues.general.overflow_to": "+123"}, "queues.general.overflow_to"),
        ({"queues.general.overflow_to": "general"}, "queues.general.overflow_to"),
        ({"queues.general.overflow_after": 60}, "queues.general.overflow_to"),
        ({"queues.general.overflow_to": "nowhere"}, "queues.general.overflow_to"),
        (
            {"queues.claims.overflow_to": "policy", "queues.policy.overflow_to": "general"},
            "queues.claims.overflow_to",
        ),
        ({"queues.general.overflow_length": -1}, "queues.general.overflow_length"),
    ],
)
def test_a_bad_overflow_stops_start_up_naming_the_key(
    r: RedisClient, clock: FixedClock, overrides: dict[str, Any], key: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(f"'{key}'")):
        build(r, clock, **overrides)


def test_an_offer_is_not_overflowed(r: RedisClient, clock: FixedClock) -> None:
    desk = _desk(r, clock, "general", after=10, to=LINE)
    desk.agent("a01")
    placed = desk.router.arrive("CA1", caller(), "general")
    assert isinstance(placed, Offer)
    clock.advance(30)  # the agent's phone rings on
    desk.router.tick()
    info = desk.router.call("CA1")
    assert info is not None and info.state == "offered"
