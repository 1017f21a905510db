"""A small Flask app that emits each TwiML feature, for testing the simulator alone."""

from __future__ import annotations

from flask import Flask, Response, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

TOKEN = "test-token"
BASE = "http://localhost"
SUPPORT = "+15550000001"  # menu -> queue / agent / speech
REJECT = "+15550000002"
BROKEN = "+15550000003"  # unknown verb
BAD_XML = "+15550000004"
WAIT_DIALS = "+15550000005"  # a wait URL that returns <Dial>: not allowed there
SILENT_QUEUE = "+15550000006"  # waitUrl="" and no action: REST takes callers out
WHISPER_DIAL = "+15550000007"  # a whisper that returns <Dial>
CONFERENCE = "+15550000008"  # the caller waits in a room named after their CallSid
BAD_WAIT_ROOM = "+15550000009"  # a room whose waitUrl returns a <Gather>: 13238
NO_BARGE_IN = "+15550000010"  # a spoken menu with bargeIn="false"


def xml(vr: VoiceResponse) -> Response:
    return Response(str(vr), mimetype="text/xml")


def create() -> Flask:
    app = Flask(__name__)
    app.config["seen"] = []

    @app.before_request
    def check_signature() -> Response | None:
        signature = request.headers.get("X-Twilio-Signature", "")
        params = request.form if request.method == "POST" else {}
        ok = RequestValidator(TOKEN).validate(request.url, params, signature)
        app.config["seen"].append((request.path, request.args.to_dict(), request.form.to_dict()))
        return None if ok else Response("bad signature", status=403)

    @app.post("/incoming")
    def incoming() -> Response:
        to = request.form["To"]
        vr = VoiceResponse()
        if to == REJECT:
            vr.reject(reason="busy")
        elif to == BROKEN:
            return Response(
                "<Response><Say>hi</Say><Shout>no</Shout></Response>", mimetype="text/xml"
            )
        elif to == BAD_XML:
            return Response("<Response><Say>unclosed</Response>", mimetype="text/xml")
        elif to == WAIT_DIALS:
            vr.enqueue("bad", wait_url="/wait-dial", action="/queue-result")
        elif to == SILENT_QUEUE:
            vr.enqueue("silent", wait_url="")
            vr.say("after the queue")
        elif to == WHISPER_DIAL:
            dial = vr.dial(action="/dial-result", timeout=10)
            dial.client("bob", url="/whisper-dial")
        elif to in (CONFERENCE, BAD_WAIT_ROOM):
            return room(request.form["CallSid"], to == BAD_WAIT_ROOM)
        elif to == NO_BARGE_IN:
            with vr.gather(input="speech", action="/menu", timeout=4, barge_in=False) as g:
                g.say("Say what you need after the tone.")
        else:
            with vr.gather(num_digits=1, input="dtmf speech", action="/menu", timeout=4) as g:
                g.say("Press 1 to wait, 2 for Alice.")
                g.pause(length=1)
            vr.say("We did not get that.")
            vr.redirect("/incoming?again=1")
        return xml(vr)

    @app.post("/menu")
    def menu() -> Response:
        vr = VoiceResponse()
        digits = request.form.get("Digits", "")
        speech = request.form.get("SpeechResult", "")
        if digits == "1":
            vr.enqueue("support", wait_url="/wait", action="/queue-result")
            vr.say("not reached")
        elif digits == "2":
            dial = vr.dial(action="/dial-result", timeout=10, answer_on_bridge=True)
            dial.client("alice", url="/whisper")
        elif speech:
            vr.say(f"You said {speech}")
            vr.hangup()
        return xml(vr)

    @app.post("/wait")
    def wait() -> Response:
        vr = VoiceResponse()
        if int(request.form["QueueTime"]) >= 12:
            vr.leave()
            return xml(vr)
        vr.say(f"You are number {request.form['QueuePosition']}")
        vr.pause(length=5)
        return xml(vr)

    @app.post("/wait-dial")
    def wait_dial() -> Response:
        vr = VoiceResponse()
        vr.dial("+15551234567")
        return xml(vr)

    @app.post("/whisper-dial")
    def whisper_dial() -> Response:
        vr = VoiceResponse()
        vr.dial("+15551234567")
        return xml(vr)

    @app.post("/queue-result")
    def queue_result() -> Response:
        vr = VoiceResponse()
        vr.say(f"Queue result {request.form['QueueResult']}")
        vr.hangup()
        return xml(vr)

    @app.post("/whisper")
    def whisper() -> Response:
        vr = VoiceResponse()
        vr.say(f"Call from {request.form['From']}")
        return xml(vr)

    @app.post("/dial-result")
    def dial_result() -> Response:
        vr = VoiceResponse()
        vr.say(f"Dial {request.form['DialCallStatus']}")
        vr.hangup()
        return xml(vr)

    @app.post("/status")
    def status() -> Response:
        return xml(VoiceResponse())

    @app.post("/conf-wait")
    def conf_wait() -> Response:
        vr = VoiceResponse()
        vr.say("Please hold")
        return xml(vr)

    @app.post("/conf-wait-gather")
    def conf_wait_gather() -> Response:
        vr = VoiceResponse()
        vr.gather(num_digits=1).say("Press 1")
        return xml(vr)

    @app.post("/agent-joins")
    def agent_joins() -> Response:
        """The agent's leg (REST calls.create): a short whisper, then the caller's room."""
        vr = VoiceResponse()
        vr.say("Caller")
        vr.dial().conference(
            request.args["room"], start_conference_on_enter=True, end_conference_on_exit=True
        )
        return xml(vr)

    @app.post("/conf-result")
    def conf_result() -> Response:
        vr = VoiceResponse()
        vr.say(f"Conference {request.form['DialCallStatus']}")
        vr.hangup()
        return xml(vr)

    @app.post("/conf-events")
    def conf_events() -> Response:
        return xml(VoiceResponse())

    @app.post("/connect")
    def connect() -> Response:
        vr = VoiceResponse()
        vr.say("Pulled out by REST")
        return xml(vr)

    return app


def room(call_sid: str, bad_wait: bool = False) -> Response:
    """The caller's TwiML: wait in their own room until an agent starts it."""
    vr = VoiceResponse()
    dial = vr.dial(action="/conf-result")
    dial.conference(
        call_sid,
        start_conference_on_enter=False,
        end_conference_on_exit=True,
        wait_url="/conf-wait-gather" if bad_wait else "/conf-wait",
        status_callback="/conf-events",
        status_callback_event="start end join leave mute hold modify",
    )
    return xml(vr)
