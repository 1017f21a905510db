"""Per-agent and per-dialect figures, counted by the routing script as calls happen."""

from __future__ import annotations

from routing.queues.router import Offer
from routing.reporting.queue_stats import Stats
from routing.reporting.team_stats import TeamStats
from tests.routing.conftest import Desk, caller


def team(desk: Desk) -> TeamStats:
    settings = desk.agents.settings
    return TeamStats(Stats(desk.r, desk.clock, settings, desk.keys), settings, desk.keys)


def test_an_answered_senior_counts_for_the_agent_and_the_dialect(desk: Desk) -> None:
    desk.agent("a01", skills="senior", dialects="mandarin cantonese")
    desk.clock.advance(100)  # a01 waits, signed in, for 100 s
    offer = desk.router.arrive("CA1", caller("cantonese", senior=True), "senior")
    assert isinstance(offer, Offer) and offer.agent.id == "a01"
    desk.clock.advance(3)  # ringing
    desk.router.answered("CA1", "a01")
    desk.router.connected("CA1", "a01")
    desk.clock.advance(60)  # talking
    desk.router.dial_result("CA1", "a01", "completed", 60)
    day = team(desk).summary(desk.clock.now().date(), desk.clock.now().date())
    a = day.agents["a01"]
    assert (a.offered, a.answered, a.completed, a.seniors, a.missed) == (1, 1, 1, 1, 0)
    assert a.talk_ms == 60_000
    assert a.state_ms == {"available": 100_000, "offered": 3_000, "on_call": 60_000}
    assert a.occupancy == 63 / 163
    d = day.dialects["cantonese"]
    assert (d.offered, d.answered, d.matched, d.connected) == (1, 1, 1, 1)
    assert d.json()["time_to_human_s"] == 3.0


def test_an_answer_by_an_agent_without_the_dialect_and_a_miss_are_told_apart(
    desk: Desk,
) -> None:
    desk.agent("a01")  # Mandarin only
    offer = desk.router.arrive("CA1", caller("cantonese"), "general")
    assert isinstance(offer, Offer)
    desk.clock.advance(20)
    desk.router.dial_result("CA1", "a01", "no-answer", 0)  # a miss: CA1 waits again
    desk.clock.advance(60)  # past the time a missed agent is not rung again for that caller
    again = desk.router.tick()
    assert [o.agent.id for o in again] == ["a01"]
    desk.router.answered("CA1", "a01")
    now = desk.clock.now().date()
    day = team(desk).summary(now, now)
    a = day.agents["a01"]
    # an offer counts once per agent and call, as in the queue figures (record_lib.lua)
    assert (a.offered, a.missed, a.answered, a.seniors) == (1, 1, 1, 0)
    d = day.dialects["cantonese"]
    assert (d.offered, d.answered, d.matched) == (1, 1, 0)
    intervals = team(desk).intervals(now, now)
    assert sum(iv.agents["a01"].offered for iv in intervals if "a01" in iv.agents) == 1
