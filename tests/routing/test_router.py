"""The router: who gets which caller, when requirements widen, re-routes and call-backs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from routing.queues.agents import Agent
from routing.queues.events import interval_id
from routing.queues.ewt import DEFAULT_HANDLE_S, estimate
from routing.queues.router import Offer, Queued
from tests.conftest import T0
from tests.routing.conftest import Desk, caller, default_settings

# -- placement ------------------------------------------------------------------------------


def test_a_free_agent_takes_the_caller_at_once(desk: Desk) -> None:
    desk.agent("a01")
    placed = desk.router.arrive("CA1", caller(), "general")
    assert isinstance(placed, Offer)
    assert (placed.agent.id, placed.queue, placed.entered_at, placed.callback) == (
        "a01",
        "general",
        T0,
        False,
    )
    assert [e["kind"] for e in desk.events()] == ["entered", "offered"]


def test_without_a_free_agent_the_caller_queues_with_a_position(desk: Desk) -> None:
    first = desk.router.arrive("CA1", caller(), "general")
    desk.clock.advance(1)
    second = desk.router.arrive("CA2", caller(), "general")
    assert first == Queued("CA1", "general", 1, first.ewt_s)
    assert isinstance(second, Queued) and second.position == 2
    assert first.ewt_s == 1 * DEFAULT_HANDLE_S  # nobody staffed, no history


def test_a_repeated_arrival_changes_nothing(desk: Desk) -> None:
    desk.router.arrive("CA1", caller(), "general")
    desk.clock.advance(3)
    again = desk.router.arrive("CA1", caller(), "policy")  # Twilio retried the webhook
    assert isinstance(again, Queued) and again.queue == "general"
    info = desk.router.call("CA1")
    assert info is not None and info.entered_at == T0
    assert len(desk.events("entered")) == 1


def test_an_unknown_queue_is_refused(desk: Desk) -> None:
    with pytest.raises(KeyError):
        desk.router.arrive("CA1", caller(), "nowhere")


# -- who gets whom ----------------------------------------------------------------------------


def test_a_senior_goes_to_a_senior_trained_agent_even_when_another_idles_longer(
    desk: Desk,
) -> None:
    desk.agent("a01")
    desk.clock.advance(10)
    desk.agent("a02", "senior")
    placed = desk.router.arrive("CA1", caller(senior=True), "senior")
    assert isinstance(placed, Offer) and placed.agent.id == "a02"


def test_a_senior_widens_to_any_agent_exactly_at_widen_to_any_after(desk: Desk) -> None:
    desk.agent("a01")
    assert isinstance(desk.router.arrive("CA1", caller(senior=True), "senior"), Queued)
    desk.clock.advance(44.999)
    assert desk.router.tick() == []
    desk.clock.advance(0.001)
    offers = desk.router.tick()
    assert [(o.call_sid, o.agent.id, o.senior) for o in offers] == [("CA1", "a01", True)]


def test_a_topic_caller_widens_to_general_agents_after_its_time(desk: Desk) -> None:
    desk.agent("a01")
    assert isinstance(desk.router.arrive("CA1", caller(), "policy"), Queued)
    desk.clock.advance(59.999)
    assert desk.router.tick() == []
    desk.clock.advance(0.001)
    assert [o.agent.id for o in desk.router.tick()] == ["a01"]


def test_the_general_queue_never_needs_a_skill(desk: Desk) -> None:
    desk.agent("a01", "claims")
    assert isinstance(desk.router.arrive("CA1", caller(), "general"), Offer)


def test_a_caller_waits_for_their_dialect_until_drop_dialect_after(desk: Desk) -> None:
    desk.agent("a01", dialects="cantonese")
    desk.router.arrive("CA0", caller("cantonese"), "general")  # keeps a01 busy
    desk.agent("a02", dialects="mandarin")
    assert isinstance(desk.router.arrive("CA1", caller("cantonese"), "general"), Queued)
    desk.clock.advance(19.999)
    assert desk.router.tick() == []
    desk.clock.advance(0.001)
    assert [(o.call_sid, o.agent.id) for o in desk.router.tick()] == [("CA1", "a02")]


def test_nobody_waits_for_a_dialect_no_staffed_agent_speaks(desk: Desk) -> None:
    desk.agent("a01", dialects="mandarin")
    placed = desk.router.arrive("CA1", caller("minnan"), "general")
    assert isinstance(placed, Offer) and placed.agent.id == "a01"


def test_a_dialect_speaker_going_away_releases_callers_waiting_for_them(desk: Desk) -> None:
    desk.agent("a01", dialects="cantonese")
    desk.router.arrive("CA0", caller("cantonese"), "general")
    desk.router.answered("CA0", "a01")
    desk.router.set_agent_state("a01", "offline")  # leaves after this call
    desk.agent("a02")
    assert isinstance(desk.router.arrive("CA1", caller("cantonese"), "general"), Queued)
    desk.router.dial_result("CA0", "a01", "completed", 60)
    desk.clock.advance(15)  # a01's wrap-up ends: offline, nobody speaks Cantonese
    assert [o.agent.id for o in desk.router.tick()] == ["a02"]


def test_dialect_match_comes_before_longest_idle(desk: Desk) -> None:
    desk.agent("a01", dialects="mandarin")
    desk.clock.advance(5)
    desk.agent("a02", dialects="mandarin cantonese")
    desk.clock.advance(5)
    desk.agent("a03", dialects="cantonese")
    placed = desk.router.arrive("CA1", caller("cantonese"), "general")
    assert isinstance(placed, Offer) and placed.agent.id == "a02"
    placed = desk.router.arrive("CA2", caller("english"), "general")
    assert isinstance(placed, Offer) and placed.agent.id == "a01"


def test_a_freed_agent_takes_priority_first_then_the_longest_waiting(desk: Desk) -> None:
    desk.router.arrive("CA1", caller(), "general")
    desk.clock.advance(1)
    desk.router.arrive("CA2", caller(), "general")
    desk.clock.advance(1)
    desk.router.arrive("CA3", caller(senior=True), "senior")
    desk.clock.advance(60)  # past the senior reserve's release (routing.senior_reserve_release)
    a = Agent("a01", "A", "client:a01", frozenset({"senior"}), ("mandarin",))
    desk.agents.save(a)
    for sid in ("CA3", "CA1", "CA2"):
        offers = desk.router.set_agent_state("a01", "available")
        assert [o.call_sid for o in offers] == [sid]
        desk.router.answered(sid, "a01")
        desk.router.dial_result(sid, "a01", "completed", 10)
        desk.router.set_agent_state("a01", "offline")


def test_the_last_free_senior_trained_agent_is_kept_for_seniors_for_a_while(desk: Desk) -> None:
    desk.agent("s1", "senior")
    desk.router.arrive("CA1", caller(), "general")
    assert desk.router.call("CA1").state == "waiting"  # s1 is kept for the next senior
    desk.clock.advance(30)
    desk.router.arrive("CA2", caller(senior=True), "senior")
    assert desk.router.call("CA2").state == "offered"  # a senior gets them at once
    desk.agent("s2", "senior")
    desk.agent("s3", "senior")
    desk.router.tick()  # two free: one may take the general caller, one is kept
    assert desk.router.call("CA1").agent_id in ("s2", "s3")
    desk.router.arrive("CA3", caller(), "general")
    desk.clock.advance(59.999)
    assert desk.router.tick() == [] and desk.router.call("CA3").state == "waiting"
    desk.clock.advance(0.001)  # nobody waits without limit for it
    assert [o.call_sid for o in desk.router.tick()] == ["CA3"]


# -- re-routing ---------------------------------------------------------------------------------


def test_a_missed_caller_keeps_their_place_ahead_of_later_callers(desk: Desk) -> None:
    desk.agent("a01")
    desk.router.arrive("CA0", caller(), "general")
    desk.router.answered("CA0", "a01")  # a01 busy
    desk.agent("a02")
    desk.router.arrive("CA1", caller(), "general")  # a02 rings
    desk.clock.advance(5)
    assert isinstance(desk.router.arrive("CA2", caller(), "general"), Queued)
    desk.clock.advance(15)
    back = desk.router.dial_result("CA1", "a02", "no-answer", 0)
    assert isinstance(back, Queued) and back.position == 1
    assert desk.router.offer_for("CA2") is not None  # a02 is rung for the next caller
    desk.router.dial_result("CA0", "a01", "completed", 20)
    desk.clock.advance(15)
    offers = desk.router.tick()
    # CA1 gets the next free agent with its original entry time; CA2's offer to a02, not yet
    # acted on by the call flow (no wait poll since), is handed out with it, once.
    assert {(o.call_sid, o.agent.id, o.entered_at) for o in offers} == {
        ("CA1", "a01", T0),
        ("CA2", "a02", T0 + timedelta(seconds=5)),
    }
    assert desk.router.tick() == []


def test_a_repeated_dial_result_changes_nothing(desk: Desk) -> None:
    desk.agent("a01")
    desk.agent("a02")
    desk.router.arrive("CA1", caller(), "general")
    desk.clock.advance(20)
    first = desk.router.dial_result("CA1", "a01", "no-answer", 0)
    again = desk.router.dial_result("CA1", "a01", "no-answer", 0)
    assert isinstance(first, Offer) and first.agent.id == "a02"
    assert again == first
    assert desk.agents.state("a01").missed == 1
    assert len(desk.events("missed")) == 1


def test_a_caller_hanging_up_while_the_agent_rings_is_abandoned_not_missed(desk: Desk) -> None:
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.clock.advance(8)
    desk.router.hangup("CA1")  # the status callback is the authority on the caller's end
    assert desk.agents.state("a01").state == "available"
    assert desk.agents.state("a01").missed == 0
    # whatever the <Dial> reports afterwards (Twilio does not document it), no miss counts
    assert desk.router.dial_result("CA1", "a01", "no-answer", 0) is None
    assert desk.agents.state("a01").missed == 0
    assert [e["kind"] for e in desk.events() if e["kind"] in ("missed", "abandoned")] == [
        "abandoned"
    ]


def test_an_agent_leg_canceled_through_rest_reroutes_the_caller_without_a_miss(
    desk: Desk,
) -> None:
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.clock.advance(8)
    placement = desk.router.dial_result("CA1", "a01", "canceled", 0)
    assert placement is not None  # canceled means canceled through REST: not the caller
    assert desk.agents.state("a01").missed == 0
    assert desk.events("missed") == [] and desk.events("abandoned") == []


def test_completed_calls_free_the_agent_after_wrap_up(desk: Desk) -> None:
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.router.arrive("CA2", caller(), "general")
    desk.clock.advance(30)
    assert desk.router.answered("CA1", "a01") is not None
    assert desk.router.answered("CA1", "a01") is not None  # a repeat: same answer
    assert desk.router.dial_result("CA1", "a01", "completed", 90) is None
    desk.clock.advance(14.999)
    assert desk.router.tick() == []
    desk.clock.advance(0.001)
    assert [o.call_sid for o in desk.router.tick()] == ["CA2"]
    assert [e["kind"] for e in desk.events() if e["call"] == "CA1"] == [
        "entered",
        "offered",
        "answered",
        "completed",
    ]


# -- hang-ups -------------------------------------------------------------------------------------


def test_a_waiting_caller_who_hangs_up_has_abandoned_once(desk: Desk) -> None:
    desk.router.arrive("CA1", caller(), "general")
    desk.clock.advance(12)
    desk.router.hangup("CA1")
    desk.router.hangup("CA1")
    abandoned = desk.events("abandoned")
    assert len(abandoned) == 1 and abandoned[0]["wait_ms"] == "12000"
    assert desk.router.snapshot().queues["general"].waiting == 0


def test_hanging_up_while_offered_frees_the_agent_keeping_their_idle_time(desk: Desk) -> None:
    desk.agent("a01")
    desk.clock.advance(5)
    desk.agent("a02")
    desk.router.arrive("CA1", caller(), "general")  # a01 idled longest
    desk.router.hangup("CA1")
    assert desk.agents.state("a01").state == "available"
    placed = desk.router.arrive("CA2", caller(), "general")
    assert isinstance(placed, Offer) and placed.agent.id == "a01"
    assert desk.router.answered("CA1", "a01") is None


def test_hanging_up_during_the_conversation_completes_it(desk: Desk) -> None:
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.router.answered("CA1", "a01")
    desk.router.hangup("CA1")
    assert desk.agents.state("a01").state == "wrap_up"
    assert desk.router.dial_result("CA1", "a01", "completed", 40) is None
    assert len(desk.events("completed")) == 1
    assert desk.events("abandoned") == []


# -- waiting ---------------------------------------------------------------------------------------


def test_polls_announce_at_the_configured_pace_and_offer_seniors_a_call_back(desk: Desk) -> None:
    desk.router.arrive("CA1", caller(senior=True), "senior")
    first = desk.router.poll("CA1", "QU123")
    assert (first.announce, first.position, first.offer_callback, first.offer) == (
        True,
        1,
        False,
        None,
    )
    assert desk.router.queue_sid("CA1") == "QU123"
    desk.clock.advance(29)
    assert not desk.router.poll("CA1", "QU123").announce
    desk.clock.advance(31)
    status = desk.router.poll("CA1", "QU123")
    assert status.announce and status.offer_callback and status.waited_s == 60


def test_a_poll_hands_out_other_callers_assignments_once(desk: Desk) -> None:
    desk.router.arrive("CA1", caller(), "general")
    desk.router.arrive("CA2", caller(), "general")
    a = Agent("a01", "A", "client:a01", frozenset(), ("mandarin",))
    desk.agents.save(a)
    desk.router.set_agent_state("a01", "available")  # its own answer is handed out too
    status = desk.router.poll("CA2")
    assert status.pulls == [] and status.offer is None and status.position == 1
    desk.router.hangup("CA1")  # a01 is free again: CA2 is assigned inside hangup()
    mine = desk.router.poll("CA2")
    assert mine.offer is not None and mine.offer.agent.id == "a01" and mine.pulls == []
    assert desk.router.tick() == []  # CA2 took its own assignment: nothing to pull


def test_the_estimated_wait_uses_staffing_and_recent_answered_waits() -> None:
    assert estimate(0, 3, 60_000, 0) == 0
    assert estimate(4, 2, 60_000, 0) == 120
    assert estimate(4, 2, 60_000, 40_000) == 80
    assert estimate(2, 0, 60_000, 40_000) == 40
    assert estimate(2, 0, 0, 0) == 2 * DEFAULT_HANDLE_S


def test_recent_answers_feed_the_estimate(desk: Desk) -> None:
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.router.arrive("CA2", caller(), "general")
    desk.clock.advance(8)
    desk.router.answered("CA1", "a01")
    desk.clock.advance(52)
    desk.router.dial_result("CA1", "a01", "completed", 52)  # handle 52 + 15 wrap-up
    queued = desk.router.arrive("CA3", caller(), "general")
    assert isinstance(queued, Queued) and queued.position == 2
    assert queued.ewt_s == estimate(2, 1, 67_000, 8_000)


def test_snapshot_shows_seniors_apart_and_agents_by_state(desk: Desk) -> None:
    desk.router.arrive("CA1", caller(senior=True), "general")
    desk.clock.advance(2)
    desk.router.arrive("CA2", caller(), "general")
    desk.agents.save(Agent("a01", "A", "client:a01", frozenset(), ("mandarin",)))
    snap = desk.router.snapshot()
    general = snap.queues["general"]
    assert (general.waiting, general.oldest, general.seniors_waiting) == (2, T0, 1)
    assert snap.queues["senior"].waiting == 0 and snap.queues["senior"].oldest is None
    assert snap.agents_by_state == {"offline": 1}


# -- call-backs ------------------------------------------------------------------------------------


def test_a_call_back_keeps_its_place_and_reserves_the_agent(desk: Desk) -> None:
    desk.router.arrive("CA1", caller(senior=True), "senior")
    desk.clock.advance(10)
    desk.router.arrive("CA2", caller(senior=True), "senior")
    desk.clock.advance(60)
    desk.router.request_callback("CA1")
    desk.router.hangup("CA1")  # the senior puts the phone down: not an abandon
    desk.agents.save(Agent("a01", "A", "client:a01", frozenset({"senior"}), ("mandarin",)))
    offers = desk.router.set_agent_state("a01", "available")
    assert [(o.call_sid, o.callback, o.entered_at) for o in offers] == [("CA1", True, T0)]
    assert desk.events("abandoned") == []
    assert [e["kind"] for e in desk.events() if e["call"] == "CA1"][-2:] == [
        "offered",
        "callback_placed",
    ]
    assert desk.router.offer_for("CA1") is not None
    desk.router.answered("CA1", "a01")
    desk.router.callback_result("CA1", "completed")
    assert desk.agents.state("a01").state == "wrap_up"


def test_failed_call_backs_are_retried_then_given_up(desk: Desk) -> None:
    desk.agent("a01", "senior")
    desk.router.arrive("CA0", caller(senior=True), "senior")  # keeps a01 busy
    desk.router.arrive("CA1", caller(senior=True), "senior")
    desk.router.request_callback("CA1")
    desk.router.answered("CA0", "a01")
    desk.router.dial_result("CA0", "a01", "completed", 10)
    desk.clock.advance(15)
    for attempt in range(1, 4):  # callback_attempts = 3
        offers = desk.router.tick()
        assert [(o.call_sid, o.callback) for o in offers] == [("CA1", True)]
        desk.router.callback_result("CA1", "no-answer")
        desk.router.callback_result("CA1", "no-answer")  # a repeat counts once
        assert desk.agents.state("a01").state == "available"
        info = desk.router.call("CA1")
        assert info is not None and info.callback_attempts == attempt
        desk.clock.advance(119.999)
        assert desk.router.tick() == []
        desk.clock.advance(0.001)
    info = desk.router.call("CA1")
    assert info is not None and info.state == "failed"
    assert desk.router.snapshot().callbacks_failed == 1
    assert len(desk.events("callback_failed")) == 1


def test_asking_for_a_call_back_after_assignment_keeps_the_agent(desk: Desk) -> None:
    desk.agent("a01", "senior")
    desk.router.arrive("CA0", caller(senior=True), "senior")
    desk.router.arrive("CA1", caller(senior=True), "senior")
    desk.router.hangup("CA0")  # a01 -> CA1, pull pending
    desk.router.request_callback("CA1")
    desk.router.hangup("CA1")
    offers = desk.router.tick()
    assert [(o.call_sid, o.callback, o.agent.id) for o in offers] == [("CA1", True, "a01")]
    assert desk.agents.state("a01").call_sid == "CA1"


def test_entry_time_survives_several_re_routes(desk: Desk) -> None:
    for aid in ("a01", "a02", "a03"):
        desk.agent(aid)
    desk.router.arrive("CA1", caller(), "general")
    for agent in ("a01", "a02"):
        desk.clock.advance(20)
        placed = desk.router.dial_result("CA1", agent, "no-answer", 0)
        assert isinstance(placed, Offer) and placed.entered_at == T0
    info = desk.router.call("CA1")
    assert info is not None and info.entered_at + timedelta(seconds=40) == desk.clock.now()


def test_a_decision_records_its_statistics_in_the_same_call(desk: Desk) -> None:
    desk.agent("a01", skills="senior")
    desk.router.arrive("CA1", caller(senior=True), "senior")
    desk.clock.advance(4)
    desk.router.answered("CA1", "a01")
    desk.clock.advance(60)
    desk.router.dial_result("CA1", "a01", "completed", 60)
    interval = interval_id(T0, default_settings())
    keys = desk.keys
    for key in (
        keys.stats_interval("senior", interval),
        keys.stats_day("senior", interval[:8]),
        keys.stats_total("senior"),
    ):
        figures = desk.r.hgetall(key)
        counted = ("s:offered", "s:offers", "s:answered", "s:completed")  # offered = entered
        assert {f: figures.get(f) for f in counted} == dict.fromkeys(counted, "1"), key
        assert figures["s:wait_ms"] == "4000"
    assert desk.r.hget(keys.stats_call("CA1"), "outcome") == "answered"
    assert desk.r.ttl(keys.stats_interval("senior", interval)) > 0
    assert desk.r.ttl(keys.stats_total("senior")) == -1


# -- the agent's leg of an offer ----------------------------------------------------------------


def test_an_offers_agent_leg_is_claimed_once_and_a_new_offer_may_be_claimed_again(
    desk: Desk,
) -> None:
    desk.agent("a01")
    offer = desk.router.arrive("CA1", caller(), "general")
    assert isinstance(offer, Offer)
    first = desk.router.claim_leg("CA1", "a01")
    second = desk.router.claim_leg("CA1", "a01", room=True)  # the caller's own webhook, late
    assert (first.outcome, second.outcome) == ("claimed", "taken")
    info = desk.router.call("CA1")
    assert info is not None and info.in_room  # the loser put the caller in their room
    assert desk.router.claim_leg("CA1", "someone-else").outcome == "none"
    # REST failed: the claim is given back, and a caller in their room is offered again
    assert desk.router.leg_failed("CA1", "a01") is True
    assert [o.call_sid for o in desk.router.tick()] == ["CA1"]
    assert desk.router.claim_leg("CA1", "a01").outcome == "claimed"
    desk.router.agent_leg("CA1", "a01", "CAleg", room=True)
    assert desk.router.leg_failed("CA1", "a01") is False  # a placed leg is not given back
    assert desk.router.claim_leg("CA1", "a01").outcome == "taken"
    desk.router.dial_result("CA1", "a01", "no-answer", 0)  # missed: a new offer, unclaimed
    desk.agent("a02")
    fresh = desk.router.offer_for("CA1")
    assert fresh is not None and fresh.agent.id == "a02"
    assert desk.router.claim_leg("CA1", "a02").outcome == "claimed"


def at_the_door(desk: Desk) -> None:
    """CA1 offered a01, the leg claimed and its create out: the caller at their room's door."""
    desk.agent("a01")
    assert isinstance(desk.router.arrive("CA1", caller(), "general"), Offer)
    assert desk.router.claim_leg("CA1", "a01").outcome == "claimed"


def test_a_caller_at_their_rooms_door_is_dialled_once_a_create_fails_and_a_late_leg_is_refused(
    desk: Desk,
) -> None:
    # ivr/call/voice/entering.py: the caller waits at the door while the leg is "placing"
    at_the_door(desk)
    placing = desk.router.offer_for("CA1")
    assert placing is not None and placing.leg_claim == "placing" and not placing.in_room
    # a create still out is not taken over unless the door says it is late
    assert desk.router.dial_instead("CA1", "a01") == "placing"
    assert desk.router.dial_instead("CA1", "a01", force=True) == "dial"
    dialled = desk.router.call("CA1")
    assert dialled is not None and dialled.leg_claim == "dial"
    # the create comes back after all: refused (its leg is ended), and its failure changes
    # nothing either: the <Dial> holds the offer
    assert desk.router.agent_leg("CA1", "a01", "CAlate", room=False) is False
    assert desk.router.leg_failed("CA1", "a01") is False
    after = desk.router.call("CA1")
    assert after is not None and (after.agent_leg, after.leg_claim) == ("", "dial")
    assert desk.router.claim_leg("CA1", "a01").outcome == "taken"
    assert desk.router.dial_instead("someone", "a01") == "none"


def test_a_leg_placed_while_the_caller_is_at_the_door_puts_them_in_the_room_when_they_enter(
    desk: Desk,
) -> None:
    at_the_door(desk)
    assert desk.router.agent_leg("CA1", "a01", "CAleg", room=False) is True
    placed = desk.router.call("CA1")
    assert placed is not None and placed.agent_leg == "CAleg" and placed.leg_claim == ""
    assert not placed.in_room  # still at the door: a miss now would have them pulled
    assert desk.router.dial_instead("CA1", "a01", force=True) == "room"  # too late to <Dial>
    desk.router.entered_room("CA1", "a01", "CAleg")
    entered = desk.router.call("CA1")
    assert entered is not None and entered.in_room and entered.agent_leg == "CAleg"
