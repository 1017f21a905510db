"""The conference path's door: a caller on their way to their room while their agent's leg is
placed through REST, after the caller's own webhook has answered (no REST inside it).

door (conference.py) -> the first words of the caller's prompt, then /voice/enter:
  the leg placed         -> into the room, hearing the rest of the prompt there
  its create still out   -> the rest of the prompt (later: a second's pause), then here again,
                            for up to twice `twilio.rest_timeout` and a second (the create, then
                            the look for the leg of one that went unanswered)
  it failed, or is late  -> <Dial> the agent (the classic path), recorded first so that a leg
                            whose create comes back after all is ended (Router.dial_instead)
  anything else          -> the way routing has for them now (placement.connect_assigned):
                            another agent, back in line, a person

Why: only REST can take a caller out of a room (a waitUrl's document may hold only Say, Play,
Pause and Redirect, https://www.twilio.com/docs/api/errors/13238), so a caller who entered it
before the leg existed would be stranded there by a REST outage (docs/time-to-human.md).
"""

from __future__ import annotations

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.call.twiml import reply
from ivr.call.voice.conference import ALL, FIRST, bp, door, say_part
from ivr.call.voice.placement import connect_assigned, dial_agent
from ivr.call.webhooks import twilio_webhook
from ivr.services import engine, settings
from routing.clock import epoch_ms


def _arg(name: str) -> str:
    return request.args.get(name, "")[:64]


@bp.route("/enter", methods=["POST", "GET"])
@twilio_webhook
def enter_room() -> Response:
    """The caller at their room's door: in once their agent's leg exists, else <Dial>ed."""
    eng = engine()
    call_sid, agent_id, prompt = _arg("call"), _arg("agent"), _arg("p") or "connecting"
    said = ALL if _arg("h") == str(ALL) else FIRST
    offer = eng.router.offer_for(call_sid)
    if offer is None or offer.agent.id != agent_id or offer.agent_leg or offer.open_leg:
        return reply(connect_assigned(VoiceResponse(), call_sid, prompt, said))
    now = epoch_ms(eng.clock.now())
    since = int(_arg("t")) if _arg("t").isdigit() and len(_arg("t")) < 16 else now
    # the create's answer, then the look for its leg (dispatch.Dispatcher.place_leg)
    overdue = now - since > (2 * settings().twilio.rest_timeout + 1) * 1000
    if offer.leg_claim == "placing" and not overdue:
        return reply(door(VoiceResponse(), offer, prompt, said, since))
    # the create failed (its claim given back), or it is late: the agent by <Dial>, unless
    # its leg was recorded meanwhile, or another create was claimed since (served the door)
    if offer.leg_claim != "dial":
        way = eng.router.dial_instead(call_sid, agent_id, force=overdue)
        if way == "placing":
            return reply(door(VoiceResponse(), offer, prompt, said, since))
        if way != "dial":
            return reply(connect_assigned(VoiceResponse(), call_sid, prompt, said))
    vr = VoiceResponse()
    if said == FIRST:
        say_part(vr, (offer.caller_dialect, offer.senior), prompt, "rest")
    return reply(dial_agent(vr, offer))
