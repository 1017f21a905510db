"""The TwiML checker: what runs where, and what Twilio refuses."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.serving import make_server

from ivr.simulator.core import parse as twiml
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import HttpTransport
from routing.clock import FixedClock
from tests.conftest import T0
from tests.helpers import fakeapp


def doc(*verbs: str) -> str:
    return "<Response>" + "".join(verbs) + "</Response>"


@pytest.mark.parametrize(
    ("context", "verb"),
    [
        (twiml.WAIT, "<Dial>+15551234567</Dial>"),
        (twiml.WAIT, "<Enqueue>q</Enqueue>"),
        (twiml.WHISPER, "<Dial>+15551234567</Dial>"),
        (twiml.WHISPER, "<Enqueue>q</Enqueue>"),
        (twiml.QUEUE_URL, "<Gather/>"),
        (twiml.QUEUE_URL, "<Hangup/>"),
        (twiml.CALL, "<Gather><Dial>1</Dial></Gather>"),
        (twiml.CALL, "<Gather><Play digits='1'/></Gather>"),
        (twiml.CALL, "<Say>a<Pause/></Say>"),
    ],
)
def test_verbs_outside_their_allow_list_are_12200(context: str, verb: str) -> None:
    with pytest.raises(twiml.TwimlError) as err:
        twiml.parse(doc(verb), context)
    assert err.value.code == 12200


@pytest.mark.parametrize(
    ("context", "verb"),
    [
        (twiml.WAIT, "<Gather input='dtmf' numDigits='1'><Say>Press 1</Say></Gather><Leave/>"),
        (twiml.WHISPER, "<Say>VirtualCaller waiting</Say><Gather><Play>/a.mp3</Play></Gather>"),
        # the called party's document may not hold <Dial>, and nothing else is forbidden
        # (https://www.twilio.com/docs/voice/twiml/number#url): the whisper's closing Redirect
        (twiml.WHISPER, "<Say>老年来电。</Say><Pause length='1'/><Redirect>/x</Redirect>"),
        (twiml.QUEUE_URL, "<Say>Connecting</Say><Pause length='1'/><Redirect>/x</Redirect>"),
        (twiml.CALL, "<Say voice='Polly.Hiujin-Neural'><prosody rate='80%'>你好</prosody></Say>"),
    ],
)
def test_allowed_documents_parse(context: str, verb: str) -> None:
    assert twiml.parse(doc(verb), context).verbs


def test_documents_the_twilio_python_builder_makes_are_valid() -> None:
    vr = VoiceResponse()
    with vr.gather(input="dtmf speech", language="cmn-Hans-CN", num_digits=1, action="/m") as g:
        g.say("请按键", voice="Google.cmn-CN-Standard-A", language="cmn-CN")
    vr.enqueue("senior", wait_url="/wait", action="/done", wait_url_method="POST")
    parsed = twiml.parse(str(vr))
    assert [v.tag for v in parsed.verbs] == ["Gather", "Enqueue"] and not parsed.warnings


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (" <Response/>", 12100),
        ("<Response><Say>x</Response>", 12100),
        ("<Reply/>", 12100),
        ("<Response>" + "<Say>x</Say>" * 7000 + "</Response>", 11750),
        (doc("<Gather language='zh-CN'/>"), 12200),
        (doc("<Gather input='touch'/>"), 12200),
        (doc("<Dial timeout='0'>1</Dial>"), 12200),
        (doc("<Reject reason='nope'/>"), 12200),
        (doc("<Enqueue/>"), 12200),
    ],
)
def test_malformed_documents_fail_with_twilios_code(body: str, code: int) -> None:
    with pytest.raises(twiml.TwimlError) as err:
        twiml.parse(body)
    assert err.value.code == code


def test_an_unknown_attribute_is_only_a_warning() -> None:
    parsed = twiml.parse(doc("<Say speed='2'>x</Say>"))
    assert [w.code for w in parsed.warnings] == [12200] and len(parsed.verbs) == 1


@pytest.mark.parametrize(
    ("verb", "code"),
    [
        ("<Say voice='Polly.Hiujin'>x</Say>", 13511),
        ("<Say language='cmn-Hans-CN'>x</Say>", 13512),
        ("<Gather input='speech' speechTimeout='auto'/>", 13335),
        ("<Gather input='speech' speechTimeout='auto' speechModel='default'/>", 13335),
    ],
)
def test_a_bad_voice_language_or_speech_timeout_is_a_warning_and_the_call_goes_on(
    verb: str, code: int
) -> None:
    parsed = twiml.parse(doc(verb))
    assert [w.code for w in parsed.warnings] == [code] and len(parsed.verbs) == 1


@pytest.fixture
def live_fake_app() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, fakeapp.create(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_a_call_over_real_http_is_signed_for_the_url_the_server_sees(live_fake_app: str) -> None:
    sim = Simulator(clock=FixedClock(T0), auth_token=fakeapp.TOKEN, seed=3)
    sim.connect(HttpTransport())
    sim.add_number(fakeapp.SUPPORT, f"{live_fake_app}/incoming")
    leg = sim.place_call(
        VirtualCaller("+14155550100", sim.rng, inputs=[Input(speech="hi")]), fakeapp.SUPPORT
    )
    sim.run()
    assert not sim.faults  # a bad signature would be a 403 and fault 11200
    assert [line.text for line in leg.transcript if line.kind == "say"][-1] == "You said hi"


@pytest.mark.parametrize("verb", ["<Gather/>", "<Hangup/>", "<Dial>+15551234567</Dial>"])
def test_a_conference_wait_url_refuses_other_verbs_with_13238(verb: str) -> None:
    with pytest.raises(twiml.TwimlError) as err:
        twiml.parse(doc(verb), twiml.CONFERENCE_WAIT)
    assert err.value.code == 13238
    twiml.parse(
        doc("<Say>hold</Say>", "<Play>/m.mp3</Play>", "<Pause/>", "<Redirect>/w</Redirect>")
    )


@pytest.mark.parametrize(
    ("noun", "code"),
    [
        ("<Conference endConferenceOnExit='yes'>r</Conference>", 13231),
        ("<Conference></Conference>", 12200),
        ("<Conference beep='loud'>r</Conference>", 12200),
        ("<Conference maxParticipants='251'>r</Conference>", 12200),
        ("<Conference statusCallbackEvent='start finish'>r</Conference>", 12200),
        ("<Conference>r</Conference><Number>+15551234567</Number>", 12200),
    ],
)
def test_a_bad_conference_noun_is_refused(noun: str, code: int) -> None:
    with pytest.raises(twiml.TwimlError) as err:
        twiml.parse(doc(f"<Dial>{noun}</Dial>"))
    assert err.value.code == code


def test_conference_warnings_do_not_stop_the_document() -> None:
    noun = "<Conference startConferenceOnEnter='maybe' waitMethod='PUT' coach='CA1'>r</Conference>"
    parsed = twiml.parse(doc(f"<Dial>{noun}</Dial>"))
    assert sorted(w.code for w in parsed.warnings) == [13232, 13234]


def _say(xml: str) -> ET.Element:
    return ET.fromstring(xml)


@pytest.mark.parametrize(
    ("xml", "seconds"),
    [
        ("<Say>你好，欢迎来电</Say>", 7 * 0.2),
        ('<Say><prosody rate="80%">你好，欢迎来电</prosody></Say>', 7 * 0.25),
        ('<Say>您好<prosody rate="50%">请稍候</prosody></Say>', 2 * 0.2 + 3 * 0.4),
        (
            '<Say><prosody rate="x-slow">慢</prosody><prosody rate="x-fast">快快</prosody></Say>',
            0.4 + 0.2,
        ),
        (
            '<Say><prosody rate="slow"><prosody rate="200%">内</prosody>外</prosody></Say>',
            0.1 + 0.2 / 0.75,
        ),
        (
            '<Say><prosody rate="medium">中</prosody><prosody rate="fast">快</prosody></Say>',
            0.2 + 0.2 / 1.5,
        ),
        ('<Say><prosody rate="bogus">默认</prosody><prosody rate="-5%">默认</prosody></Say>', 0.8),
        ("<Say>\n  <prosody rate='80%'>  字 </prosody>\n</Say>", 0.25),
    ],
)
def test_say_lasts_its_characters_at_the_prosody_rate(xml: str, seconds: float) -> None:
    sim = Simulator(clock=FixedClock(T0))
    assert sim.say_time(_say(xml)) == pytest.approx(seconds)
