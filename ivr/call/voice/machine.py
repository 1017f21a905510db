"""Answering-machine detection's result on a call-back or a return visit, and what follows.

Both calls are placed with AsyncAmd (ivr/telephony.py): the person who answers is greeted and
put through at once, and Twilio's verdict arrives here later. A "machine" may be a senior who
talked for longer than the speech threshold ("喂？喂？您好，哪位啊？"), so it is asked once
for a key or a word before the call is given up; a voicemail records the short message.

amd             -> AsyncAmdStatusCallback: a machine or fax before an agent has answered: the
                   call taken (REST) to machine-confirm; a person, `unknown`, or an agent
                   already talking: nothing
machine-confirm -> one question, a key or a word (Gather), in the caller's dialect
machine-answer  -> an answer: through to the agent (or in line); none: machine-message
machine-message -> the short message with the hotline's number; the agent released, the
                   call-back retried as a failed attempt (a visit: per its campaign)
"""

from __future__ import annotations

import dataclasses

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from dialects.packs import default_packs
from ivr.call import dispatch
from ivr.call.twiml import reply
from ivr.call.voice.blueprint import bp
from ivr.call.voice.common import (
    MACHINE,
    OVER,
    caller_of,
    field,
    offer_gather,
    routing_sid,
    say,
    spoken_number,
    voice_url,
)
from ivr.call.voice.placement import dial_agent, place
from ivr.call.webhooks import fallback, twilio_webhook
from ivr.services import engine, telephony
from routing.queues.router import CallInfo


def _query() -> dict[str, str | None]:
    """The routing record and the kind of call, carried from URL to URL."""
    return {"call": routing_sid(), "visit": "1" if request.args.get("visit") else None}


@bp.route("/amd", methods=["POST", "GET"])
@twilio_webhook
def amd() -> Response:
    """The detection's verdict: a machine that no agent has answered yet is asked once."""
    info = engine().router.call(routing_sid())
    leg = field("CallSid", 64)
    # An agent already talking (on_call) hears for themselves who answered; a verdict about a
    # leg that is no longer the record's (a retry placed since) changes nothing.
    if (
        field("AnsweredBy", 32).startswith(MACHINE)
        and info is not None
        and info.state == "offered"
        and info.leg == leg
    ):
        dispatch.steer(leg, voice_url("machine-confirm", **_query()))
    return reply(VoiceResponse())


@bp.route("/machine-confirm", methods=["POST", "GET"])
@twilio_webhook
def machine_confirm() -> Response:
    """Ask once, in the caller's dialect, for a key or a word; silence: the short message."""
    info = _live()
    if info is None:
        return fallback()
    vr = VoiceResponse()
    customer = caller_of(info)
    with offer_gather(vr, customer, voice_url("machine-answer", **_query())) as gather:
        say(gather, customer, "machine_confirm")
    vr.redirect(voice_url("machine-message", **_query()), method="POST")
    return reply(vr)


@bp.route("/machine-answer", methods=["POST", "GET"])
@twilio_webhook
def machine_answer() -> Response:
    """A key, or a word for yes or a person: a person is there; put them through."""
    eng, sid, info = engine(), routing_sid(), _live()
    if info is None:
        return fallback()
    vr = VoiceResponse()
    if not _answered(info):
        vr.redirect(voice_url("machine-message", **_query()), method="POST")
        return reply(vr)
    if request.args.get("visit"):
        vr.redirect(voice_url("visit-connect", call=sid), method="POST")
        return reply(vr)
    offer = eng.router.offer_for(sid)
    if offer is None:  # the reserved agent went away meanwhile: in line, on the line
        return reply(place(vr, eng.router.arrive(sid, caller_of(info), info.queue)))
    return reply(dial_agent(vr, offer))


@bp.route("/machine-message", methods=["POST", "GET"])
@twilio_webhook
def machine_message() -> Response:
    """Nobody answered the question: the short message, then the call is given up."""
    eng, sid, info = engine(), routing_sid(), _live()
    if info is None:
        return fallback()
    visit = bool(request.args.get("visit"))
    if visit:
        dispatch.act_on(eng.visits.ended(sid, "machine"))
    else:
        dispatch.act_on(eng.router.callback_result(sid, "machine"))
    vr = VoiceResponse()
    slow = dataclasses.replace(caller_of(info), senior=True)  # slow for every listener
    number = spoken_number(telephony().caller_id)
    key = "visit_voicemail" if visit else "callback_voicemail"
    say(vr, slow, key, hotline=eng.settings.hotline.name, number=number)
    vr.hangup()
    return reply(vr)


def _live() -> CallInfo | None:
    """The call's routing record, None once it is over (a person answers then: the fallback)."""
    info = engine().router.call(routing_sid())
    return None if info is None or info.state in OVER else info


def _answered(info: CallInfo) -> bool:
    """Any key, or speech with a word for yes or for a person and none for no."""
    if field("Digits", 8):
        return True
    heard = field("SpeechResult", 1000)
    if not heard:
        return False
    packs = default_packs()
    words = [w for m in ("yes", "agent") for w in packs.words(info.caller_dialect, m)]
    refusals = packs.words(info.caller_dialect, "no")
    return any(w in heard for w in words) and not any(w in heard for w in refusals)
