"""The classic connection path: the caller's leg <Dial>s the agent, whose leg hears a whisper.

The path whenever the conference path (conference.py) is off (no Twilio credentials for
REST, or `ivr.connect = "dial"`) or could not place the agent's leg; the <Dial> itself is
placement.dial_agent.

connect     -> where a REST pull sends a dequeued caller (the conference path pulls to
               /voice/room instead): their agent, <Dial>ed; or the room or open line already
               theirs; not assigned after all, back in line
whisper     -> on the agent's leg once they answer: who is calling, then whisper?heard=1,
               after which the bridge follows (the time to a human is recorded there); a
               phone-number agent presses a key first (whisper?accepted=1 is its action)
dial-result -> the <Dial> action: completed: done (a senior hears the complaint channel)  |
               busy / no-answer / failed: the next agent, the caller keeping their place
"""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.call import dispatch
from ivr.call.agent_leg import accept_gather, whisper_into
from ivr.call.twiml import reply
from ivr.call.voice.blueprint import bp
from ivr.call.voice.common import (
    DONE,
    caller_of,
    complaint_params,
    field,
    routing_sid,
    say,
    utter,
    voice_url,
)
from ivr.call.voice.placement import connect_assigned, place
from ivr.call.webhooks import public_base, twilio_webhook
from ivr.services import engine


# The endpoint keeps the view's name before the split: spool files and logs name endpoints.
@bp.route("/connect", methods=["POST", "GET"], endpoint="connect")
@twilio_webhook
def connect_classic() -> Response:
    """Where a REST pull sends a dequeued caller on the classic path: the agent assigned."""
    return reply(connect_assigned(VoiceResponse(), routing_sid()))


@bp.route("/whisper", methods=["POST", "GET"])
@twilio_webhook
def whisper() -> Response:
    """Runs on the agent's leg after they answer, before the bridge: who is on the line."""
    eng = engine()
    call_sid = request.args.get("call", "")[:64]
    agent_id = request.args.get("agent", "")[:64]
    vr = VoiceResponse()
    if not request.args.get("accepted"):
        agent = eng.agents.get(agent_id)
        if agent is not None and not agent.contact.startswith("client:"):
            # a phone number, which its voicemail may answer: a key first (agent_leg.py);
            # its action is this URL again, accepted
            offer = eng.router.offer_for(call_sid)
            if offer is not None and offer.agent.id == agent_id:
                again = voice_url("whisper", call=call_sid, agent=agent_id, accepted=1)
                whisper = eng.settings.ivr.whisper
                return reply(accept_gather(vr, offer, public_base(), whisper, again))
    if request.args.get("heard"):
        # The whisper has played (its <Redirect> brought Twilio here): the bridge follows
        # this empty document, so this is when the caller hears their agent.
        eng.router.connected(call_sid, agent_id)
        return reply(vr)
    offer = eng.router.answered(call_sid, agent_id)
    if offer is None:
        vr.hangup()  # the caller is gone or was given to someone else
        return reply(vr)
    kind = eng.settings.ivr.whisper
    if request.args.get("accepted") or kind == "none":
        # The bridge follows this document at once: a phone-number agent heard the whisper
        # before their key, and with no whisper there is nothing between.
        eng.router.connected(call_sid, agent_id)
        return reply(vr)
    # The caller is bridged once the whisper ends, not at the pick-up: the time to a human is
    # recorded then, by this URL again (a whisper may hold any verb but <Dial>,
    # https://www.twilio.com/docs/voice/twiml/number#url). It costs the caller one webhook's
    # round trip, the price of a figure that is what they heard (issue: the classic path's
    # figure was a whisper's length short of what the caller heard).
    whisper_into(vr, offer, kind)
    vr.redirect(voice_url("whisper", call=call_sid, agent=agent_id, heard=1), method="POST")
    return reply(vr)


@bp.route("/dial-result", methods=["POST", "GET"])
@twilio_webhook
def dial_result() -> Response:
    """The <Dial> action: the call ended, or the agent did not answer and the next one is tried."""
    eng = engine()
    call_sid = routing_sid()
    agent_id = request.args.get("agent", "")[:64]
    vr = VoiceResponse()
    if field("CallStatus", 32) in DONE:
        # The caller has hung up (this request reports it only incidentally): nothing to
        # route, and no miss against an agent whose phone was still ringing. The status
        # callback is the authority on the caller's end and frees the agent (/voice/status).
        return reply(vr)
    duration = field("DialCallDuration", 16)
    # the agent freed by a miss may have a caller to pull: the tick's offers come with it
    # strict: on this path the agent answers only through the whisper's webhook
    placement, offers = eng.router.dial_result_tick(
        call_sid,
        agent_id,
        field("DialCallStatus", 32),
        int(duration) if duration.isdigit() else 0,
        strict=True,
    )
    dispatch.act_on(offers)
    if placement is None:  # the conversation is over; a senior still on the line hears the
        info = eng.router.call(call_sid)  # complaint channel, which delays them no longer
        if info is not None and info.senior:
            utter(vr, caller_of(info), "complaint_channel", complaint_params())
        vr.hangup()
        return reply(vr)
    info = eng.router.call(call_sid)
    if info is not None:
        say(vr, caller_of(info), "reroute")
    return reply(place(vr, placement))
