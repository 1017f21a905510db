"""Whole calls through the small test app: each TwiML verb with Twilio's semantics."""

from __future__ import annotations

import pytest
from flask import Flask

from ivr.simulator.core.documents import APPLICATION_ERROR
from ivr.simulator.core.people import Input
from ivr.simulator.core.switch import Simulator
from tests.helpers import fakeapp
from tests.helpers.emulator import FROM, call, said, seen


def test_the_first_request_carries_twilio_standard_parameters(
    sim: Simulator, fake_app: Flask
) -> None:
    leg = call(sim, fakeapp.SUPPORT, Input(speech="agent"))
    sim.run()
    first = seen(fake_app, "/incoming")[0]
    assert first["CallSid"] == leg.sid and len(leg.sid) == 34 and leg.sid.startswith("CA")
    assert first["CallStatus"] == "ringing" and first["Direction"] == "inbound"
    assert first["ApiVersion"] == "2010-04-01" and first["AccountSid"].startswith("AC")
    assert first["From"] == first["Caller"] == FROM
    assert first["To"] == first["Called"] == fakeapp.SUPPORT
    assert first["FromCountry"] == "US"
    assert seen(fake_app, "/menu")[0]["CallStatus"] == "in-progress"


def test_speech_posts_speech_result_and_confidence(sim: Simulator, fake_app: Flask) -> None:
    leg = call(sim, fakeapp.SUPPORT, Input(speech="agent please"))
    sim.run()
    form = seen(fake_app, "/menu")[0]
    assert form["SpeechResult"] == "agent please" and float(form["Confidence"]) > 0
    assert "Digits" not in form
    assert said(leg)[-1] == "You said agent please"
    assert leg.status == "completed"


MENU = "Press 1 to wait, 2 for Alice."


def test_the_nested_prompt_plays_before_the_keypress_is_posted(
    sim: Simulator, fake_app: Flask
) -> None:
    prompt_s = sim.speaking_time(MENU) + 1.0  # Say + Pause 1
    leg = call(sim, fakeapp.SUPPORT, Input(digits="2", after=prompt_s + 1.0))
    sim.run()
    assert said(leg)[0] == MENU
    press = next(line for line in leg.transcript if line.kind == "input")
    assert press.at == pytest.approx(prompt_s + 1.0)
    assert seen(fake_app, "/menu")[0]["Digits"] == "2"


def test_a_key_during_the_prompts_cuts_them_short_and_is_posted_at_once(
    sim: Simulator, fake_app: Flask
) -> None:
    sim.people.add_agent("client:alice", answer_delay_s=(3.0, 3.0))
    leg = call(sim, fakeapp.SUPPORT, Input(digits="2", after=0.5))
    sim.run()
    press = next(line for line in leg.transcript if line.kind == "input")
    assert press.at == pytest.approx(0.5) and seen(fake_app, "/menu")[0]["Digits"] == "2"
    ringing = next(line for line in leg.transcript if line.text == "ringing client:alice")
    assert ringing.at == pytest.approx(0.5)  # neither the rest of the Say nor the Pause played


def test_a_key_at_once_still_starts_the_prompt(sim: Simulator, fake_app: Flask) -> None:
    leg = call(sim, fakeapp.SUPPORT, Input(digits="1", after=0.0))
    sim.run(until=2)
    assert said(leg)[0] == MENU  # it began; the key stopped it in its first instant
    assert seen(fake_app, "/menu")[0]["Digits"] == "1"
    assert next(line for line in leg.transcript if line.kind == "input").at == 0.0
    sim.hang_up(leg.sid)
    sim.run()


def test_speech_cuts_the_prompts_short_too(sim: Simulator, fake_app: Flask) -> None:
    leg = call(sim, fakeapp.SUPPORT, Input(speech="agent", after=2.0))
    sim.run()
    reply = next(line for line in leg.transcript if line.text == "You said agent")
    assert reply.at == pytest.approx(2.0)


def test_speech_waits_for_the_prompts_when_barge_in_is_off(sim: Simulator, fake_app: Flask) -> None:
    leg = call(sim, fakeapp.NO_BARGE_IN, Input(speech="claims", after=1.0))
    sim.run()
    prompt_s = sim.speaking_time("Say what you need after the tone.")
    reply = next(line for line in leg.transcript if line.text == "You said claims")
    assert reply.at == pytest.approx(prompt_s)


def test_a_key_the_gather_does_not_take_does_not_cut_the_prompts(
    sim: Simulator, fake_app: Flask
) -> None:
    leg = call(sim, fakeapp.NO_BARGE_IN, Input(digits="1", after=1.0))  # input="speech"
    sim.run(until=20)
    prompt_s = sim.speaking_time("Say what you need after the tone.")
    assert seen(fake_app, "/menu") == []
    assert leg.ended_at == pytest.approx(prompt_s + 4.0)  # the whole prompt, then the timeout


def test_a_key_later_than_the_timeout_after_the_prompts_is_no_input(
    sim: Simulator, fake_app: Flask
) -> None:
    prompt_s = sim.speaking_time(MENU) + 1.0
    leg = call(sim, fakeapp.SUPPORT, Input(digits="2", after=prompt_s + 4.5))  # timeout=4
    sim.run(until=prompt_s + 10)
    assert seen(fake_app, "/menu") == []
    missed = next(line for line in leg.transcript if line.text == "We did not get that.")
    assert missed.at == pytest.approx(prompt_s + 4.0)
    sim.hang_up(leg.sid)
    sim.run()


def test_no_input_falls_through_to_the_next_verb_and_redirect(
    sim: Simulator, fake_app: Flask
) -> None:
    leg = call(sim, fakeapp.SUPPORT)
    sim.run(until=60)
    assert "We did not get that." in said(leg)
    assert seen(fake_app, "/menu") == []
    again = [args for p, args, _ in fake_app.config["seen"] if p == "/incoming"]
    assert again[0] == {} and again[1] == {"again": "1"}
    sim.hang_up(leg.sid)
    sim.run()
    assert leg.status == "completed"


def test_keys_ignored_when_the_gather_takes_only_speech(sim: Simulator) -> None:
    from xml.etree.ElementTree import Element

    from ivr.simulator.core.interpreter import _gather_result

    gather = Element("Gather", {"input": "speech"})
    assert _gather_result(gather, Input(digits="1"), 5) == {}
    both = Element("Gather", {"input": "dtmf speech", "numDigits": "2"})
    assert _gather_result(both, Input(digits="1234"), 5) == {"Digits": "12", "FinishedOnKey": ""}
    finish = Element("Gather", {"finishOnKey": "*"})
    assert _gather_result(finish, Input(digits="12*9"), 5)["Digits"] == "12"
    assert _gather_result(Element("Gather"), Input(digits="#"), 5) == {}  # bare # is no input
    assert _gather_result(Element("Gather"), Input(digits="5", after=6), 5) == {}  # too late


def test_enqueue_rerequests_the_wait_url_then_leave_posts_the_action(
    sim: Simulator, fake_app: Flask
) -> None:
    leg = call(sim, fakeapp.SUPPORT, Input(digits="1"))
    sim.run()
    waits = seen(fake_app, "/wait")
    assert len(waits) >= 3
    assert [w["QueuePosition"] for w in waits] == ["1"] * len(waits)
    times = [int(w["QueueTime"]) for w in waits]
    assert times == sorted(times) and times[-1] >= 12
    assert {w["CurrentQueueSize"] for w in waits} == {"1"}
    assert waits[0]["MaxQueueSize"] == "1000" and waits[0]["QueueSid"].startswith("QU")
    result = seen(fake_app, "/queue-result")[0]
    assert result["QueueResult"] == "leave"
    assert result["QueueSid"] == waits[0]["QueueSid"] and int(result["QueueTime"]) >= 12
    assert "not reached" not in said(leg)
    assert said(leg)[-1] == "Queue result leave"


def test_the_queue_position_counts_callers_ahead(sim: Simulator, fake_app: Flask) -> None:
    call(sim, fakeapp.SUPPORT, Input(digits="1"))
    sim.run(until=1)
    second = call(sim, fakeapp.SUPPORT, Input(digits="1"))
    sim.run(until=45)
    mine = [w for w in seen(fake_app, "/wait") if w["CallSid"] == second.sid]
    assert mine[0]["QueuePosition"] == "2" and mine[0]["CurrentQueueSize"] == "2"
    assert mine[-1]["QueuePosition"] == "1"  # the first caller has left
    assert int(seen(fake_app, "/wait")[-1]["AvgQueueTime"]) >= 12


def test_a_caller_who_gives_up_in_the_queue_posts_hangup_then_status(
    sim: Simulator, fake_app: Flask
) -> None:
    leg = call(sim, fakeapp.SUPPORT, Input(digits="1"), patience_s=7.0)
    sim.run()
    assert seen(fake_app, "/queue-result")[0]["QueueResult"] == "hangup"
    status = seen(fake_app, "/status")[-1]
    assert status["CallStatus"] == "completed" and status["CallSid"] == leg.sid
    assert int(status["CallDuration"]) == leg.duration() > 0
    assert status["CallbackSource"] == "call-progress-events" and "Timestamp" in status
    assert leg.bridged_at is None and leg.queue_results == ["hangup"]


def test_dial_client_runs_the_whisper_on_the_agent_leg_then_posts_the_action(
    sim: Simulator, fake_app: Flask
) -> None:
    alice = sim.people.add_agent("client:alice", aht_s=100.0, answer_delay_s=(3.0, 3.0))
    leg = call(sim, fakeapp.SUPPORT, Input(digits="2"))
    sim.run()
    whisper = seen(fake_app, "/whisper")[0]
    assert whisper["Direction"] == "outbound-dial" and whisper["ParentCallSid"] == leg.sid
    assert whisper["To"] == "client:alice" and whisper["CallSid"] != leg.sid
    assert said(leg, "agent") == [f"Call from {FROM}"]
    assert f"Call from {FROM}" not in said(leg, "caller")  # the caller never hears the whisper
    result = seen(fake_app, "/dial-result")[0]
    assert result["DialCallStatus"] == "completed" and result["DialCallSid"] == whisper["CallSid"]
    assert int(result["DialCallDuration"]) >= 0 and alice.calls == 1 and not alice.busy
    assert said(leg)[-1] == "Dial completed"


def test_a_whisper_lasts_as_long_as_its_text(sim: Simulator) -> None:
    sim.people.add_agent("client:alice", answer_delay_s=(3.0, 3.0))
    leg = call(sim, fakeapp.SUPPORT, Input(digits="2", after=0.0))
    sim.run()
    whisper = next(line for line in leg.transcript if line.party == "agent")
    connected = next(line for line in leg.transcript if line.text == "connected to client:alice")
    assert whisper.at == pytest.approx(3.0)
    assert connected.at - whisper.at == pytest.approx(sim.speaking_time(f"Call from {FROM}"))


def test_an_agent_who_misses_the_offer_gives_no_answer_after_the_timeout(
    sim: Simulator, fake_app: Flask
) -> None:
    sim.people.add_agent("client:alice", miss_probability=1.0)
    leg = call(sim, fakeapp.SUPPORT, Input(digits="2"))
    sim.run()
    assert seen(fake_app, "/dial-result")[0]["DialCallStatus"] == "no-answer"
    assert seen(fake_app, "/whisper") == []
    ringing = next(line for line in leg.transcript if line.text == "ringing client:alice")
    assert seen(fake_app, "/dial-result") and leg.ended_at is not None
    assert leg.ended_at - ringing.at >= 10.0


def test_reject_ends_busy_without_answering(sim: Simulator) -> None:
    leg = call(sim, fakeapp.REJECT)
    sim.run()
    assert leg.status == "busy" and leg.answered_at is None


def test_an_unknown_verb_is_12200_and_the_caller_hears_twilios_apology(sim: Simulator) -> None:
    leg = call(sim, fakeapp.BROKEN)
    sim.run()
    assert [f.code for f in sim.faults] == [12200]
    assert "Shout" in sim.faults[0].message
    assert said(leg) == [APPLICATION_ERROR]  # nothing of the broken document ran


def test_bad_xml_goes_to_the_fallback_url_with_the_error(sim: Simulator, fake_app: Flask) -> None:
    sim.add_number(
        fakeapp.BAD_XML, f"{fakeapp.BASE}/incoming", fallback_url=f"{fakeapp.BASE}/connect"
    )
    leg = call(sim, fakeapp.BAD_XML)
    sim.run()
    assert sim.faults[0].code == 12100
    fallback = seen(fake_app, "/connect")[0]
    assert fallback["ErrorCode"] == "12100" and fallback["ErrorUrl"].endswith("/incoming")
    assert said(leg) == ["Pulled out by REST"]


def test_a_dial_in_a_wait_url_is_refused_and_the_enqueue_action_gets_error(
    sim: Simulator, fake_app: Flask
) -> None:
    call(sim, fakeapp.WAIT_DIALS)
    sim.run()
    assert sim.faults[0].code == 12200 and "wait" in sim.faults[0].message
    assert seen(fake_app, "/queue-result")[0]["QueueResult"] == "error"


def test_a_dial_in_a_whisper_is_refused(sim: Simulator, fake_app: Flask) -> None:
    sim.people.add_agent("client:bob", answer_delay_s=(1.0, 1.0))
    call(sim, fakeapp.WHISPER_DIAL)
    sim.run()
    assert sim.faults[0].code == 12200 and "whisper" in sim.faults[0].message
    assert seen(fake_app, "/dial-result")[0]["DialCallStatus"] == "no-answer"
