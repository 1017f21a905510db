"""Conferences in the offline Twilio: a caller waits in a room of their own until an agent
leg placed through REST joins it, as Twilio Flex connects callers (the TwiML <Conference>
page and the Conference and Participant resources)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest
from flask import Flask
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import AgentPhone, VirtualCaller
from ivr.simulator.core.switch import Simulator
from tests.helpers import fakeapp
from tests.helpers.emulator import AGENT, FROM, call, ring_agent, said, seen

HOLD = "Please hold"


def events(app: Flask) -> list[dict[str, str]]:
    """The room's events in the order they happened: Twilio sends each asynchronously, in no
    promised order of arrival, and numbers them (SequenceNumber) to be put back in order."""
    return sorted(seen(app, "/conf-events"), key=lambda e: int(e["SequenceNumber"]))


def kinds(app: Flask) -> list[str]:
    return [e["StatusCallbackEvent"] for e in events(app)]


def connected(leg: Leg) -> list[float]:
    return [line.at for line in leg.transcript if line.text.startswith("connected to ")]


def agent(sim: Simulator, answer_s: float = 3.0, talk_s: float = 30.0) -> AgentPhone:
    alice = sim.people.add_agent(AGENT, answer_delay_s=(answer_s, answer_s))
    alice.talk_time = lambda: talk_s  # type: ignore[method-assign]
    return alice


@pytest.mark.parametrize("dial_status", ["answered", "completed"])
def test_the_wait_url_loops_until_the_agent_starts_the_room_and_is_cut_at_once(
    sim: Simulator, api: Client, fake_app: Flask, dial_status: str
) -> None:
    sim.conferences.dial_status = dial_status
    alice = agent(sim)
    leg = call(sim, fakeapp.CONFERENCE)
    sim.run(until=10)
    assert len(seen(fake_app, "/conf-wait")) >= 4  # "Please hold" (2.2 s), requested again
    assert leg.bridged_at is None and said(leg) == [HOLD] * len(said(leg))
    agent_sid = ring_agent(api, leg.sid)
    sim.run()
    joined = 10 + 3.0 + sim.speaking_time("Caller")  # answer, whisper, then the Dial
    assert leg.bridged_at == pytest.approx(joined) and connected(leg) == [leg.bridged_at]
    assert f"connected to {AGENT}" in [line.text for line in leg.transcript]
    holds = [line.at for line in leg.transcript if line.text == HOLD]
    assert max(holds) < joined and joined - max(holds) < sim.speaking_time(HOLD)
    waits = [line.at for line in leg.transcript if line.kind == "say" and line.at > joined]
    assert waits == [pytest.approx(joined + 30.0)]  # only the Dial action's words, later
    result = seen(fake_app, "/conf-result")[0]
    assert result["DialCallStatus"] == dial_status and result["CallSid"] == leg.sid
    assert "DialCallSid" not in result and "DialCallDuration" not in result
    assert said(leg)[-1] == f"Conference {dial_status}"
    assert alice.calls == 1 and not alice.busy
    assert sim.legs[agent_sid].status == "completed" and leg.status == "completed"


def test_status_callbacks_are_numbered_in_order_with_twilios_parameters(
    sim: Simulator, api: Client, fake_app: Flask
) -> None:
    agent(sim)
    leg = call(sim, fakeapp.CONFERENCE)
    sim.run(until=5)
    agent_sid = ring_agent(api, leg.sid)
    sim.run()
    assert kinds(fake_app) == [
        "participant-join",
        "participant-join",
        "conference-start",
        "participant-leave",
        "participant-leave",
        "conference-end",
    ]
    got = events(fake_app)
    assert [int(e["SequenceNumber"]) for e in got] == [1, 2, 3, 4, 5, 6]
    times = [parsedate_to_datetime(e["Timestamp"]) for e in got]
    assert times == sorted(times)  # numbered as they happened
    assert {e["FriendlyName"] for e in got} == {leg.sid}
    assert len({e["ConferenceSid"] for e in got}) == 1 and got[0]["ConferenceSid"][:2] == "CF"
    assert all("Timestamp" in e and e["AccountSid"] == sim.account_sid for e in got)
    caller_in, agent_in, _, agent_out, caller_out, end = got
    assert caller_in["CallSid"] == leg.sid and caller_in["StartConferenceOnEnter"] == "false"
    assert agent_in["CallSid"] == agent_sid and agent_in["StartConferenceOnEnter"] == "true"
    assert agent_in["EndConferenceOnExit"] == "true" and agent_in["Muted"] == "false"
    assert agent_in["Hold"] == "false" and agent_in["Coaching"] == "false"
    assert agent_out["ReasonParticipantLeft"] == "participant_hung_up"
    assert agent_out["ParticipantCallStatus"] == "completed"
    assert caller_out["CallSid"] == leg.sid
    assert end["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-left"
    assert end["CallSidEndingConference"] == agent_sid and "CallSid" not in end


def test_a_caller_who_hangs_up_waiting_leaves_and_ends_the_room(
    sim: Simulator, api: Client, fake_app: Flask
) -> None:
    alice = agent(sim, answer_s=8.0)
    leg = sim.place_call(VirtualCaller(FROM, sim.rng, patience_s=5.0), fakeapp.CONFERENCE)
    sim.run(until=1)
    room = api.conferences.list(friendly_name=leg.sid)[0]
    added = api.conferences(room.sid).participants.create(
        from_=fakeapp.CONFERENCE, to=AGENT, start_conference_on_enter=True
    )
    sim.run()
    assert leg.bridged_at is None and leg.status == "completed"
    assert kinds(fake_app) == ["participant-join", "participant-leave", "conference-end"]
    leave = events(fake_app)[1]
    assert leave["CallSid"] == leg.sid and leave["ReasonParticipantLeft"] == "participant_hung_up"
    assert float(seen(fake_app, "/status")[-1]["CallDuration"]) >= 4  # the caller's own call
    result = seen(fake_app, "/conf-result")[0]
    assert result["CallStatus"] == "completed" and result["DialCallStatus"] == "answered"
    assert api.conferences(room.sid).fetch().status == "completed"
    assert sim.legs[added.call_sid].status == "canceled" and alice.calls == 0


def test_the_participants_api_dials_the_agent_into_the_room_and_rest_ends_it(
    sim: Simulator, api: Client, fake_app: Flask
) -> None:
    alice = agent(sim, talk_s=300.0)
    leg = call(sim, fakeapp.CONFERENCE)
    sim.run(until=2)
    (room,) = api.conferences.list(friendly_name=leg.sid, status="init")
    assert room.status == "init" and room.sid.startswith("CF")
    added = api.conferences(room.sid).participants.create(
        from_=fakeapp.CONFERENCE,
        to=AGENT,
        label="agent",
        early_media=True,
        start_conference_on_enter=True,
        end_conference_on_exit=True,
    )
    assert added.status == "queued" and added.conference_sid == room.sid and added.label == "agent"
    sim.run(until=4)
    assert api.conferences(room.sid).participants("agent").fetch().status == "ringing"
    sim.run(until=10)
    assert leg.bridged_at == pytest.approx(5.0)  # answered after 3 s: straight into the room
    assert api.conferences(room.sid).fetch().status == "in-progress"
    people = api.conferences(room.sid).participants.list()
    assert {p.call_sid for p in people} == {leg.sid, added.call_sid}
    assert {p.status for p in people} == {"connected"}
    muted = api.conferences(room.sid).participants("agent").update(muted=True)
    assert muted.muted is True and muted.call_sid == added.call_sid
    assert api.conferences(room.sid).participants.list(muted=True)[0].label == "agent"
    api.conferences(room.sid).update(status="completed")
    sim.run()
    done = api.conferences(room.sid).fetch()
    assert done.status == "completed" and done.reason_conference_ended == "conference-ended-via-api"
    assert api.conferences(room.sid).participants.list() == []
    assert kinds(fake_app)[-4:] == [
        "participant-mute",
        "participant-leave",
        "participant-leave",
        "conference-end",
    ]
    assert {e["ReasonParticipantLeft"] for e in events(fake_app)[-3:-1]} == {
        "conference_ended_via_api"
    }
    assert seen(fake_app, "/conf-result")[0]["DialCallStatus"] == "answered"
    assert sim.legs[added.call_sid].status == "completed" and not alice.busy


def test_kicking_the_agent_ends_the_room_and_the_caller_goes_on_to_the_action(
    sim: Simulator, api: Client, fake_app: Flask
) -> None:
    agent(sim, talk_s=300.0)
    leg = call(sim, fakeapp.CONFERENCE)
    sim.run(until=2)
    agent_sid = ring_agent(api, leg.sid)
    sim.run(until=20)
    room = api.conferences.list(friendly_name=leg.sid)[0]
    assert api.conferences(room.sid).participants(agent_sid).delete() is True
    sim.run()
    kicked, dropped = events(fake_app)[-3:-1]
    assert kicked["CallSid"] == agent_sid
    assert kicked["ReasonParticipantLeft"] == "participant_kicked"
    assert dropped["CallSid"] == leg.sid
    end = events(fake_app)[-1]
    assert end["ReasonConferenceEnded"] == "participant-with-end-conference-on-exit-kicked"
    assert said(leg)[-1] == "Conference answered"  # the action's answer runs at once
    assert leg.ended_at == pytest.approx(20 + sim.speaking_time("Conference answered"))
    with pytest.raises(TwilioRestException) as err:
        api.conferences(room.sid).participants(agent_sid).fetch()
    assert err.value.status == 404


def test_a_participant_added_by_name_creates_the_room(
    sim: Simulator, api: Client, fake_app: Flask
) -> None:
    guest = sim.people.add_caller(VirtualCaller("+14155550177", sim.rng, answer_delay_s=2.0))
    agent(sim, answer_s=5.0)
    wait = f"{fakeapp.BASE}/conf-wait"
    first = api.conferences("room-7").participants.create(
        from_=fakeapp.CONFERENCE, to=guest.number, start_conference_on_enter=False, wait_url=wait
    )
    api.conferences("room-7").participants.create(from_=fakeapp.CONFERENCE, to=AGENT)
    sim.run(until=30)
    (room,) = api.conferences.list(friendly_name="room-7")
    assert first.conference_sid == room.sid and room.status == "in-progress"
    guest_leg = sim.legs[first.call_sid]
    assert said(guest_leg)[:2] == [HOLD, HOLD] and guest_leg.bridged_at == pytest.approx(5.0)
    with pytest.raises(TwilioRestException) as err:
        api.conferences("CF" + "0" * 32).participants.create(from_=FROM, to=AGENT)
    assert err.value.status == 404


def test_a_wait_url_with_a_gather_is_13238_and_the_caller_waits_in_silence(
    sim: Simulator, api: Client, fake_app: Flask
) -> None:
    agent(sim)
    leg = call(sim, fakeapp.BAD_WAIT_ROOM)
    sim.run(until=20)
    assert [f.code for f in sim.faults] == [13238]
    assert len(seen(fake_app, "/conf-wait-gather")) == 1 and not leg.ended
    ring_agent(api, leg.sid)
    sim.run()
    assert leg.bridged_at is not None and said(leg)[-1] == "Conference answered"
