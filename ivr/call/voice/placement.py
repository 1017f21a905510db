"""A caller placed: with an agent (classic <Dial>, a conference room, an open line), in a queue
(<Enqueue>), or on their queue's overflow line. No routes: the phases' webhooks answer with it.

say_and_route     the prompt of the caller's entry, then routing's placement for them
connect_assigned  a caller routing has given an agent: the way to that agent
dial_agent        the classic path's TwiML: <Dial> the agent, a whisper on their leg first
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache

from flask import Response, current_app
from twilio.twiml.voice_response import VoiceResponse

from ivr.call import dispatch
from ivr.call.open_line import announce_after, join_open_line
from ivr.call.twiml import dial_contact, reply
from ivr.call.voice.common import OVER, caller_of, carried, field, say, started, utter, voice_url
from ivr.call.voice.conference import door, room
from ivr.call.webhooks import fallback_twiml, public_base
from ivr.services import engine, telephony
from routing.callers.caller import Caller
from routing.queues.router import CallInfo, Offer, Placement, Queued


def say_and_route(caller: Caller, queue: str, prompt: str, **params: str | int) -> Response:
    """`prompt`, then the caller placed in `queue`: <Dial> to a free agent, else <Enqueue>."""
    # On the conference path the agent's leg is claimed with the arrival, and placed after the
    # answer (dispatch.ring_after_answer), if the account's calls per second allow it now: a
    # leg that would wait in Twilio's CPS queue makes way for the classic <Dial> (not limited).
    conference = dispatch.conference_enabled()
    slot = conference and dispatch.may_ring(caller.senior)
    placement = engine().router.arrive(
        field("CallSid", 64), caller, queue, started(), claim=conference
    )
    if isinstance(placement, Queued):
        overflowed = _overflowed(placement)
        if overflowed is not None:  # the queue was too long: its overflow line
            vr = VoiceResponse()
            utter(vr, caller, prompt, params)
            return reply(overflow_line(vr, overflowed))
        # Where a REST pull can take the caller out of the queue, the prompt is the wait
        # URL's first document: a pull cuts it the moment an agent is theirs (a verb outside
        # the queue cannot be cut), e.g. a senior who finds nobody free hears the greeting
        # in the queue, not before it.
        cut = prompt if telephony().enabled else ""
        key = (prompt, tuple(params.items()), caller.dialect, caller.senior, placement.queue)
        return reply(_queued_answers()(*key, public_base(), cut))
    if placement.open_leg:  # their agent's line is open: into the agent's room, no ringing
        announce_after(placement)
        return reply(join_open_line(VoiceResponse(), placement, public_base()))
    if conference and _to_room(placement, slot):
        return reply(door(VoiceResponse(), placement, prompt))
    if conference and caller.senior:
        # No second was free for the agent's leg: the senior's phone rings on until the agent
        # answers (<Dial answerOnBridge> first), a person at once, as the room would have cut
        # the greeting at the agent's arrival. Measured at 3 calls/s on a 1-CPS account:
        # BENCHMARKS.md, "Calls per second".
        return reply(dial_agent(VoiceResponse(), placement))
    vr = VoiceResponse()
    utter(vr, caller, prompt, params)
    return reply(dial_agent(vr, placement))


def _to_room(offer: Offer, slot: bool) -> bool:
    """Whether the caller goes to their room's door (conference.door): the leg claimed by
    this request with a second free to place it (placed after this answer), or claimed by
    another request that places it. False: <Dial> them, which this request has claimed (no
    leg will be placed for the offer), or another has."""
    router = engine().router
    if offer.leg_claimed:  # claimed with the caller's arrival (Router.arrive)
        if slot:
            dispatch.ring_after_answer(offer)
            return True
        return router.dial_instead(offer.call_sid, offer.agent.id) == "room"
    claim = router.claim_leg(offer.call_sid, offer.agent.id, dial=not slot)
    if claim.outcome == "claimed":
        if slot:
            dispatch.ring_after_answer(replace(offer, leg_claimed=True))
        return slot
    # another request's: the pull's URL and the <Enqueue> action are both requested for a
    # caller in the queue, and either answer may be the one that runs
    return claim.outcome == "taken" and not claim.dialled


def _overflowed(placement: Queued) -> CallInfo | None:
    """The caller's record if routing sent them out of line on arrival (no place: position 0)."""
    if placement.position > 0:
        return None
    info = engine().router.call(placement.call_sid)
    return info if info is not None and info.state == "overflowed" else None


QueuedAnswers = Callable[[str, tuple[tuple[str, str | int], ...], str, bool, str, str, str], str]
_QUEUED_ANSWERS = "silverline.queued_answers"


def _queued_answers() -> QueuedAnswers:
    """This app's queued answers: each built once and kept (most calls queue).

    A queued answer names no agent and no call, so every caller with the same prompt,
    dialect, pace and queue gets the same document; building and serialising it was a tenth
    of a webhook's CPU. Kept per app: another app may have other settings or prompts.
    """
    found: QueuedAnswers | None = current_app.extensions.get(_QUEUED_ANSWERS)
    if found is None:
        found = current_app.extensions[_QUEUED_ANSWERS] = lru_cache(maxsize=512)(_queued_answer)
    return found


def _queued_answer(
    prompt: str,
    params: tuple[tuple[str, str | int], ...],
    dialect: str,
    senior: bool,
    queue: str,
    base: str,
    in_queue: str = "",
) -> str:
    """<Enqueue>, after `prompt`, or with `prompt` said by the wait URL (`in_queue`)."""
    vr = VoiceResponse()
    if not in_queue:
        utter(vr, Caller("", None, None, None, dialect, senior), prompt, dict(params))
    return str(enqueue(vr, queue, base, greet=in_queue or None))


def place(vr: VoiceResponse, placement: Placement) -> VoiceResponse:
    """A caller routing placed again: <Dial> the agent offered, else back in their queue."""
    if isinstance(placement, Offer):
        return dial_agent(vr, placement)
    return enqueue(vr, placement.queue, public_base(), call=carried())


def enqueue(
    vr: VoiceResponse, queue: str, base: str, call: str | None = None, greet: str | None = None
) -> VoiceResponse:
    """<Enqueue> in `queue`, the wait URL saying `greet` first when given."""
    vr.enqueue(
        queue,
        # the prompt rides on the action too: a caller Twilio finds the queue full for never
        # reached the wait URL, and hears it in the queue they overflow to (waiting.queue_full)
        action=voice_url("queue-result", base=base, call=call, g=greet),
        method="POST",
        wait_url=voice_url("wait", base=base, call=call, g=greet),
        wait_url_method="POST",
    )
    return vr


def dial_agent(vr: VoiceResponse, offer: Offer) -> VoiceResponse:
    """The classic path: <Dial> the offered agent from the caller's leg, /voice/whisper on
    theirs before the bridge, /voice/dial-result after."""
    s = engine().settings
    dial = vr.dial(
        action=voice_url("dial-result", agent=offer.agent.id, call=offer.call_sid),
        method="POST",
        # Only a first verb can keep the caller's leg ringing until the agent answers; after a
        # <Say> the call is already answered (https://www.twilio.com/docs/voice/twiml/dial
        # #answeronbridge), and the attribute would only mislead a reader.
        answer_on_bridge=True if not vr.verbs else None,
        timeout=s.routing.dial_timeout,
    )
    dial_contact(
        dial, offer.agent.contact, voice_url("whisper", call=offer.call_sid, agent=offer.agent.id)
    )
    return vr


def overflow_line(vr: VoiceResponse, info: CallInfo) -> VoiceResponse:
    """A caller routing sent out as overflowed: their queue's overflow line, said first; the
    fallback line when the queue has none (a Twilio queue error). The line's <Dial> action
    (/voice/line-result) rings the fallback lines if it is busy or unanswered: never the end."""
    conf = engine().settings.queues.get(info.queue)
    if conf is None or conf.overflow_kind() != "line":
        return fallback_twiml()
    say(vr, caller_of(info), "overflow_line")
    vr.dial(conf.overflow_to, timeout=60, action=voice_url("line-result"), method="POST")
    return vr


def connect_assigned(
    vr: VoiceResponse, call_sid: str, prompt: str = "wait_next", said: int = 0
) -> VoiceResponse:
    """The way to the agent routing gave the caller: their open line, their room (conference
    path), or <Dial> (classic path); not assigned after all, back in line or to a person.
    `prompt`: what a caller going to their room hears there, `said` of it heard already."""
    offer = engine().router.offer_for(call_sid)
    if offer is not None and offer.open_leg:  # their agent's line is open: into their room
        announce_after(offer)
        return join_open_line(vr, offer, public_base())
    if offer is not None and offer.agent_leg:  # their agent is rung already: into the room
        engine().router.entered_room(call_sid, offer.agent.id, offer.agent_leg)
        return room(vr, call_sid, prompt, (offer.caller_dialect, offer.senior), said)
    if offer is None:  # not assigned after all (e.g. a duplicate request): keep waiting
        info = engine().router.call(call_sid)
        if info is not None and info.state == "overflowed":  # their queue's overflow line
            return overflow_line(vr, info)
        if info is None or info.state in OVER:
            # the caller is on the line, and routing will never assign them: a person now
            # (before, they went back into a queue nobody serves, polling for good: how a
            # bench.call run never ended)
            return fallback_twiml()
        return place(vr, engine().router.arrive(call_sid, caller_of(info), info.queue))
    if dispatch.conference_enabled() and _to_room(offer, dispatch.may_ring(offer.senior)):
        return door(vr, offer, prompt, said)
    return dial_agent(vr, offer)
