"""Operations that answer what a second routing call used to: a tick's offers with a hang-up
or a dial result, the agent's leg claimed with an arrival, the caller's record with a poll,
and what a call tells the simulator about itself (ScriptReport.states_changed)."""

from __future__ import annotations

from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.queues.router import Offer, Queued
from routing.queues.routing_script import ScriptReport, _carried
from routing.settings import load_engine_settings
from routing.store import RedisClient
from tests.routing.conftest import Desk, caller


def test_a_hang_up_hands_out_the_offer_a_tick_after_it_would(desk: Desk) -> None:
    desk.agent("a01", "senior")
    desk.router.arrive("CA0", caller(senior=True), "senior")
    desk.router.arrive("CA1", caller(senior=True), "senior")
    cancel, offers = desk.router.hangup_tick("CA0")  # a01 is free again: CA1 is theirs
    assert cancel == ""
    assert [(o.call_sid, o.agent.id) for o in offers] == [("CA1", "a01")]
    assert desk.router.tick() == []  # handed out once


def test_a_missed_agent_is_handed_to_the_next_caller_with_the_dial_result(desk: Desk) -> None:
    desk.agent("a01")
    desk.router.arrive("CA0", caller(), "general")
    desk.router.arrive("CA1", caller(), "general")
    placement, offers = desk.router.dial_result_tick("CA0", "a01", "no-answer", 0)
    assert isinstance(placement, Queued) and placement.call_sid == "CA0"
    assert [(o.call_sid, o.agent.id) for o in offers] == [("CA1", "a01")]
    assert desk.router.tick() == []


def test_an_arrival_claims_its_agents_leg_once(desk: Desk) -> None:
    desk.agent("a01")
    first = desk.router.arrive("CA0", caller(), "general", claim=True)
    assert isinstance(first, Offer) and first.leg_claimed
    again = desk.router.arrive("CA0", caller(), "general", claim=True)  # a retried webhook
    assert isinstance(again, Offer) and not again.leg_claimed
    assert desk.router.claim_leg("CA0", "a01").outcome == "taken"
    queued = desk.router.arrive("CA1", caller(), "general", claim=True)
    assert isinstance(queued, Queued)


def test_a_poll_returns_the_callers_record_as_saved(desk: Desk) -> None:
    desk.router.arrive("CA0", caller(), "general")
    status = desk.router.poll("CA0", "QU1")
    assert status.call == desk.router.call("CA0")
    assert status.call is not None and status.call.queue_sid == "QU1"
    assert desk.router.poll("CA-unknown").call is None


def test_the_script_says_whether_a_call_wrote_an_agents_state(
    r: RedisClient, clock: FixedClock
) -> None:
    report = ScriptReport(enabled=True)
    engine = Engine(r, clock, load_engine_settings(), script_report=report)
    assert report.states_changed()  # nothing known yet: read
    engine.router.arrive("CA0", caller(), "general")  # nobody staffed: no state written
    assert not report.states_changed()
    engine.agents.save(Agent("a01", "A01", "client:a01", frozenset(), ("mandarin",)))
    engine.router.set_agent_state("a01", "available")  # CA0 is offered to them
    assert report.states_changed()
    assert not report.states_changed()  # asked once per write
    engine.router.poll("CA0")
    assert not report.states_changed()


def test_a_neutral_call_counts_as_settled_only_when_a_tick_would_find_nothing() -> None:
    unsettled = {"settled": False, "pulls": 0, "at": 5_000}
    assert _carried("agent_leg", 4_000, unsettled, None)["settled"]  # nothing due before 5 s
    assert not _carried("agent_leg", 5_000, unsettled, None)["settled"]  # due now
    settled_before = (5_000, {"settled": True, "pulls": 0, "at": 5_000})
    assert _carried("room_event", 5_000, unsettled, settled_before)["settled"]
    assert not _carried("room_event", 5_001, unsettled, settled_before)["settled"]
    assert not _carried("poll", 4_000, unsettled, None)["settled"]  # not neutral: as said
