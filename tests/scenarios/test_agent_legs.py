"""The agent's leg on the conference path, end to end through the webhooks and the offline
Twilio: a phone-number agent accepts with a key; a leg that ends before the caller is joined
is a miss; a late report of an earlier leg changes nothing."""

from __future__ import annotations

from datetime import date

import pytest

from dialects.packs import default_packs
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import AgentPhone, VirtualCaller
from ivr.simulator.offline import Offline
from routing.callers.caller import Customer
from routing.clock import FixedClock
from routing.queues.agents import Agent
from tests.helpers.hotline import offline_hotline
from tests.helpers.people import SENIOR

MOBILE = "+8613900000009"  # an agent reached on their mobile phone
PACKS = default_packs()


@pytest.fixture(params=["conference", "dial"])
def hotline(redis_url: str, clock: FixedClock, request: pytest.FixtureRequest) -> Offline:
    return offline_hotline(redis_url, clock, settings={"ivr.connect": request.param})


def _phone_agent(off: Offline, agent_id: str, **phone: object) -> AgentPhone:
    """An agent whose contact is a phone number, available now."""
    agent = Agent(agent_id, f"Agent {agent_id}", MOBILE, frozenset({"senior"}), ("mandarin",))
    off.engine.agents.save(agent)
    offers = off.engine.router.set_agent_state(agent_id, "available")
    found = off.sim.people.add_agent(MOBILE, **phone)  # type: ignore[arg-type]
    off.dispatcher().act(offers, off.base)
    return found


def _events(leg: Leg) -> list[str]:
    return [line.text for line in leg.transcript if line.kind == "event"]


def _legs_to(off: Offline, address: str) -> list[Leg]:
    return [leg for leg in off.sim.legs.values() if leg.to == address]


def test_a_phone_agents_voicemail_is_a_miss_and_the_next_agent_is_rung_at_once(
    hotline: Offline,
) -> None:
    mobile = _phone_agent(hotline, "mobile", voicemail_s=40.0, answer_delay_s=(3.0, 3.0))
    hotline.run(until=60)  # `mobile` has been idle longest: offered first
    desk = hotline.add_agent("desk", {"senior"}, aht_s=60.0, answer_delay_s=(2.0, 2.0))
    caller = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    [voicemail] = _legs_to(hotline, MOBILE)
    [rung] = _legs_to(hotline, "client:desk")
    assert voicemail.answered_at is not None and voicemail.bridged_at is None
    # no key: the leg ends after the accept prompt, not when the voicemail hangs up (40 s)
    assert voicemail.ended_at is not None and voicemail.ended_at - voicemail.answered_at < 30
    # the next agent at once: rung from the room, or after the caller hears "reroute" on the
    # classic path (its <Dial> action)
    reroute = PACKS.text("mandarin", "reroute")
    classic = hotline.engine.settings.ivr.connect == "dial"
    late = hotline.sim.speaking_time(reroute) / 0.8 + 1.0 if classic else 1.0
    assert rung.created_at <= voicemail.ended_at + late
    assert "connected to client:desk" in _events(caller) and desk.calls == 1
    assert mobile.calls == 0
    info = hotline.engine.router.call(caller.sid)
    assert info is not None and info.state == "done" and info.agent_id == "desk"
    figures = hotline.engine.stats.day()["all"]["senior"]
    assert (figures.answered, figures.abandoned) == (1, 0)
    assert not hotline.sim.faults


def test_a_phone_agent_who_presses_a_key_is_joined_to_the_caller(hotline: Offline) -> None:
    mobile = _phone_agent(hotline, "mobile", aht_s=60.0, answer_delay_s=(3.0, 3.0))
    caller = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    [leg] = _legs_to(hotline, MOBILE)
    prompt = PACKS.text("mandarin", "agent_accept")
    assert any(x.kind == "input" and x.party == "agent" for x in leg.transcript)  # the key
    if hotline.engine.settings.ivr.connect == "conference":  # the TwiML placed with the leg
        [form] = [r[2] for r in hotline.rest.api.requests if r[2].get("To") == MOBILE]
        assert "<Gather" in form["Twiml"] and prompt in form["Twiml"]
    assert f"connected to {MOBILE}" in _events(caller) and mobile.calls == 1
    info = hotline.engine.router.call(caller.sid)
    assert info is not None and info.state == "done" and info.agent_id == "mobile"
    assert not hotline.sim.faults


def test_a_late_report_of_an_earlier_agent_leg_changes_nothing(
    redis_url: str, clock: FixedClock
) -> None:
    # the conference path alone: the classic path's <Dial> reports through its action, on the
    # caller's leg, and has no agent's leg of its own to report late
    hotline = offline_hotline(redis_url, clock, settings={"ivr.connect": "conference"})
    hotline.add_agent("desk", {"senior"}, aht_s=600.0, answer_delay_s=(2.0, 2.0))
    caller = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run(until=30)
    info = hotline.engine.router.call(caller.sid)
    assert info is not None and info.state == "on_call"
    # a "completed" of a leg that is not the offer's own (delivered late, out of order)
    placement, offers = hotline.engine.router.dial_result_tick(
        caller.sid, "desk", "completed", 0, "CA" + "f" * 32
    )
    info = hotline.engine.router.call(caller.sid)
    assert info is not None and info.state == "on_call" and not offers


def test_a_conversation_shorter_than_the_callbacks_delay_is_one_conversation(
    hotline: Offline,
) -> None:
    """The room's start and the agent's end are sent asynchronously and may arrive in either
    order (the offline Twilio delays each up to callback_jitter_s): an agent who hangs up a
    fifth of a second after joining still had the one conversation, and the caller is not
    put back in their room to wait for nobody."""
    assert hotline.sim.callback_jitter_s >= 1.0  # Twilio's ways, as the suite runs them
    desk = hotline.add_agent("desk", {"senior"}, talk_s=0.2, answer_delay_s=(2.0, 2.0))
    numbers = [f"+86138000001{n:02d}" for n in range(8)]
    for n, number in enumerate(numbers):
        hotline.engine.directory.save(
            Customer(f"s{n}", "老人", date(1950, 1, 1), "mandarin", (number,))
        )
    legs = [
        hotline.call(VirtualCaller(number, hotline.sim.rng), delay=40.0 * n)
        for n, number in enumerate(numbers)
    ]
    hotline.run()
    apology = PACKS.text("mandarin", "fallback_apology")
    for leg in legs:
        assert _events(leg).count("connected to client:desk") == 1, _events(leg)
        assert apology not in [x.text for x in leg.transcript]
        info = hotline.engine.router.call(leg.sid)
        assert info is not None and info.state == "done"
    figures = hotline.engine.stats.day()["all"]["senior"]
    assert (figures.answered, figures.abandoned, figures.missed) == (8, 0, 0)
    assert desk.calls == 8 and not hotline.sim.faults
