"""Out of hours: the hotline closed, or its complaints desk closed while the hotline is open.

(incoming, closed)  -> the hours said; a senior with a duty line: that line (<Dial>);
                       a caller with a number: a call-back offered (<Gather>)
after-hours         -> yes (or a senior's second silence): a call-back booked  |  "0" / "人工":
                       the duty line  |  nothing: the offer once more, then the duty line
(menu, complaints closed) -> "1" a recorded complaint, "2" a call-back, "0" a person
complaint-choice    -> a message: <Record>  |  a call-back booked  |  nothing: once more,
                       then a person
complaint-recorded  -> kept for the complaints team  |  no recording: a person
"""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from dialects.packs import default_packs
from ivr.call.twiml import reply
from ivr.call.voice.blueprint import bp
from ivr.call.voice.common import (
    GIVE_UP_AFTER,
    count_unqueued,
    field,
    identified,
    int_arg,
    offer_gather,
    offer_reply,
    say,
    voice_url,
)
from ivr.call.voice.placement import say_and_route
from ivr.call.webhooks import fallback, twilio_webhook
from ivr.services import engine
from routing.callers.caller import Caller
from routing.queues.hours import special_today
from routing.queues.menu import reply_by


def after_hours_menu(vr: VoiceResponse, caller: Caller, attempt: int) -> VoiceResponse:
    """The hotline is closed: the hours, then the duty line for a senior or a call-back offer."""
    s = engine().settings
    on_call = s.business_hours.on_call_senior_number
    if caller.senior and on_call:
        say(vr, caller, "out_of_hours_oncall")
        count_unqueued("after_hours_duty", caller)
        # busy or unanswered, the line-result action puts the senior through to the fallback
        # lines rather than ending the call
        vr.dial(on_call, timeout=60, action=voice_url("line-result"), method="POST")
        return vr
    today = special_today(engine().clock.now(), s.business_hours, s.tz)
    if today is not None:  # a day with hours of its own (business_hours.special_days)
        say(vr, caller, "out_of_hours_special", open=today[0], close=today[1])
    else:
        say(vr, caller, "out_of_hours", open=s.business_hours.open, close=s.business_hours.close)
    if caller.number:
        key = "out_of_hours_callback_senior" if caller.senior else "out_of_hours_callback"
        with offer_gather(vr, caller, voice_url("after-hours", attempt=attempt)) as gather:
            say(gather, caller, key)
    vr.redirect(voice_url("after-hours", attempt=attempt, empty=1), method="POST")
    return vr


@bp.route("/after-hours", methods=["POST", "GET"])
@twilio_webhook
def after_hours() -> Response:
    """Out of hours: take a call-back request, repeat once, or put the caller through to duty."""
    eng = engine()
    caller = identified()
    attempt = int_arg("attempt", 1)
    answer = offer_reply(caller)
    vr = VoiceResponse()
    if answer == "agent":
        count_unqueued("after_hours_duty", caller)
        return fallback()  # "0" or "人工" always reaches a person: out of hours, the duty line
    wants_callback = answer == "yes" or (caller.senior and attempt >= GIVE_UP_AFTER)
    if caller.number and wants_callback:
        eng.callbacks.request_after_hours(field("CallSid", 64), caller)
        count_unqueued("booked_callback", caller)
        say(vr, caller, "callback_recorded")
        vr.hangup()
        return reply(vr)
    if attempt < GIVE_UP_AFTER and caller.number:
        return reply(after_hours_menu(vr, caller, attempt + 1))
    count_unqueued("after_hours_duty", caller)
    return fallback()  # the duty line: never a dead end


def complaints_closed(vr: VoiceResponse, caller: Caller, attempt: int) -> VoiceResponse:
    """The complaint queue is closed: a recorded complaint, a call-back, or another person."""
    say(vr, caller, "complaint_closed", hours=engine().settings.ivr.complaint_hours)
    with offer_gather(vr, caller, voice_url("complaint-choice", attempt=attempt)) as gather:
        say(gather, caller, "complaint_options", key=engine().settings.ivr.agent_key)
    vr.redirect(voice_url("complaint-choice", attempt=attempt, empty=1), method="POST")
    return vr


@bp.route("/complaint-choice", methods=["POST", "GET"])
@twilio_webhook
def complaint_choice() -> Response:
    """Out of complaint hours: "1"/留言 records, "2"/回电 books a call-back, "0"/人工 a person."""
    eng = engine()
    caller = identified()
    keys = {"1": "message", "2": "callback", eng.settings.ivr.agent_key: "agent"}
    digits = "" if request.args.get("empty") else field("Digits", 8)
    choice = reply_by(
        digits,
        field("SpeechResult", 1000),
        lambda meaning: default_packs().words(caller.dialect, meaning),
        keys,
    )
    vr = VoiceResponse()
    if choice == "message":
        say(vr, caller, "complaint_record")
        # https://www.twilio.com/docs/voice/twiml/record: the action gets RecordingUrl and
        # RecordingDuration; the Redirect after it handles a caller who said nothing, whether
        # Twilio then requests the action or goes on to the next verb.
        vr.record(action=voice_url("complaint-recorded"), method="POST", max_length=180, timeout=5)
        vr.redirect(voice_url("complaint-recorded", empty=1), method="POST")
        return reply(vr)
    if choice == "callback" and caller.number:
        eng.callbacks.request_after_hours(field("CallSid", 64), caller, queue="complaints")
        count_unqueued("booked_callback", caller, "complaints")
        say(vr, caller, "complaint_callback")
        vr.hangup()
        return reply(vr)
    if choice in ("none", "invalid") and int_arg("attempt", 1) < GIVE_UP_AFTER:
        return reply(complaints_closed(vr, caller, int_arg("attempt", 1) + 1))
    return say_and_route(caller, "general", "connecting")  # a person: never a dead end


@bp.route("/complaint-recorded", methods=["POST", "GET"])
@twilio_webhook
def complaint_recorded() -> Response:
    """A recorded complaint is kept for the complaints team; no recording: a person."""
    eng = engine()
    caller = identified()
    url = "" if request.args.get("empty") else field("RecordingUrl", 512)
    seconds = field("RecordingDuration", 8)
    if not url or not seconds.isdigit() or int(seconds) == 0:
        return say_and_route(caller, "general", "connecting")
    sid, recording = field("CallSid", 64), field("RecordingSid", 64)
    if eng.complaints.add(sid, caller.number or "", caller.name, url, int(seconds), recording):
        count_unqueued("complaint_recorded", caller, "complaints")
    vr = VoiceResponse()
    say(vr, caller, "complaint_recorded")
    vr.hangup()
    return reply(vr)
