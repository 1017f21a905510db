"""Answering-machine detection on call-backs, end to end through the webhooks and the
offline Twilio, which classes who answers as Twilio documents it (core/amd.py): a voicemail,
a fax, a silent line, and a senior who talks for longer than the speech threshold."""

from __future__ import annotations

from datetime import date

import pytest

from app import create_app
from dialects.packs import default_packs
from ivr.simulator.core.amd import Detection, classify
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.offline import Offline
from routing.callers.caller import Customer
from routing.clock import FixedClock
from tests.conftest import CLUSTER
from tests.helpers.hotline import ask_for_a_call_back, call_backs, events, heard

SENIOR = "+8613800000001"  # born 1954: 72 on the test date
PACKS = default_packs()
# "喂？喂？您好，哪位啊？" and a little more: longer than the speech threshold
TALKATIVE_S = 4.0


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    off = Offline(
        create_app,
        {
            "redis.url": redis_url,
            "redis.cluster": CLUSTER,
            "routing.callback_offer_after": 20,
            "routing.callback_retry_seconds": 60,
            "ivr.connect": "dial",
        },
        clock=clock,
        seed=5,
    )
    off.engine.directory.save(Customer("c1", "陈伯", date(1954, 3, 1), "mandarin", (SENIOR,)))
    return off


def test_a_senior_who_talks_on_answering_a_call_back_is_put_through_not_hung_up_on(
    hotline: Offline,
) -> None:
    caller = VirtualCaller(SENIOR, hotline.sim.rng, accept_callback=True)
    inbound = ask_for_a_call_back(hotline, caller).sid
    caller.greeting_s = TALKATIVE_S  # a machine by the speech threshold
    caller.inputs = [Input(speech="是", after=2.0)]  # the one question, answered
    agent = hotline.add_agent("elder", {"senior"}, aht_s=60.0)
    hotline.run()
    [back] = call_backs(hotline)
    assert "connected to client:elder" in events(back) and agent.calls == 1
    assert "<Hangup>" not in events(back)[: events(back).index("connected to client:elder")]
    assert PACKS.text("mandarin", "machine_confirm") in heard(back)  # asked once
    info = hotline.engine.router.call(inbound)
    assert info is not None and info.state == "done" and info.callback_attempts == 0
    seniors = hotline.engine.stats.day()["all"]["senior"]
    assert (seniors.answered, seniors.abandoned) == (1, 0)
    [form] = [r[2] for r in hotline.rest.api.requests if r[1].endswith("/Calls.json")]
    assert form.get("AsyncAmd") == "true" and form.get("MachineDetection") == "Enable"
    assert "/voice/amd?" in form.get("AsyncAmdStatusCallback", "")
    assert (form.get("MachineDetectionTimeout"), form.get("MachineDetectionSpeechThreshold")) == (
        "10",
        "3000",
    )
    assert form.get("MachineDetectionSpeechEndThreshold") == "1200"
    assert form.get("MachineDetectionSilenceTimeout") == "5000"
    assert not hotline.sim.faults


def test_a_senior_is_greeted_at_once_not_after_detection(hotline: Offline) -> None:
    caller = VirtualCaller(SENIOR, hotline.sim.rng, accept_callback=True)
    ask_for_a_call_back(hotline, caller)
    caller.greeting_s = 0.0  # says nothing: undecided until the silence timeout (5 s)
    hotline.add_agent("elder", {"senior"}, aht_s=60.0)
    hotline.run()
    [back] = call_backs(hotline)
    assert back.answered_at is not None
    said = [line for line in back.transcript if line.kind == "say" and line.party == "caller"]
    assert said and said[0].at - back.answered_at < 1.0, said[0].text  # no silence first
    assert said[0].text.startswith("您好，这里是")  # callback_intro
    assert "connected to client:elder" in events(back)
    assert PACKS.text("mandarin", "machine_confirm") not in heard(back)  # unknown: a person


def test_a_voicemail_is_asked_once_then_left_the_short_message_and_retried(
    hotline: Offline,
) -> None:
    caller = VirtualCaller(SENIOR, hotline.sim.rng, accept_callback=True)
    inbound = ask_for_a_call_back(hotline, caller).sid
    caller.answers = "voicemail"
    agent = hotline.add_agent("elder", {"senior"}, aht_s=60.0)
    hotline.run(until=hotline.sim.now() + 50)
    [first] = call_backs(hotline)
    assert first.ended and agent.calls == 0 and first.bridged_at is None
    said = heard(first)
    assert PACKS.text("mandarin", "machine_confirm") in said
    assert any(text.startswith("您好，这里是") and "没能联系上您" in text for text in said)
    info = hotline.engine.router.call(inbound)
    assert info is not None and info.state == "retry" and info.callback_attempts == 1
    assert hotline.engine.agents.state("elder").state == "available"
    caller.answers = "person"  # back home: the retry reaches them
    hotline.run()
    assert len(call_backs(hotline)) == 2 and agent.calls == 1
    info = hotline.engine.router.call(inbound)
    assert info is not None and info.state == "done"
    assert not hotline.sim.faults


@pytest.mark.parametrize(
    ("answers", "speaks", "mode", "by"),
    [
        ("person", 1.0, "Enable", "human"),
        ("person", 4.0, "Enable", "machine_start"),
        ("person", 4.0, "DetectMessageEnd", "machine_end_silence"),
        ("person", 0.0, "Enable", "unknown"),
        ("voicemail", 1.0, "Enable", "machine_start"),
        ("voicemail", 1.0, "DetectMessageEnd", "machine_end_beep"),
        ("fax", 0.0, "Enable", "fax"),
    ],
)
def test_the_offline_twilio_classes_who_answers_by_the_thresholds_given(
    answers: str, speaks: float, mode: str, by: str
) -> None:
    detection = Detection(mode=mode, speech_threshold_s=3.0)
    assert classify(detection, answers, speaks, 8.0)[0] == by
