"""Call-backs: the call placed to a senior who asked to be called back, a call of its own.

Its URLs carry the inbound call's routing record as `call` (common.routing_sid).

callback-answer -> the hotline named at once, then their reserved agent (<Dial>), or in
                   line if that agent went away; answering-machine detection runs
                   asynchronously and its verdict goes to /voice/amd (machine.py), where a
                   machine is asked once before the call-back is retried
callback-status -> how the call-back call ended: a failed one is retried per config
"""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.call import dispatch
from ivr.call.twiml import reply
from ivr.call.voice.blueprint import bp
from ivr.call.voice.common import MACHINE, caller_of, field, routing_sid, say
from ivr.call.voice.placement import dial_agent, place
from ivr.call.webhooks import fallback, twilio_webhook
from ivr.services import engine


@bp.route("/callback-answer", methods=["POST", "GET"])
@twilio_webhook
def callback_answer() -> Response:
    """The senior answered our call-back: greet them and put them through to their agent.

    Call-backs are placed with AsyncAmd, so no `AnsweredBy` comes here (machine.py has the
    verdict); a call placed with synchronous detection that names a voicemail or fax is not
    the senior: the reserved agent is released and the call-back retried as a failed attempt.
    """
    eng = engine()
    call_sid = routing_sid()
    vr = VoiceResponse()
    if field("AnsweredBy", 32).startswith(MACHINE):
        dispatch.act_on(eng.router.callback_result(call_sid, "machine"))
        vr.hangup()
        return reply(vr)
    eng.router.callback_answered(call_sid, field("CallSid", 64))
    info = eng.router.call(call_sid)
    if info is None or info.state not in ("waiting", "offered"):
        return fallback()  # nothing of ours to put them through to: the fallback line
    say(vr, caller_of(info), "callback_intro", hotline=eng.settings.hotline.name)
    offer = eng.router.offer_for(call_sid)
    if offer is None:  # the reserved agent went away meanwhile: the senior waits on the line
        return reply(place(vr, eng.router.arrive(call_sid, caller_of(info), info.queue)))
    return reply(dial_agent(vr, offer))


@bp.route("/callback-status", methods=["POST", "GET"])
@twilio_webhook
def callback_status() -> Response:
    """The outcome of a call-back call; a failed one is retried per config."""
    call_sid = request.args.get("call", "")[:64]
    dispatch.act_on(engine().router.callback_result(call_sid, field("CallStatus", 32)))
    return reply(VoiceResponse())
