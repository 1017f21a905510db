"""Whole calls through the real app (ivr/call/voice.py, the routing engine, Redis) and the
simulator."""

from __future__ import annotations

from datetime import date

import pytest

from dialects.packs import default_packs
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.offline import Offline
from routing.callers.caller import Customer
from routing.clock import FixedClock
from tests.helpers.hotline import offline_hotline
from tests.helpers.people import SENIOR, SENIOR_CUSTOMER, YOUNG, YOUNG_CUSTOMER

PACKS = default_packs()


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    """The app on the test Redis and clock, with two customers in the directory."""
    settings = {
        "routing.callback_offer_after": 20,
        # the classic path: greeting, then <Dial> (the conference path's are
        # tests/scenarios/test_time_to_human.py's)
        "ivr.connect": "dial",
    }
    people = (SENIOR_CUSTOMER, YOUNG_CUSTOMER)
    return offline_hotline(redis_url, clock, settings=settings, customers=people, seed=11)


def heard(leg: Leg, party: str = "caller") -> list[str]:
    return [line.text for line in leg.transcript if line.party == party and line.kind == "say"]


def connected_to(leg: Leg) -> list[str]:
    return [line.text for line in leg.transcript if line.text.startswith("connected to ")]


def test_a_senior_reaches_a_senior_trained_agent_who_hears_the_whisper(hotline: Offline) -> None:
    young = hotline.add_agent("young", {"policy"}, aht_s=60.0)
    senior = hotline.add_agent("elder", {"senior"}, aht_s=60.0)
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    assert not hotline.sim.faults
    assert connected_to(leg) == ["connected to client:elder"]
    assert senior.calls == 1 and young.calls == 0
    whisper = heard(leg, "agent")  # ivr.whisper "short": the console shows the rest
    assert whisper == [PACKS.text("mandarin", "whisper_senior_short")]
    assert all("陈伯" not in text for text in heard(leg))  # the caller does not hear it
    assert not any(line.kind == "input" for line in leg.transcript)  # no menu
    assert leg.status == "completed"


@pytest.mark.parametrize(
    "said", [Input(digits="1"), Input(speech=PACKS.words("mandarin", "policy")[0])]
)
def test_a_younger_caller_goes_through_the_menu_by_keys_and_by_speech(
    hotline: Offline, said: Input
) -> None:
    hotline.add_agent("claims", {"claims"}, aht_s=60.0)
    policy = hotline.add_agent("policy", {"policy"}, aht_s=60.0)
    leg = hotline.call(VirtualCaller(YOUNG, hotline.sim.rng, inputs=[said]))
    hotline.run()
    assert not hotline.sim.faults
    assert connected_to(leg) == ["connected to client:policy"] and policy.calls == 1
    assert any(line.kind == "input" for line in leg.transcript)
    topic = PACKS.text("mandarin", "topic_policy")
    assert heard(leg, "agent") == [PACKS.text("mandarin", "whisper_other_short", queue=topic)]


def test_no_agent_free_the_caller_waits_hears_position_and_is_pulled_out(
    hotline: Offline,
) -> None:
    agent = hotline.add_agent("only", {"senior", "policy"}, aht_s=120.0)
    hotline.engine.directory.save(
        Customer("c3", "王婆", date(1950, 1, 1), "mandarin", ("+8613800000003",))
    )
    first = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    second = hotline.call(VirtualCaller("+8613800000003", hotline.sim.rng), delay=5)
    hotline.run()
    assert not hotline.sim.faults
    assert second.enqueued_at is not None and second.bridged_at is not None
    # the agent takes the second caller once their leg with the first has ended (the first, a
    # senior, may stay on a little, hearing the complaint channel: connect.room_result)
    agent_legs = sorted(
        (x for x in hotline.sim.legs.values() if x.to == "client:only"), key=lambda x: x.created_at
    )
    assert agent_legs[0].ended_at is not None and first.ended_at is not None
    assert first.bridged_at is not None and second.bridged_at >= agent_legs[0].ended_at - 1e-6
    said = " ".join(heard(second))
    assert PACKS.text("mandarin", "wait_next") in said or "位客户" in said
    assert second.queue_results and second.queue_results[0] in ("redirected", "leave")
    assert agent.calls == 2
    pulls = [r for r in hotline.rest.api.requests if "/Members/" in r[1]]
    assert pulls and pulls[0][1].endswith(f"/Members/{second.sid}.json")


def test_an_agents_no_answer_reroutes_without_losing_place(hotline: Offline) -> None:
    sleepy = hotline.add_agent("sleepy", {"senior"}, miss_probability=1.0)
    hotline.run(until=30)  # sleepy has been idle longest, so is offered the call first
    awake = hotline.add_agent("awake", {"senior"}, aht_s=60.0)
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    assert not hotline.sim.faults
    assert "ringing client:sleepy" in [line.text for line in leg.transcript]
    assert connected_to(leg) == ["connected to client:awake"]
    assert sleepy.calls == 0 and awake.calls == 1
    assert PACKS.text("mandarin", "reroute") in " ".join(heard(leg))
    info = hotline.engine.router.call(leg.sid)
    assert info is not None and info.agent_id == "awake"


def test_a_senior_asks_for_a_call_back_and_gets_it(hotline: Offline) -> None:
    senior = VirtualCaller(SENIOR, hotline.sim.rng, accept_callback=True)
    leg = hotline.call(senior)
    hotline.run(until=120)
    assert PACKS.text("mandarin", "callback_confirmed") in heard(leg)
    assert leg.ended and leg.bridged_at is None
    agent = hotline.add_agent("elder", {"senior"}, aht_s=60.0)
    hotline.run()
    back = [x for x in hotline.sim.legs.values() if x.direction == "outbound-api"]
    assert len(back) == 1 and back[0].to == SENIOR
    assert back[0].bridged_at is not None and agent.calls == 1
    intro = PACKS.text("mandarin", "callback_intro", hotline=hotline.engine.settings.hotline.name)
    assert intro in heard(back[0])
    assert not hotline.sim.faults


def test_a_caller_who_hangs_up_in_the_queue_is_abandoned(hotline: Offline) -> None:
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng, patience_s=15))
    hotline.run()
    assert leg.queue_results == ["hangup"] and leg.bridged_at is None
    info = hotline.engine.router.call(leg.sid)
    assert info is not None and info.state == "gone"
    assert not hotline.sim.faults


def test_a_call_back_booked_at_night_is_placed_through_the_offline_twilio_at_opening(
    hotline: Offline, clock: FixedClock
) -> None:
    clock.advance(13 * 3600)  # 23:00 in Shanghai: closed
    night = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))  # a senior is booked a call-back
    hotline.run()
    assert night.ended and hotline.engine.callbacks.count() == 1
    clock.advance(10 * 3600)  # 09:00: open
    agent = hotline.add_agent("elder", {"senior"}, aht_s=60.0)
    hotline.run()
    assert hotline.engine.callbacks.count() == 0
    back = [x for x in hotline.sim.legs.values() if x.direction == "outbound-api"]
    assert len(back) == 1 and back[0].to == SENIOR
    assert back[0].bridged_at is not None and agent.calls == 1
    assert hotline.engine.router.snapshot().queues["senior"].seniors_waiting == 0
