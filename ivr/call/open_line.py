"""Open lines: a persistent agent's leg waits in their own room, and a caller joins it.

The largest contact-centre platforms keep an available agent's line open (Amazon Connect's and
Genesys Cloud's *persistent connection*) so that a new caller is joined to it with no phone to
ring (docs/time-to-human.md, "Open lines"):

the agent signs in (persistent) -> their leg is placed through REST with inline TwiML: into
    their own room, `agent-<id>`, which it starts and ends (Dispatcher.sync_lines); its join
    (/voice/open-room) marks them connected, its end (/voice/open-line-status) not connected
a caller is given them -> the caller's answer joins that room (no Create Call), and the agent
    alone hears who is calling: an announcement to their participant, asked for before the
    caller's answer is sent (Telephony.announce, /voice/announce); the caller hears them once
    both are done (/voice/open-room)
a softphone agent turns the line on -> the console's Device connects it itself: an outgoing
    call Twilio sends to the TwiML App's Voice URL (/voice/softphone-line), answered with the
    same room; a REST-placed leg after 30 s if it never arrives (Dispatcher.sync_lines)
the line drops -> the engine sends a caller on their way to it to the next agent, keeping
    their place; the line is placed again
the conversation ends -> the caller's leg ends (the agent's console takes them out); the
    agent's leg stays in the room, the room stays theirs
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from ivr.call import dispatch
from ivr.call.agent_leg import line_into, refuse_line, room_name, whisper_into
from ivr.call.twiml import reply
from ivr.call.webhooks import public_base, twilio_webhook
from ivr.services import engine, settings
from routing.queues.router import Offer

bp = Blueprint("open_line", __name__, url_prefix="/voice")

_DONE = {"completed", "busy", "failed", "no-answer", "canceled"}
# What the console's Device.connect sends (`params`, "key:value pairs to be sent to the TwiML
# app", https://twilio.github.io/twilio-voice.js/interfaces/Device.ConnectOptions.html)
PURPOSE = "open-line"
CLIENT = "client:"  # From of a Voice SDK call: the token's identity (docs/real-network.md)


def _url(base: str, path: str, **params: object) -> str:
    return f"{base}/voice/{path}?{urlencode(params)}"


def join_open_line(vr: VoiceResponse, offer: Offer, base: str) -> VoiceResponse:
    """The caller's answer: into their agent's room, which they neither start nor end.

    A room with the agent in it has started, so they are bridged at once; one whose line has
    just dropped (its end not heard of yet) keeps them on the room's hold document until the
    engine sends them on (its waitUrl, as the caller's own room's)."""
    who = {"d": offer.caller_dialect, "s": int(offer.senior)}
    dial = vr.dial(action=_url(base, "room-result", call=offer.call_sid, **who), method="POST")
    dial.conference(
        room_name(offer.agent.id),
        start_conference_on_enter=False,
        end_conference_on_exit=False,
        beep=False,
        wait_url=_url(base, "hold", call=offer.call_sid, p="connecting", **who),
        wait_method="POST",
    )
    return vr


def announce_after(offer: Offer) -> None:
    """Announce the caller to their agent alone now, before the caller's answer is sent.

    The caller hears the agent once the agent has heard who is calling: the engine counts
    them connected at the later of their join and the announcement's end. Asked for after
    the answer, the announcement reached the local Twilio ~10 ms after the caller had joined,
    so the caller was bridged at once and the whisper played over the conversation's first
    second, while the engine counted it as a second later (docs/time-to-human.md, "What
    "connected" means on an open line"). Asked for first, it has started when the caller
    enters, whatever the order the two reach Twilio in. One REST request inside the webhook,
    bounded by twilio.rest_timeout, as ringing an agent on the conference path is; if it
    fails, the caller is not kept from the agent: their join alone connects them.
    """
    eng = engine()
    if eng.settings.ivr.whisper == "none":
        return
    if not dispatch.announce(offer):
        eng.router.open_room(offer.agent.id, "announced", "")


@bp.route("/announce", methods=["POST", "GET"])
@twilio_webhook
def announce() -> Response:
    """The announcement to the agent: the whisper of the caller they were given."""
    eng = engine()
    offer = eng.router.offer_for(request.args.get("call", "")[:64])
    vr = VoiceResponse()
    if offer is not None and offer.agent.id == request.args.get("agent", "")[:64]:
        whisper_into(vr, offer, eng.settings.ivr.whisper)
    return reply(vr)


@bp.route("/open-room", methods=["POST", "GET"])
@twilio_webhook
def open_room() -> Response:
    """The agent's room: their line joined (connected), their caller joined, or the
    announcement to the agent ended (the caller hears them once both are done)."""
    eng = engine()
    agent_id = request.args.get("agent", "")[:64]
    event = request.form.get("StatusCallbackEvent", "")[:32]
    leg = request.form.get("CallSid", "")[:64]
    kind = {"participant-join": "join", "announcement-end": "announced"}.get(event)
    if event == "announcement-fail":
        kind = "announced"  # the caller is not kept from the agent for a lost whisper
    if kind is not None and agent_id:
        announced = eng.settings.ivr.whisper != "none"
        room = request.form.get("ConferenceSid", "")[:64]
        offers, close = eng.router.open_room(agent_id, kind, leg, room, announced)
        dispatch.act_on(offers)
        if close:
            dispatch.end_agent_leg(close)
    return reply(VoiceResponse())


def _identity() -> str:
    """The Client identity in From ("" for a phone number or nothing)."""
    caller = request.form.get("From", "")[:128]
    return caller[len(CLIENT) :][:64] if caller.startswith(CLIENT) else ""


def _refusal() -> Response:
    return reply(refuse_line(VoiceResponse(), settings().fallback.dialect))


@bp.route("/softphone-line", methods=["POST", "GET"])
@twilio_webhook
def softphone_line() -> Response:
    """The agent's softphone connecting their open line (the TwiML App's Voice URL): into
    their room, if they want a line, are signed in and have none placed; else refused."""
    eng = engine()
    agent = eng.agents.get(_identity()) if _identity() else None
    leg = request.form.get("CallSid", "")[:64]
    if (
        agent is None
        or agent.contact != CLIENT + agent.id  # a phone-number agent's line is placed by REST
        or request.form.get("purpose") != PURPOSE
        or not leg
        or not eng.router.open_line(agent.id, "dialled", leg).accepted
    ):
        return _refusal()
    return reply(line_into(VoiceResponse(), agent, public_base()))


@bp.route("/open-line-status", methods=["POST", "GET"])
@twilio_webhook
def open_line_status() -> Response:
    """The open line ended (hung up, dropped, never answered): the agent is not connected; a
    caller on their way to it goes on at once; the line is placed again while they want it.

    A line placed through REST names its agent in the URL; one the softphone dialled reports
    through the TwiML App's StatusCallback, its agent in From."""
    status = request.form.get("CallStatus", "")[:32]
    agent_id = request.args.get("agent", "")[:64] or _identity()
    if status in _DONE and agent_id:
        eng = engine()
        change = eng.router.open_line(agent_id, "down", request.form.get("CallSid", "")[:64])
        dispatch.send_on(change.moved)
        dispatch.act_on([o for o in change.offers if o.call_sid != change.moved])
        dispatch.sync_lines()
    return reply(VoiceResponse())
