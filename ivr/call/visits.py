"""The webhooks of a return visit's call (docs/campaigns.md), placed by the dispatcher once an
agent is reserved for the customer (routing/outbound/visits.py).

visit-answer  -> the hotline named, then their agent; a machine reported by asynchronous
                 detection (/voice/amd, ivr/call/voice/machine.py) is asked once, then
                 hears a short, slow message with the hotline's number, the agent released
visit-connect -> the reserved agent (<Dial>, whisper); lost meanwhile: in line for the next
visit-status  -> how the call ended: the agent freed or finished, the attempt logged

The visit's call is a call of its own, like a senior's call-back: its URLs carry the routing
record's name as `call` (ivr/call/voice/common.py `routing_sid`).
"""

from __future__ import annotations

import dataclasses

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from dialects.packs import default_packs
from ivr.call import dispatch
from ivr.call.twiml import reply
from ivr.call.voice.common import MACHINE, OVER, caller_of, field, say, spoken_number, voice_url
from ivr.call.voice.placement import dial_agent, place
from ivr.call.webhooks import fallback, twilio_webhook
from ivr.services import engine, telephony
from routing.callers.caller import Caller

bp = Blueprint("visits", __name__, url_prefix="/voice")


def _visit_sid() -> str:
    return request.args.get("call", "")[:64]


@bp.route("/visit-answer", methods=["POST", "GET"])
@twilio_webhook
def visit_answer() -> Response:
    """The customer's phone answered. `AnsweredBy` comes with this request (answering-machine
    detection, DetectMessageEnd: a machine only once its greeting has ended, so the message
    is what it records; https://www.twilio.com/docs/voice/answering-machine-detection)."""
    eng = engine()
    sid = _visit_sid()
    info = eng.router.call(sid)
    if info is None or info.state in OVER:
        return fallback()  # nothing of ours to put them through to: the fallback line
    vr = VoiceResponse()
    customer = caller_of(info)
    if field("AnsweredBy", 32).startswith(MACHINE):
        dispatch.act_on(eng.visits.ended(sid, "machine"))  # the agent is free at once
        slow = dataclasses.replace(customer, senior=True)  # slow for every listener
        number = spoken_number(telephony().caller_id)
        say(vr, slow, "visit_voicemail", hotline=eng.settings.hotline.name, number=number)
        vr.hangup()
        return reply(vr)
    eng.router.callback_answered(sid, field("CallSid", 64))
    _intro(vr, customer)
    vr.redirect(voice_url("visit-connect", call=sid), method="POST")
    return reply(vr)


def _intro(vr: VoiceResponse, customer: Caller) -> None:
    """The hotline named, inside a Gather: a key or a word for a person ends it at once (the
    same as letting it finish: either way the next step is a person)."""
    s = engine().settings
    packs = default_packs()
    words = packs.words(customer.dialect, "agent")
    with vr.gather(
        input="dtmf speech",
        num_digits=1,
        action=voice_url("visit-connect", call=_visit_sid()),
        method="POST",
        timeout=1,  # the agent is waiting: no pause for input after the intro
        language=packs.gather_language(customer.dialect),
        hints=",".join(words),
    ) as gather:
        say(gather, customer, "visit_intro", hotline=s.hotline.name, key=s.ivr.agent_key)


@bp.route("/visit-connect", methods=["POST", "GET"])
@twilio_webhook
def visit_connect() -> Response:
    """Put the customer through to their reserved agent; if that agent is gone (signed out,
    forced away), the customer waits in line on the call for the next one, place kept."""
    eng = engine()
    sid = _visit_sid()
    info = eng.router.call(sid)
    if info is None or info.state in OVER:
        return fallback()
    vr = VoiceResponse()
    offer = eng.router.offer_for(sid)
    if offer is None:
        return reply(place(vr, eng.router.arrive(sid, caller_of(info), info.queue)))
    return reply(dial_agent(vr, offer))


@bp.route("/visit-status", methods=["POST", "GET"])
@twilio_webhook
def visit_status() -> Response:
    """How the visit's call ended (its status callback): busy, no-answer and failed free the
    agent and are retried per the campaign's plan; a conversation's agent goes to wrap-up."""
    dispatch.act_on(engine().visits.ended(_visit_sid(), field("CallStatus", 32)))
    return reply(VoiceResponse())
