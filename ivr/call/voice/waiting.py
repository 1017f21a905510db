"""Waiting in a queue: the <Enqueue>'s wait URL, the call-back offered there, the wait's end.

wait             -> the prompt of the caller's entry once, then position and wait, a call-back
                    offer for seniors; <Leave/> once an agent is theirs or nobody ever will be
callback-request -> yes: a call-back keeps their place, the call ends  |  else: back to wait
queue-result     -> left or pulled: to their agent (placement.connect_assigned)  |  the queue
                    full: where it overflows  |  a hang-up: routing told  |  an error: a person
full-callback    -> yes: a call-back keeps their place  |  anything else: the fallback line
"""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.call import dispatch
from ivr.call.twiml import reply
from ivr.call.voice.blueprint import bp
from ivr.call.voice.common import (
    OVER,
    caller_of,
    carried,
    complaint_params,
    field,
    offer_gather,
    offer_reply,
    routing_sid,
    say,
    utter,
    voice_url,
)
from ivr.call.voice.placement import connect_assigned, enqueue, overflow_line
from ivr.call.webhooks import fallback, fallback_twiml, public_base, twilio_webhook
from ivr.services import engine
from routing.callers.caller import Caller
from routing.queues.router import Queued


@bp.route("/wait", methods=["POST", "GET"])
@twilio_webhook
def wait() -> Response:
    """The wait URL, re-requested whenever its TwiML runs out."""
    eng = engine()
    call_sid = routing_sid()
    status = eng.router.poll(call_sid, field("QueueSid", 64))
    dispatch.act_on(status.pulls)
    vr = VoiceResponse()
    info = status.call
    if status.offer is not None or info is None or info.state in OVER:
        # assigned: to their agent; or nobody will ever be (the record is over, yet the
        # caller is here): out of the queue, to a person (placement.connect_assigned)
        vr.leave()
        return reply(vr)
    dialect = info.caller_dialect if info else eng.settings.hotline.default_dialect
    senior = bool(info and info.senior)
    waiting = Caller("", None, None, None, dialect, senior)
    greeting = request.args.get("g", "")[:32]
    if greeting and status.first:  # the prompt of the caller's entry, where a pull can cut it
        s = eng.settings
        say(vr, waiting, greeting, hotline=s.hotline.name, hours=s.ivr.complaint_hours)
    if status.offer_callback and info is not None and info.caller_number:
        action = voice_url("callback-request", call=carried())
        with offer_gather(vr, waiting, action) as gather:
            say(gather, waiting, "wait_callback_offer")
    if status.announce and _tell_complaints(status.waited_s, senior):
        utter(vr, waiting, "complaint_channel", complaint_params())
    if status.announce:
        if status.position <= 1:
            say(vr, waiting, "wait_next")
        else:
            minutes = max(1, round(status.ewt_s / 60))
            say(vr, waiting, "wait_position", ahead=status.position - 1, minutes=minutes)
    vr.pause(length=eng.settings.routing.wait_poll_seconds)
    return reply(vr)


def _tell_complaints(waited_s: int, senior: bool) -> bool:
    """Seniors never hear the menu, so never its complaint line: they hear the complaint
    channel once while they wait, at the second announcement (stateless: the waited time
    says which one it is), where it delays nobody."""
    every = engine().settings.routing.announce_every
    return senior and every <= waited_s < 2 * every


@bp.route("/callback-request", methods=["POST", "GET"])
@twilio_webhook
def callback_request() -> Response:
    """A waiting senior pressed 1 or said "回电": call them back when their turn comes, keeping
    their place. A word for a person ("人工") is answered: they are in line for one."""
    eng = engine()
    call_sid = routing_sid()
    info = eng.router.call(call_sid)
    vr = VoiceResponse()
    if info is None or not info.caller_number:
        vr.pause(length=1)  # back to the wait URL
        return reply(vr)
    caller = caller_of(info)
    answer = offer_reply(caller)
    if answer != "yes":
        if answer == "agent":
            say(vr, caller, "wait_person")
        vr.pause(length=1)  # back to the wait URL, place kept
        return reply(vr)
    eng.router.request_callback(call_sid)
    say(vr, caller, "callback_confirmed")
    vr.hangup()
    return reply(vr)


@bp.route("/queue-result", methods=["POST", "GET"])
@twilio_webhook
def queue_result() -> Response:
    """The <Enqueue> action: after <Leave/> (assigned), a REST pull, or a hang-up in the queue."""
    result = field("QueueResult", 64)
    call_sid = routing_sid()
    vr = VoiceResponse()
    if result == "hangup":
        dispatch.end_agent_leg(engine().router.hangup(call_sid))
        return reply(vr)
    if result in ("leave", "redirected"):
        return reply(connect_assigned(vr, call_sid))
    if result == "queue-full":
        return reply(_queue_full(vr, call_sid))
    # error, system-error: Twilio has put the caller out of the queue; routing forgets them
    # (or a free agent would be reserved for nobody) and the fallback line answers them.
    engine().router.left_queue(call_sid)
    return fallback()


def _queue_full(vr: VoiceResponse, call_sid: str) -> VoiceResponse:
    """Twilio found the queue full (its maxSize, https://www.twilio.com/docs/api/errors/14207):
    the caller goes where the queue overflows (docs/routing.md, "Overflow"); without an
    overflow, to the fallback line."""
    eng = engine()
    kind, placement = eng.router.queue_full(call_sid)
    info = eng.router.call(call_sid)
    if info is None or not kind or (kind == "callback" and not info.caller_number):
        eng.router.left_queue(call_sid)  # nowhere to overflow to: a person, now
        return fallback_twiml()
    if kind == "line":
        return overflow_line(vr, info)
    if kind == "callback":
        caller = caller_of(info)
        with offer_gather(vr, caller, voice_url("full-callback", call=carried())) as gather:
            say(gather, caller, "wait_callback_offer")
        vr.redirect(voice_url("full-callback", call=carried(), empty=1), method="POST")
        return vr
    if isinstance(placement, Queued):  # moved: into the other queue, hearing their prompt
        greeting = request.args.get("g", "")[:32] or None
        return enqueue(vr, placement.queue, public_base(), call=carried(), greet=greeting)
    return connect_assigned(vr, call_sid)  # moved, and an agent of that queue was free


@bp.route("/full-callback", methods=["POST", "GET"])
@twilio_webhook
def full_callback() -> Response:
    """The call-back offered when the queue was full: yes keeps their place as a call-back;
    anything else (no, a word for a person, silence) is a person now, the fallback line."""
    eng = engine()
    call_sid = routing_sid()
    info = eng.router.call(call_sid)
    vr = VoiceResponse()
    if info is not None and info.state == "offered":  # an agent freed up meanwhile: to them
        return reply(connect_assigned(vr, call_sid))
    if info is not None and info.state == "waiting" and offer_reply(caller_of(info)) == "yes":
        eng.router.request_callback(call_sid)
        say(vr, caller_of(info), "callback_confirmed")
        vr.hangup()
        return reply(vr)
    eng.router.left_queue(call_sid)
    return fallback()
