"""The worker's beat: out-of-hours call-backs join the queue when the hotline opens."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from ivr import services
from ivr.runtime import ticker
from ivr.web import dashboard
from routing.clock import FixedClock
from routing.engine import Engine
from tests.conftest import T0
from tests.helpers.people import SENIOR, senior_customer


def test_a_call_back_booked_at_night_is_queued_at_opening_with_the_customers_name(
    app: Flask, engine: Engine, clock: FixedClock
) -> None:
    engine.directory.save(senior_customer("cantonese"))
    clock.set(T0 + timedelta(hours=13))  # 23:00 in Shanghai: closed
    caller = engine.directory.identify(SENIOR, clock.now())
    assert engine.callbacks.request_after_hours("CA" + "1" * 32, caller)
    assert ticker.release_after_hours(engine) == 0  # still closed: nothing moves
    clock.advance(10 * 3600)  # 09:00 the next morning
    assert ticker.release_after_hours(engine) == 1
    assert ticker.release_after_hours(engine) == 0  # taken once
    info = engine.router.call("CA" + "1" * 32)
    assert info is not None
    assert (info.queue, info.callback, info.senior) == ("senior", True, True)
    assert (info.caller_name, info.caller_age, info.caller_dialect) == ("陈伯", 72, "cantonese")


def test_without_a_rest_api_a_booked_call_back_stays_pending_and_never_waits_on_the_line(
    app: Flask, engine: Engine, clock: FixedClock
) -> None:
    # the `app` fixture has no Twilio account and no offline Twilio: nothing can be placed
    assert not services.of(app).telephony.enabled
    engine.directory.save(senior_customer("cantonese"))
    clock.set(T0 + timedelta(hours=13))
    caller = engine.directory.identify(SENIOR, clock.now())
    assert engine.callbacks.request_after_hours("CA" + "2" * 32, caller)
    clock.advance(10 * 3600 + 200)  # open for 200 s
    for _ in range(3):
        ticker.beat(app, "http://localhost")
    assert engine.router.call("CA" + "2" * 32) is None
    board = dashboard.queues(engine)
    assert board["all"]["seniors_waiting"] == 0 and not board["all"]["senior_over_target"]
    assert board["all"]["callbacks_pending"] == 1


def test_each_beat_leaves_its_time_for_the_doctor(app: Flask, engine: Engine) -> None:
    assert engine.redis.get(engine.keys.ticker()) is None
    ticker.beat(app, "http://localhost")
    assert engine.redis.get(engine.keys.ticker()) == str(int(T0.timestamp() * 1000))
    assert 0 < engine.redis.pttl(engine.keys.ticker()) <= 60_000
