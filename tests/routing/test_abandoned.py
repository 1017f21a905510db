"""Today's abandoned callers (seniors first) and a call-back booked to one of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ivr.runtime import ticker
from routing.callers.caller import Caller
from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.router import Queued
from tests.helpers.people import senior_caller

SENIOR = senior_caller("cantonese")
OLDER = senior_caller("mandarin", age=80, number="+8613800000003")  # a second senior
YOUNGER = Caller("+8613800138035", "+8613800138035", None, 35, "mandarin", False)
WITHHELD = Caller("anonymous", None, None, None, "mandarin", False)


def abandon(engine: Engine, clock: FixedClock, sid: str, caller: Caller, wait_s: int) -> None:
    queue = "senior" if caller.senior else "general"
    assert isinstance(engine.router.arrive(sid, caller, queue), Queued)  # nobody is free
    clock.advance(wait_s)
    engine.router.hangup(sid)


def test_seniors_come_first_then_the_longest_wait(engine: Engine, clock: FixedClock) -> None:
    abandon(engine, clock, "CA-Y", YOUNGER, 90)
    abandon(engine, clock, "CA-S", SENIOR, 30)
    abandon(engine, clock, "CA-O", OLDER, 45)
    abandon(engine, clock, "CA-W", WITHHELD, 10)
    listed = engine.abandoned.today()
    assert [(a.call_sid, a.waited_s) for a in listed] == [
        ("CA-O", 45),
        ("CA-S", 30),
        ("CA-Y", 90),
        ("CA-W", 10),
    ]
    assert listed[0].abandoned_at == clock.now() - timedelta(seconds=10)
    assert listed[0].info.caller_number == OLDER.number
    assert [a.callback for a in listed] == ["none"] * 4


def test_yesterdays_abandons_are_not_listed(engine: Engine, clock: FixedClock) -> None:
    abandon(engine, clock, "CA-S", SENIOR, 30)
    clock.advance(24 * 3600)
    assert engine.abandoned.today() == []


def test_a_booked_call_back_is_queued_by_the_ticker_and_shown(
    engine: Engine, clock: FixedClock
) -> None:
    abandon(engine, clock, "CA-S", SENIOR, 30)
    booked = engine.abandoned.book_callback("CA-S")
    assert booked.callback == "booked"
    [request] = engine.callbacks.pending()
    assert (request.call_sid, request.number) == ("CA-S:cb", SENIOR.number)
    assert request.requested_ms == int((clock.now() - timedelta(seconds=30)).timestamp() * 1000)
    assert engine.abandoned.today()[0].callback == "booked"
    with pytest.raises(ValueError, match="already booked"):
        engine.abandoned.book_callback("CA-S")

    assert ticker.release_after_hours(engine) == 1  # open hours: queued as a call-back
    info = engine.router.call("CA-S:cb")
    assert info is not None and info.callback and info.senior
    assert info.caller_number == SENIOR.number
    assert engine.abandoned.today()[0].callback == "queued"
    with pytest.raises(ValueError, match="already booked"):
        engine.abandoned.book_callback("CA-S")


def test_only_an_abandoned_call_with_a_number_can_be_called_back(
    engine: Engine, clock: FixedClock
) -> None:
    abandon(engine, clock, "CA-W", WITHHELD, 10)
    with pytest.raises(ValueError, match="withheld"):
        engine.abandoned.book_callback("CA-W")
    with pytest.raises(KeyError):
        engine.abandoned.book_callback("CA-NOBODY")
    engine.router.arrive("CA-LIVE", SENIOR, "senior")
    with pytest.raises(KeyError):  # still waiting: not abandoned
        engine.abandoned.book_callback("CA-LIVE")


def test_a_booked_call_back_keeps_its_place_ahead_of_seniors_who_came_later(
    engine: Engine, clock: FixedClock
) -> None:
    abandon(engine, clock, "CA-S", SENIOR, 30)  # entered at T0, hung up at T0 + 30 s
    engine.router.arrive("CA-LATER", OLDER, "senior")  # a senior who came after her
    clock.advance(60)
    engine.abandoned.book_callback("CA-S")
    assert ticker.release_after_hours(engine) == 1
    info = engine.router.call("CA-S:cb")
    assert info is not None and info.entered_at == clock.now() - timedelta(seconds=90)
    first = engine.router.snapshot().queues["senior"].seniors_oldest
    assert first == info.entered_at  # the call-back is the oldest in line, not the newcomer
