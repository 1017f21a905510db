"""Alerts: each rule fires once while it holds and resolves when it stops; each change is
queued for the webhook once, however many workers evaluate."""

from __future__ import annotations

import json
from typing import Any

from routing.clock import FixedClock
from routing.queues.router import Offer
from routing.reporting.alerts import Alerts
from routing.reporting.queue_stats import Stats
from routing.store import RedisClient
from tests.routing.conftest import Desk, build, caller

HOOK = "http://127.0.0.1:9/alerts"


def alerts_of(desk: Desk) -> Alerts:
    s = desk.agents.settings
    return Alerts(desk.router, Stats(desk.r, desk.clock, s, desk.keys))


def outbox(desk: Desk) -> list[dict[str, Any]]:
    raw = desk.r.zrange(desk.keys.alerts_outbox(), 0, -1)
    return sorted((json.loads(n) for n in raw), key=lambda n: (n["at"], n["event"]))


def test_a_senior_waiting_past_the_bound_fires_once_and_resolves_when_answered(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = build(r, clock, **{"alerts.webhook_url": HOOK})
    watch = alerts_of(desk)
    desk.router.arrive("CA1", caller(senior=True), "senior")  # nobody signed in
    clock.advance(30)
    assert watch.evaluate(force=True) == ([], [])  # 30 s is not past 30 s
    clock.advance(1)
    assert watch.evaluate(force=True) == (["senior_waiting:senior"], [])
    assert watch.evaluate(force=True) == ([], [])  # still holding: no second notice
    [held] = watch.active()
    assert (held["rule"], held["subject"], held["value"]) == ("senior_waiting", "senior", 31)
    assert "老年客户已等待 31 秒" in held["zh"]
    desk.agent("a01", skills="senior")  # takes the senior at once
    assert watch.evaluate(force=True) == ([], ["senior_waiting:senior"])
    assert watch.active() == []
    assert [n["event"] for n in outbox(desk)] == ["firing", "resolved"]


def test_without_a_webhook_alerts_show_but_nothing_is_queued(desk: Desk) -> None:
    watch = alerts_of(desk)
    desk.router.arrive("CA1", caller(senior=True), "senior")
    desk.clock.advance(45)
    assert watch.evaluate(force=True)[0] == ["senior_waiting:senior"]
    assert outbox(desk) == []


def test_two_workers_evaluating_queue_each_change_once(r: RedisClient, clock: FixedClock) -> None:
    desk = build(r, clock, **{"alerts.webhook_url": HOOK})
    first, second = alerts_of(desk), alerts_of(desk)
    desk.router.arrive("CA1", caller(senior=True), "senior")
    clock.advance(60)
    fired = first.evaluate(force=True)[0] + second.evaluate(force=True)[0]
    assert fired == ["senior_waiting:senior"]
    assert len(outbox(desk)) == 1


def test_the_rules_are_read_at_most_every_check_seconds(desk: Desk) -> None:
    watch = alerts_of(desk)
    desk.router.arrive("CA1", caller(senior=True), "senior")
    assert watch.evaluate() == ([], [])
    desk.clock.advance(40)
    assert watch.evaluate() == (["senior_waiting:senior"], [])  # 40 s later: due
    desk.router.hangup("CA1")
    desk.clock.advance(5)
    assert watch.evaluate() == ([], [])  # not due for 15 s
    desk.clock.advance(10)
    assert watch.evaluate() == ([], ["senior_waiting:senior"])


def test_a_queue_under_its_service_level_over_the_window_fires(desk: Desk) -> None:
    watch = alerts_of(desk)
    for i in range(5):  # five callers give up after 40 s: none answered within T
        desk.router.arrive(f"CA{i}", caller(), "general")
        desk.clock.advance(40)
        desk.router.hangup(f"CA{i}")
    fired, _ = watch.evaluate(force=True)
    assert fired == ["service_level_low:general"]
    [held] = watch.active()
    assert held["value"] == 0.0 and "under 80%" in held["en"]
    desk.clock.advance(40 * 60)  # the window has moved past them
    assert watch.evaluate(force=True) == ([], ["service_level_low:general"])


def test_an_agent_ringing_too_long_is_called_stranded(desk: Desk) -> None:
    watch = alerts_of(desk)
    desk.agent("a01")
    offer = desk.router.arrive("CA1", caller(), "general")
    assert isinstance(offer, Offer)
    desk.clock.advance(121)  # the leg's end was never reported
    fired, _ = watch.evaluate(force=True)
    assert "agent_stranded:a01" in fired
    [held] = [a for a in watch.active() if a["rule"] == "agent_stranded"]
    assert "Agent a01 has been ringing for 2 min" in held["en"]


def test_a_failed_notice_is_retried_with_doubling_waits_then_dropped(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = build(r, clock, **{"alerts.webhook_url": HOOK, "alerts.webhook_attempts": 3})
    watch = alerts_of(desk)
    desk.router.arrive("CA1", caller(senior=True), "senior")
    clock.advance(31)
    watch.evaluate(force=True)
    [notice] = watch.due_notices()
    assert watch.due_notices() == []  # claimed
    assert watch.retry(notice)
    clock.advance(4)
    assert watch.due_notices() == []  # the first retry waits 5 s
    clock.advance(1)
    [again] = watch.due_notices()
    assert again["attempt"] == 1
    assert watch.retry(again)
    clock.advance(9)
    assert watch.due_notices() == []  # then 10 s
    clock.advance(1)
    [third] = watch.due_notices()
    assert not watch.retry(third)  # three attempts: dropped
    assert outbox(desk) == []
