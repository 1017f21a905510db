"""The call flow through signed webhooks, branch by branch, asserting TwiML structure."""

from __future__ import annotations

from datetime import date

import pytest
from flask.testing import FlaskClient

from app import create_app
from ivr import services
from routing.callers.caller import Customer
from routing.clock import FixedClock
from routing.engine import Engine
from tests.conftest import CLUSTER
from tests.helpers.people import SENIOR, YOUNG, add_agent, add_people
from tests.webhook_client import BASE, call_sid, params, post, spoken, twiml

UNKNOWN = "+8613912345678"


def incoming(client: FlaskClient, frm: str, sid: str | None = None) -> object:
    return twiml(post(client, "/voice/incoming", params(frm, sid or call_sid())))


def test_a_senior_hears_one_slow_greeting_and_goes_straight_to_a_senior_agent(
    client: FlaskClient, people: Engine
) -> None:
    add_agent(people, "young", {"policy"}, ("mandarin",))
    add_agent(people, "senior1", {"senior"}, ("cantonese", "mandarin"))
    sid = call_sid()
    root = incoming(client, SENIOR, sid)
    assert root.find("Gather") is None  # no menu
    say = root.find("Say")
    assert say.get("language") == "yue-HK" and say.get("voice") == "Google.yue-HK-Standard-A"
    assert say.find("prosody").get("rate") == "80%"
    assert "長者專線" in spoken(root)
    dial = root.find("Dial")
    # after a <Say> the call is answered already: answerOnBridge would do nothing
    assert dial.get("answerOnBridge") is None
    assert "/voice/dial-result" in dial.get("action") and f"call={sid}" in dial.get("action")
    client_noun = dial.find("Client")
    assert client_noun.text == "senior1"
    assert f"call={sid}" in client_noun.get("url") and "/voice/whisper" in client_noun.get("url")


def test_a_senior_with_no_agent_free_waits_in_the_senior_queue(
    client: FlaskClient, people: Engine
) -> None:
    root = incoming(client, SENIOR)
    enqueue = root.find("Enqueue")
    assert enqueue.text == "senior"
    assert "/voice/wait" in enqueue.get("waitUrl") and "/voice/queue-result" in enqueue.get(
        "action"
    )


def test_queued_answers_are_kept_per_dialect_and_pace_and_never_stand_in_for_a_dial(
    client: FlaskClient, people: Engine
) -> None:
    # A queued answer is built once per prompt, dialect, pace and queue and kept; a caller
    # with an agent free is dialled, whatever was kept.
    mandarin_senior = "+8613800000003"
    people.directory.save(
        Customer("c3", "王奶奶", date(1946, 1, 1), "mandarin", (mandarin_senior,))
    )
    add_agent(people, "senior1", {"senior"}, ("cantonese",))
    dialled = incoming(client, SENIOR)
    assert dialled.find("Enqueue") is None and dialled.find("Dial/Client").text == "senior1"
    assert "長者專線" in spoken(dialled)
    first = post(client, "/voice/incoming", params(SENIOR, call_sid())).get_data()
    again = post(client, "/voice/incoming", params(SENIOR, call_sid())).get_data()
    assert again == first and b"<Enqueue" in first and "長者專線" in first.decode()
    mandarin = incoming(client, mandarin_senior)
    assert mandarin.find("Say").get("language") == "cmn-CN"
    assert mandarin.find("Enqueue").text == "senior"
    # A younger caller who asks for a person queues at the normal pace, in general.
    young = twiml(post(client, "/voice/menu?attempt=1", params(YOUNG, call_sid(), Digits="0")))
    assert young.find("Say").find("prosody") is None
    assert young.find("Enqueue").text == "general"


def test_a_younger_caller_gets_the_menu_by_key_and_speech(
    client: FlaskClient, people: Engine
) -> None:
    root = incoming(client, YOUNG)
    gather = root.find("Gather")
    assert gather.get("input") == "dtmf speech"
    assert gather.get("language") == "cmn-Hans-CN" and gather.get("numDigits") == "1"
    assert "人工" in gather.get("hints") and "理赔" in gather.get("hints")
    text = spoken(gather)
    assert "保单服务" in text and "投诉" in text and "人工" in text
    assert "六十岁" not in text  # the senior key is for unknown callers only
    assert root.find("Redirect") is not None  # silence falls through, never a hang-up


def test_unknown_and_withheld_callers_are_offered_the_senior_service(
    client: FlaskClient, people: Engine
) -> None:
    for frm in (UNKNOWN, "+266696687", "anonymous", "", "client:alice"):
        root = incoming(client, frm)
        assert "六十岁以上的客户，请按9" in spoken(root.find("Gather")), frm


def test_unknown_caller_pressing_the_senior_key_is_routed_as_a_senior(
    client: FlaskClient, people: Engine
) -> None:
    add_agent(people, "s1", {"senior"}, ("mandarin",))
    sid = call_sid()
    root = twiml(post(client, "/voice/menu?attempt=1", params(UNKNOWN, sid, Digits="9")))
    assert root.find("Say/prosody").get("rate") == "80%"
    assert root.find("Dial/Client").text == "s1"


@pytest.mark.parametrize(
    ("digits", "speech", "queue"),
    [
        ("1", "", "policy"),
        ("0", "", "general"),
        ("", "我要转人工", "general"),
        ("", "理赔", "claims"),
    ],
)
def test_menu_choices_route_to_their_queue(
    client: FlaskClient, people: Engine, digits: str, speech: str, queue: str
) -> None:
    extra = {"Digits": digits} if digits else {"SpeechResult": speech, "Confidence": "0.9"}
    root = twiml(post(client, "/voice/menu?attempt=1", params(YOUNG, call_sid(), **extra)))
    assert root.find("Enqueue").text == queue


def test_no_input_repeats_the_menu_slower_then_reaches_a_person(
    client: FlaskClient, people: Engine
) -> None:
    sid = call_sid()
    again = twiml(post(client, "/voice/menu?attempt=1&empty=1", params(YOUNG, sid)))
    gather = again.find("Gather")
    assert gather is not None and "attempt=2" in gather.get("action")
    assert gather.find("Say/prosody").get("rate") == "85%"  # ivr.repeat_rate
    person = twiml(post(client, "/voice/menu?attempt=2&empty=1", params(YOUNG, sid)))
    assert person.find("Gather") is None
    assert person.find("Enqueue").text == "general"


def test_an_invalid_key_says_sorry_once_then_reaches_a_person(
    client: FlaskClient, people: Engine
) -> None:
    sid = call_sid()
    sorry = twiml(post(client, "/voice/menu?attempt=1", params(YOUNG, sid, Digits="7")))
    assert spoken(sorry).startswith("抱歉") and sorry.find("Gather") is not None
    person = twiml(post(client, "/voice/menu?attempt=2", params(YOUNG, sid, Digits="7")))
    assert person.find("Enqueue").text == "general"


def test_complaints_announce_the_channel_and_its_hours(client: FlaskClient, people: Engine) -> None:
    root = twiml(post(client, "/voice/menu?attempt=1", params(YOUNG, call_sid(), Digits="8")))
    assert "09:00-18:00" in spoken(root)
    assert root.find("Enqueue").text == "complaints"


def test_the_wait_url_announces_position_then_leaves_once_assigned(
    client: FlaskClient, people: Engine
) -> None:
    first, second = call_sid(), call_sid()
    incoming(client, SENIOR, first)
    twiml(post(client, "/voice/menu?attempt=1", params(YOUNG, second, Digits="0")))
    waiting = twiml(
        post(client, "/voice/wait", params(YOUNG, second, QueueSid="QU1", QueuePosition="1")),
        "wait",
    )
    assert waiting.find("Pause") is not None and waiting.find("Leave") is None
    add_agent(people, "any", {"senior", "policy"}, ("mandarin", "cantonese"))
    # The senior goes first; the younger caller keeps waiting, then is assigned after.
    senior_wait = twiml(post(client, "/voice/wait", params(SENIOR, first, QueueSid="QU2")), "wait")
    assert senior_wait.find("Leave") is not None
    connect = twiml(post(client, "/voice/queue-result", params(SENIOR, first, QueueResult="leave")))
    assert connect.find("Dial/Client").text == "any"


def _whisper_for(client: FlaskClient, people: Engine, agent: str) -> object:
    add_agent(people, agent, {"senior"}, ("mandarin",))
    sid = call_sid()
    incoming(client, SENIOR, sid)
    return twiml(
        post(client, f"/voice/whisper?call={sid}&agent={agent}", params(f"client:{agent}", sid)),
        "whisper",
    )


def test_the_whisper_tells_the_agent_an_elderly_caller_is_on_the_line_in_a_second(
    client: FlaskClient, people: Engine
) -> None:
    # ivr.whisper = "short" (the default): the caller waits through it, and the console
    # already shows the caller's card, so the audio keeps to the essential words
    root = _whisper_for(client, people, "s2")
    assert spoken(root) == "老年来电。" and root.find("Say").get("language") == "cmn-CN"
    # The caller hears ringing until the whisper ends: not connected at the pick-up, but by
    # the whisper's closing Redirect, whose empty answer the bridge follows
    assert people.stats.day()["all"]["senior"].connected == 0
    [then] = root.findall("Redirect")
    assert root[-1] is then and "heard=1" in then.text
    people.clock.advance(1.5)  # the whisper's length
    sid = then.text.split("call=")[1].split("&")[0]
    bridge = twiml(post(client, then.text.replace(BASE, ""), params("client:s2", sid)), "whisper")
    assert len(bridge) == 0
    day = people.stats.day()["all"]["senior"]
    assert day.connected == 1 and day.tth_s == 1.5


@pytest.mark.parametrize(
    ("kind", "words"), [("full", ["老年来电，请放慢语速", "陈伯", "粤语"]), ("none", [])]
)
def test_the_whisper_may_be_full_or_none(
    redis_url: str, clock: FixedClock, kind: str, words: list[str]
) -> None:
    app = create_app(
        {"redis.url": redis_url, "redis.cluster": CLUSTER, "ivr.whisper": kind}, clock=clock
    )
    people: Engine = services.of(app).engine
    add_people(people)
    root = _whisper_for(app.test_client(), people, "s2")
    text = spoken(root)
    assert all(w in text for w in words) and (words or len(root) == 0)


def test_no_answer_offers_the_caller_to_the_next_agent(client: FlaskClient, people: Engine) -> None:
    add_agent(people, "s3", {"senior"}, ("cantonese",))
    add_agent(people, "s4", {"senior"}, ("cantonese",))
    sid = call_sid()
    first = incoming(client, SENIOR, sid).find("Dial/Client").text
    retry = twiml(
        post(
            client,
            f"/voice/dial-result?agent={first}",
            params(SENIOR, sid, DialCallStatus="no-answer"),
        )
    )
    assert retry.find("Dial/Client").text == ({"s3", "s4"} - {first}).pop()


def test_a_dequeued_caller_is_dialled_with_answer_on_bridge_as_the_first_verb(
    client: FlaskClient, people: Engine
) -> None:
    sid = call_sid()
    assert incoming(client, SENIOR, sid).find("Enqueue") is not None  # nobody free: waits
    add_agent(people, "s6", {"senior"}, ("cantonese",))
    people.router.tick()
    root = twiml(post(client, "/voice/connect", params(SENIOR, sid)))
    assert root[0].tag == "Dial" and root[0].get("answerOnBridge") == "true"


def test_the_menu_ends_speech_after_a_number_of_seconds_not_auto(
    client: FlaskClient, people: Engine
) -> None:
    gather = incoming(client, YOUNG).find("Gather")
    assert gather.get("speechTimeout") == "3" and gather.get("speechModel") is None


def test_a_dial_result_after_the_caller_hung_up_routes_nothing_and_counts_no_miss(
    client: FlaskClient, people: Engine
) -> None:
    add_agent(people, "s7", {"senior"}, ("cantonese",))
    add_agent(people, "s8", {"senior"}, ("cantonese",))
    sid = call_sid()
    first = incoming(client, SENIOR, sid).find("Dial/Client").text
    gone = params(SENIOR, sid, DialCallStatus="no-answer", CallStatus="completed")
    root = twiml(post(client, f"/voice/dial-result?agent={first}&call={sid}", gone))
    assert len(root) == 0  # nothing to route: the caller has gone
    assert people.agents.state(first).missed == 0
    post(client, "/voice/status", params(SENIOR, sid, CallStatus="completed"))
    assert people.agents.state(first).state == "available"
    info = people.router.call(sid)
    assert info is not None and info.state == "gone"


def test_a_completed_call_ends_politely(client: FlaskClient, people: Engine) -> None:
    add_agent(people, "s5", {"senior"}, ("cantonese",))
    sid = call_sid()
    incoming(client, SENIOR, sid)
    twiml(
        post(client, f"/voice/whisper?call={sid}&agent=s5", params("client:s5", call_sid())),
        "whisper",
    )
    done = twiml(
        post(
            client,
            "/voice/dial-result?agent=s5",
            params(SENIOR, sid, DialCallStatus="completed", DialCallDuration="95"),
        )
    )
    assert done.find("Hangup") is not None


def test_out_of_hours_a_senior_can_book_a_call_back(redis_url: str, people: Engine) -> None:
    night = FixedClock(people.clock.now().replace(hour=15))  # 23:00 in Shanghai
    app = create_app({"redis.url": redis_url}, clock=night)
    c = app.test_client()
    sid = call_sid()
    root = twiml(post(c, "/voice/incoming", params(SENIOR, sid)))
    assert "08:00" in spoken(root) and root.find("Gather") is not None
    booked = twiml(post(c, "/voice/after-hours?attempt=1", params(SENIOR, sid, Digits="1")))
    assert "打返俾你" in spoken(booked)  # the Cantonese pack's confirmation
    assert [r.number for r in services.of(app).engine.callbacks.pending()] == [SENIOR]


def test_out_of_hours_with_an_on_call_senior_line(redis_url: str, people: Engine) -> None:
    night = FixedClock(people.clock.now().replace(hour=15))
    app = create_app(
        {"redis.url": redis_url, "business_hours.on_call_senior_number": "+861095500888"},
        clock=night,
    )
    root = twiml(post(app.test_client(), "/voice/incoming", params(SENIOR, call_sid())))
    assert root.find("Dial").text == "+861095500888"


def test_out_of_hours_zero_reaches_the_duty_line_at_once(redis_url: str, people: Engine) -> None:
    night = FixedClock(people.clock.now().replace(hour=15))
    c = create_app({"redis.url": redis_url}, clock=night).test_client()
    root = twiml(post(c, "/voice/after-hours?attempt=1", params(YOUNG, call_sid(), Digits="0")))
    assert root.find("Dial").text == "+861095500999"
    assert people.callbacks.pending() == []


def test_out_of_hours_silence_reaches_the_duty_line_not_a_hang_up(
    redis_url: str, people: Engine
) -> None:
    night = FixedClock(people.clock.now().replace(hour=15))
    c = create_app({"redis.url": redis_url}, clock=night).test_client()
    root = twiml(post(c, "/voice/after-hours?attempt=2&empty=1", params(YOUNG, call_sid())))
    assert root.find("Dial").text == "+861095500999"


def test_redis_down_means_the_fallback_line_with_200() -> None:
    app = create_app({"redis.url": "redis://127.0.0.1:1/0", "redis.socket_timeout": 0.2})
    c = app.test_client()
    for path in (
        "/voice/incoming",
        "/voice/menu?attempt=1",
        "/voice/dial-result?agent=x",
    ):
        root = twiml(post(c, path, params(YOUNG, call_sid(), Digits="1")))
        assert root.find("Dial").text == "+861095500999", path
    # A wait document may not <Dial>: the caller leaves the queue, and the <Enqueue> action
    # (a call document) dials the fallback line.
    waiting = twiml(post(c, "/voice/wait", params(YOUNG, call_sid())), "wait")
    assert [verb.tag for verb in waiting] == ["Leave"]
    # A room's later hold document may not <Dial> either: "connecting", and the same document
    # again, so the caller is never left in silence whether or not Twilio loops a waitUrl
    # (its documentation does not say).
    hold = "/voice/hold?call=CA1&p=connecting&n=2"
    held = twiml(post(c, hold, params(YOUNG, call_sid())), "wait")
    assert [verb.tag for verb in held] == ["Say", "Pause", "Redirect"]
    assert held.find("Redirect").text.endswith(hold)
    # An agent who picks up for a caller's room joins it, with the room's status callback:
    # its start is how the caller is recorded as connected.
    answer = twiml(post(c, "/voice/agent-answer?call=CA1&agent=a01", params(YOUNG, call_sid())))
    room = answer.find("Dial/Conference")
    assert room is not None and room.text == "CA1"
    assert "/voice/room-status?" in room.get("statusCallback", "")
    assert "agent=a01" in room.get("statusCallback", "")


@pytest.mark.parametrize(
    "odd",
    [
        {"From": ""},
        {"Digits": "abc"},
        {"Digits": "1" * 10_000},
        {"SpeechResult": "<Response><Hangup/></Response>" * 300},
        {"CallStatus": "exploded"},
        {"From": "\x00\x1f<&>"},
    ],
)
def test_strange_parameters_still_get_valid_twiml(
    client: FlaskClient, people: Engine, odd: dict[str, str]
) -> None:
    for path in ("/voice/incoming", "/voice/menu?attempt=1", "/voice/wait", "/voice/status"):
        res = post(client, path, {**params(YOUNG, call_sid()), **odd})
        twiml(res, "wait" if path == "/voice/wait" else "call")


def test_every_route_rejects_a_bad_signature_and_changes_nothing(
    client: FlaskClient, people: Engine
) -> None:
    before = sorted(people.redis.keys("*"))
    for path in (
        "/voice/incoming",
        "/voice/menu",
        "/voice/wait",
        "/voice/status",
        "/voice/dial-result",
        "/voice/whisper",
        "/voice/queue-result",
        "/voice/connect",
        "/voice/after-hours",
        "/voice/callback-request",
        "/voice/callback-answer",
        "/voice/callback-status",
    ):  # /voice/fallback and /voice/line-result change nothing and answer (test_fallback.py)
        assert post(client, path, params(SENIOR, call_sid()), token="forged").status_code == 403, (
            path
        )
    assert sorted(people.redis.keys("*")) == before


def test_a_replayed_complaint_recording_is_kept_once(client: FlaskClient, engine: Engine) -> None:
    form = {
        "CallSid": "CA" + "7" * 32,
        "From": "+8613800138000",
        "RecordingUrl": "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
        "RecordingDuration": "42",
        "RecordingSid": "RE" + "1" * 32,
    }
    for _ in range(3):  # Twilio's retry, or the same signed request sent again
        root = twiml(post(client, "/voice/complaint-recorded", form))
        assert root.find("Hangup") is not None
    assert engine.complaints.count() == 1
    second = {**form, "RecordingSid": "RE" + "2" * 32, "RecordingUrl": form["RecordingUrl"] + "b"}
    post(client, "/voice/complaint-recorded", second)  # another recording on the same call
    assert engine.complaints.count() == 2
