"""The conference path: the agent rings while the caller is greeted, in a room of the call's own.

This is how Twilio Flex connects calls, and it takes the greeting and the agent's ringing out
of each other's way (docs/time-to-human.md):

incoming, an agent free -> the caller hears their greeting's first words at their room's door
    (door, /voice/enter) while the agent's leg is placed through REST after that answer
    (dispatch.ring_after_answer); once it exists they enter their room, named after their
    call, and hear the rest of the greeting from its waitUrl (/voice/hold) while the agent's
    phone rings; if it cannot be placed, /voice/enter <Dial>s the agent (ivr/call/voice/
    entering.py): only REST could take a caller out of a room
the agent answers -> their leg runs the TwiML it was placed with (ivr/call/agent_leg.py, no
    webhook): a short whisper, then the same room; the conference starts, the caller's wait
    audio stops and they hear the agent (/voice/room-status records the pick-up and the time
    to a human)
the agent misses -> /voice/agent-status: the next free agent is rung, the caller still in the
    room; with nobody free they wait there, and are rung for when an agent frees up
a caller who waited in the queue -> when assigned, the agent's leg is placed and the caller is
    pulled from the queue into their room (/voice/room)

Without REST (no Twilio credentials, or `ivr.connect = "dial"`) and whenever the agent's leg
cannot be placed, the call goes the classic path: greeting, then <Dial> the agent
(classic.py, placement.dial_agent).
Conference facts used: https://www.twilio.com/docs/voice/twiml/conference (waitUrl before the
start; startConferenceOnEnter, endConferenceOnExit; statusCallbackEvent), and the waitUrl's
document may hold only Say, Play, Pause and Redirect (https://www.twilio.com/docs/api/errors/13238).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from dialects.packs import default_packs, first_words
from ivr.call import dispatch
from ivr.call.agent_leg import conference, join_as_agent, whisper_into
from ivr.call.twiml import reply, speak
from ivr.call.webhooks import fallback, public_base, twilio_webhook
from ivr.services import engine
from routing.clock import epoch_ms
from routing.exceptions import StoreUnavailable
from routing.queues.router import CallInfo, Offer

# "connect", the name from before this module was conference.py: the endpoints (connect.<view>)
# are written into spool files (ivr/call/spool.py REPORTS) and choose the failure answer.
bp = Blueprint("connect", __name__, url_prefix="/voice")

_DONE = {"completed", "busy", "failed", "no-answer", "canceled"}
_LIVE = ("waiting", "offered", "on_call")  # a routing record someone may still come to
_HOLD_SECONDS = 10  # silence between the reassurances of a caller waiting in their room
_REASSURE_EVERY = 3  # hold documents: "connecting you" every third (~30 s)


def _url(path: str, **params: object) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{public_base()}/voice/{path}" + (f"?{query}" if query else "")


def _arg(name: str) -> str:
    return request.args.get(name, "")[:64]


def room(
    vr: VoiceResponse,
    call_sid: str,
    prompt: str,
    who: tuple[str, bool] | None = None,
    said: int = 0,
) -> VoiceResponse:
    """The caller's answer: into the call's own room, hearing `prompt` until the agent comes.

    The caller ends the conference when they leave (endConferenceOnExit) and never starts it:
    the agent's arrival does, which cuts the wait audio at once. `who`: the caller's dialect
    and whether they are a senior, carried in the URLs of the room's first hold document and
    of its result, which then need no look-up (Twilio signs the URLs, so they are ours).
    `said`: how much of `prompt` the caller heard on their way here (FIRST or ALL; `door`).
    """
    known = {"d": who[0], "s": int(who[1])} if who else {}
    # r=1: the call's own room (an open line's room has its own action, ivr/call/open_line.py)
    dial = vr.dial(action=_url("room-result", call=call_sid, r=1, **known), method="POST")
    conference(
        dial,
        call_sid,
        start=False,
        wait_url=_url("hold", call=call_sid, p=prompt, h=said or None, **known),
        wait_method="POST",
        status_callback=_url("room-status", call=call_sid, by="caller"),
        status_callback_event="start",
    )
    return vr


@bp.route("/hold", methods=["POST", "GET"])
@twilio_webhook
def hold() -> Response:
    """The room's waitUrl: the greeting first, then silence with a reassurance now and then."""
    call_sid, prompt = _arg("call"), _arg("p") or "connecting"
    step = int(_arg("n")) if _arg("n").isdigit() and len(_arg("n")) < 6 else 1
    if step == 1 and _arg("d") and _arg("s") in ("0", "1"):
        # the first document, fetched the moment the caller enters the room: who they are
        # is in its URL, and their record was live when the room was answered (the next
        # documents look it up)
        dialect, senior = _arg("d"), _arg("s") == "1"
    else:
        dialect, senior = _hold_check(call_sid)
    vr = VoiceResponse()
    if step == 1:  # the prompt, less what was said on the way here (`room`'s `said`)
        part = {str(FIRST): "rest", str(ALL): ""}.get(_arg("h"), "all")
        say_part(vr, (dialect, senior), prompt, part)
    elif step % _REASSURE_EVERY == 0:
        say_part(vr, (dialect, senior), "connecting", "all")
    vr.pause(length=_HOLD_SECONDS)
    vr.redirect(_url("hold", call=call_sid, p=prompt, n=step + 1), method="POST")
    return reply(vr)


FIRST, ALL = 1, 2  # how much of a prompt a caller heard before their room (`door`, `room`)


def say_part(vr: VoiceResponse, who: tuple[str, bool], prompt: str, part: str) -> bool:
    """`prompt` in the caller's dialect and pace (`who`): "all" of it, its "first" words or
    the "rest" after them (dialects.packs.first_words); "" says nothing. False: nothing said
    (no part asked, or a prompt that does not divide has no rest)."""
    if not part:
        return False
    s = engine().settings
    params = {"hotline": s.hotline.name, "hours": s.ivr.complaint_hours}
    words = default_packs().utterance(who[0], prompt, **params)
    if part != "all":
        head, rest = first_words(words)
        if part == "rest" and rest is None:
            return False
        words = head if part == "first" else rest or head
    speak(vr, words, public_base(), s.ivr.senior_rate if who[1] else None)
    return True


def door(
    vr: VoiceResponse, offer: Offer, prompt: str, said: int = 0, since: int | None = None
) -> VoiceResponse:
    """The way into the caller's room while their agent's leg is placed: the first words of
    `prompt`, then /voice/enter, which takes them in once the leg exists.

    Nothing but REST can take a caller out of a room (a waitUrl's document may not <Dial>,
    13238), so nobody enters one before their agent's leg was placed: should the create fail,
    /voice/enter <Dial>s the agent instead (docs/time-to-human.md, "A REST outage"). `said`:
    how much of the prompt was heard already (FIRST or ALL): then its rest, or a second's
    pause. `since`: when the caller first came to the door (epoch ms; default now).
    """
    who = (offer.caller_dialect, offer.senior)
    if not said:
        say_part(vr, who, prompt, "first")
    elif said == ALL or not say_part(vr, who, prompt, "rest"):
        vr.pause(length=1)
    since = since if since is not None else epoch_ms(engine().clock.now())
    query = {"call": offer.call_sid, "agent": offer.agent.id, "p": prompt, "t": since}
    vr.redirect(_url("enter", **query, h=ALL if said else FIRST), method="POST")
    return vr


def _hold_check(call_sid: str) -> tuple[str, bool]:
    """The caller's dialect and seniority from their record; a record that is over sends them
    to a person."""
    info = engine().router.call(call_sid)
    if info is None or info.state not in _LIVE:
        # Nobody will come to this room (the record is over: closed by a lost or mistaken
        # report, or expired), yet the caller is in it: out to the fallback line, never left
        # on hold for good. The waitUrl may not <Dial> (13238), so through REST.
        dispatch.rescue(request.form.get("CallSid", "")[:64], info.agent_leg if info else "")
    if info is None:
        return engine().settings.hotline.default_dialect, False
    return info.caller_dialect, info.senior


@bp.route("/room", methods=["POST", "GET"])
@twilio_webhook
def join_room() -> Response:
    """Where a waiting caller is pulled when their agent is being rung: into their room."""
    call_sid = _arg("call") or request.form.get("CallSid", "")[:64]
    info = engine().router.call(call_sid)
    if info is None:
        return fallback()
    if info.agent_leg and info.state == "offered":  # the leg the ticker placed before the pull
        engine().router.entered_room(call_sid, info.agent_id, info.agent_leg)
    return reply(room(VoiceResponse(), call_sid, "wait_next", (info.caller_dialect, info.senior)))


@bp.route("/agent-answer", methods=["POST", "GET"])
@twilio_webhook
def agent_answer() -> Response:
    """The agent picked up: a short whisper, then the caller's room (which starts it).

    For agents' legs placed with a URL, before their TwiML was given inline
    (ivr/call/agent_leg.py): a leg ringing across an upgrade still finds its document."""
    eng = engine()
    call_sid, agent_id = _arg("call"), _arg("agent")
    offer = eng.router.answered(call_sid, agent_id)
    vr = VoiceResponse()
    if offer is None:  # the caller hung up, or was given to someone else meanwhile
        vr.hangup()
        return reply(vr)
    whisper_into(vr, offer, eng.settings.ivr.whisper)
    return reply(join_as_agent(vr, call_sid, public_base(), agent_id))


@bp.route("/agent-accept", methods=["POST", "GET"])
@twilio_webhook
def agent_accept() -> Response:
    """A phone-number agent pressed a key to accept: into the caller's room, if the offer is
    still theirs (the caller may have hung up, or been given to someone else, meanwhile)."""
    call_sid, agent_id = _arg("call"), _arg("agent")
    vr = VoiceResponse()
    # answered for routing now, by this webhook: the room's events may come late and in any
    # order, and the leg's end without this is a miss (routing's dial_result, `strict`)
    if engine().router.answered(call_sid, agent_id) is None:
        vr.hangup()
        return reply(vr)
    return reply(join_as_agent(vr, call_sid, public_base(), agent_id))


@bp.route("/agent-status", methods=["POST", "GET"])
@twilio_webhook
def agent_status() -> Response:
    """The agent's leg ended: talked (done), or missed (the caller's next agent is rung); a
    leg that ended before the caller was joined to it is a miss too (routing's dial_result)."""
    eng = engine()
    status = request.form.get("CallStatus", "")[:32]
    if status in _DONE and _orphan(request.form.get("CallSid", "")[:64]):
        return reply(VoiceResponse())  # not the leg of this offer: its end changes nothing
    if status in _DONE:
        duration = request.form.get("CallDuration", "")[:16]
        agent = eng.agents.get(_arg("agent"))
        placement, offers = eng.router.dial_result_tick(
            _arg("call"),
            _arg("agent"),
            status,
            int(duration) if duration.isdigit() else 0,
            request.form.get("CallSid", "")[:64],
            strict=agent is not None and not agent.contact.startswith("client:"),
        )
        if isinstance(placement, Offer):
            offers.append(placement)
        dispatch.act_on(offers)
    return reply(VoiceResponse())


@bp.route("/room-status", methods=["POST", "GET"])
@twilio_webhook
def room_status() -> Response:
    """The room's events: the caller is connected once the conference has started with them
    in it, whichever came first (a caller pulled from the queue may join after the agent)."""
    eng = engine()
    call_sid = _arg("call")
    event = request.form.get("StatusCallbackEvent", "")[:32]
    if event == "conference-start" and _arg("by") == "caller":
        # the caller's own callback: they were the room's first participant, so are in it.
        # The routing script checks the record itself: no look-up first (one Redis round
        # trip a call less; this is the event of nearly every call on this path).
        eng.router.room_event(call_sid, "both")
        return reply(VoiceResponse())
    info = eng.router.call(call_sid)
    joiner = request.form.get("CallSid", "")[:64]
    if _alone(event, joiner, info):
        dispatch.end_agent_leg(joiner)
    elif info is not None and _arg("agent") in ("", info.agent_id):
        eng.router.room_event(call_sid, _room_event(event, joiner, info))
    return reply(VoiceResponse())


def _orphan(leg: str) -> bool:
    """A leg of a create whose answer never came, other than the one recorded for the offer
    (dispatch.Dispatcher.place_leg): an agent has one leg per caller, never two."""
    if not leg:
        return False
    info = engine().router.call(_arg("call"))
    return info is not None and _not_the_offers(info, leg) and info.agent_id == _arg("agent")


def _not_the_offers(info: CallInfo, leg: str) -> bool:
    """Whether the agent's REST-placed `leg` is not the one of the caller's offer: another leg
    is recorded (this one's create timed out), or the caller was <Dial>ed while its create
    was out and nobody could say whether it existed (ivr/call/voice/entering.py)."""
    return info.agent_leg not in ("", leg) or info.leg_claim == "dial"


def _alone(event: str, joiner: str, info: CallInfo | None) -> bool:
    """An agent joined a room nobody will come to: the offer their leg was placed for is no
    longer theirs (the caller hung up, or it was withdrawn). Their leg runs its TwiML with no
    webhook to check that (ivr/call/agent_leg.py); the agent's callback is the room's only
    when they are its first participant, which is when this can be. They are hung up on, as
    the classic whisper hangs up on an agent whose offer is gone."""
    agent = _arg("agent")
    if event != "participant-join" or _arg("by") != "agent" or not agent or not joiner:
        return False
    if info is not None and joiner in (info.call_sid, info.leg):
        return False  # the caller's own arrival
    if info is not None and _not_the_offers(info, joiner):
        return True  # the orphan of a create that timed out: the caller is not coming to it
    return info is None or info.state not in ("offered", "on_call") or info.agent_id != agent


def _room_event(event: str, joiner: str, info: CallInfo) -> str:
    if event == "conference-start":
        return "start"  # the agent's callback: the caller may not be in yet
    if event == "participant-join" and joiner in (info.call_sid, info.leg):
        return "caller"
    return ""


def _unheard(info: CallInfo) -> bool:
    """Whether the room ended before the caller heard anyone (the call still theirs)."""
    on_line = request.form.get("CallStatus", "")[:32] not in _DONE  # not their hang-up
    if info.state == "offered" and on_line and _arg("r") == "1" and not info.open_leg:
        # The call's own room ends with the caller on the line only once an agent who
        # joined it (which started it) has left: they were connected, and the room's start
        # event, sent asynchronously, has not arrived yet (docs/real-network.md)
        engine().router.room_event(info.call_sid, "both")
        return False
    if info.state not in ("waiting", "offered"):
        return False
    if on_line:  # the room ended around them: its open line left it
        _line_gone(info)
    return True


def _line_gone(info: CallInfo) -> None:
    """The open line's room ended with the caller still in it: the line has left it, though
    its own status callback, sent asynchronously, may come later (docs/real-network.md). It
    is down now, so that /voice/connect finds the caller's next agent, not the same room."""
    if not info.open_leg or info.state != "offered":
        return
    change = engine().router.open_line(info.agent_id, "down", info.open_leg)
    dispatch.act_on([o for o in change.offers if o.call_sid != info.call_sid])
    dispatch.sync_lines()


@bp.route("/room-result", methods=["POST", "GET"])
@twilio_webhook
def room_result() -> Response:
    """The caller's conference ended: the conversation is over; a failed one, a person.

    A senior still on the line after the agent left hears the complaint channel, as on the
    classic path (classic.dial_result): it delays them no longer, and a senior put through at
    once heard no menu where it is read out."""
    if request.form.get("DialCallStatus", "") in ("completed", "answered"):
        vr = VoiceResponse()
        try:
            info = engine().router.call(_arg("call"))
        except StoreUnavailable:  # the conversation's end needs no Redis: as before
            info = None
        if info is not None and _unheard(info):
            # the room ended before the caller heard anyone (an agent's open line dropped):
            # on to their next agent, keeping their place (docs/time-to-human.md, "Open lines")
            vr.redirect(_url("connect", call=info.call_sid), method="POST")
            return reply(vr)
        if _arg("s") in ("0", "1"):  # who the caller is, in the URL (room, above)
            senior, dialect = _arg("s") == "1", _arg("d")
        else:
            info = engine().router.call(_arg("call"))
            senior = info is not None and info.senior
            dialect = info.caller_dialect if info is not None else ""
        if senior:
            ivr = engine().settings.ivr
            told = default_packs().utterance(
                dialect, "complaint_channel", hours=ivr.complaint_hours, key=ivr.complaint_key
            )
            speak(vr, told, public_base(), ivr.senior_rate)
        vr.hangup()
        return reply(vr)
    return fallback()
