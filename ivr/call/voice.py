"""The Twilio voice webhooks: the call flow of docs/design.md, one route per step.

incoming -> (senior) greeting -> route  |  (others) menu -> route  |  (closed) after-hours
route    -> an agent is free: <Dial> with a whisper  |  none: <Enqueue> with a wait URL
wait     -> position and wait, call-back offer for seniors, <Leave/> once assigned
dial-result -> completed: done  |  busy / no-answer / failed: the next agent, same place
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, request
from twilio.twiml.voice_response import Gather, VoiceResponse

from dialects.packs import default_packs
from ivr.call import dispatch
from ivr.call.agent_leg import whisper_into
from ivr.call.connect import room
from ivr.call.open_line import announce_after, join_open_line
from ivr.call.twiml import dial_contact, reply, speak
from ivr.call.webhooks import fallback, fallback_twiml, public_base, twilio_webhook
from ivr.services import engine, telephony
from routing.callers.caller import Caller
from routing.clock import epoch_ms
from routing.queues.complaints import complaints_open
from routing.queues.events import EventKind
from routing.queues.hours import is_open, special_today
from routing.queues.menu import Choice, OfferReply, choose, reply_by, reply_to_offer
from routing.queues.router import CallInfo, Offer, Placement, Queued

bp = Blueprint("voice", __name__, url_prefix="/voice")

_GIVE_UP_AFTER = 2  # menu attempts before a person is the answer
_DONE = {"completed", "busy", "failed", "no-answer", "canceled"}
# Routing records that are over: nobody will be assigned to the caller any more.
_OVER = {"done", "gone", "failed", "unreported", "overflowed"}
# AnsweredBy values that are not a person: machine_start, machine_end_beep, machine_end_silence,
# machine_end_other, fax (https://www.twilio.com/docs/voice/answering-machine-detection).
# "unknown" is put through: an older person who says little is better reached than missed.
_MACHINE = ("machine_", "fax")


# -- helpers -------------------------------------------------------------------------------


def _url(path: str, *, base: str | None = None, **params: object) -> str:
    """A voice webhook's URL under `base` (the public base of this request by default)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base or public_base()}/voice/{path}" + (f"?{query}" if query else "")


def _form(name: str, limit: int = 256) -> str:
    """A form field, trimmed to a sane length (Twilio never sends more)."""
    return request.form.get(name, "")[:limit]


def _routing_sid() -> str:
    """The routing record this request is about.

    A call-back is a call of its own with a new CallSid, carried by every webhook of that leg
    (https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource); the inbound
    call it was made for appears nowhere unless we put it in the URL, so our URLs carry it as
    `call`. Without it, the request's own CallSid is the record's.
    """
    return request.args.get("call", "")[:64] or _form("CallSid", 64)


def _carried() -> str | None:
    """`call` to carry into the URLs of this answer, when this request was given one."""
    return request.args.get("call", "")[:64] or None


def _caller() -> Caller:
    eng = engine()
    return eng.directory.identify(_form("From"), eng.clock.now())


def _say(
    vr: VoiceResponse, caller: Caller, prompt: str, *, slow: bool = False, **params: object
) -> None:
    _utter(vr, caller, prompt, params, slow)


def _utter(
    vr: VoiceResponse, caller: Caller, prompt: str, params: Mapping[str, object], slow: bool = False
) -> None:
    s = engine().settings
    # Seniors always hear the slow rate; anyone else hears the menu's repeat a little slower.
    rate = s.ivr.senior_rate if caller.senior else s.ivr.repeat_rate if slow else None
    speak(vr, default_packs().utterance(caller.dialect, prompt, **params), public_base(), rate)


def _count(kind: EventKind, caller: Caller, queue: str = "") -> None:
    """Count a call that ends without reaching a queue (docs/statistics.md, "Every caller
    counted"), in the queue it would have gone to; once per call and kind."""
    engine().recorder.record(
        kind,
        _form("CallSid", 64),
        queue=queue or ("senior" if caller.senior else "general"),
        senior=caller.senior,
        dialect=caller.dialect,
    )


def _hotline(caller: Caller) -> str:
    return engine().settings.hotline.name


# -- entry ---------------------------------------------------------------------------------


@bp.route("/incoming", methods=["POST", "GET"])
@twilio_webhook
def incoming() -> Response:
    """A new call: seniors straight to a person, others to the menu, out of hours to a call-back."""
    eng = engine()
    caller = _caller()
    vr = VoiceResponse()
    if not is_open(eng.clock.now(), eng.settings.business_hours, eng.settings.tz):
        return reply(_after_hours_menu(vr, caller, attempt=1))
    if caller.senior:
        return _say_and_route(caller, "senior", "senior_greeting", hotline=_hotline(caller))
    _say(vr, caller, "welcome", hotline=_hotline(caller))
    return reply(_menu(vr, caller, attempt=1))


# -- the menu ------------------------------------------------------------------------------


def _menu(vr: VoiceResponse, caller: Caller, attempt: int, *, slow: bool = False) -> VoiceResponse:
    """One Gather taking keys and speech; no input falls through to a Redirect."""
    s = engine().settings
    packs = default_packs()
    timeout = s.ivr.senior_gather_timeout if caller.senior else s.ivr.gather_timeout
    with vr.gather(
        input="dtmf speech",
        action=_url("menu", attempt=attempt, t=_started_ms()),
        method="POST",
        num_digits=1,
        timeout=timeout,
        speech_timeout=str(timeout if slow else s.ivr.speech_timeout),
        language=packs.gather_language(caller.dialect),
        hints=",".join(_hints(caller.dialect)),
    ) as gather:
        for topic in s.ivr.topics:
            name = packs.text(caller.dialect, f"topic_{topic.name}")
            _say(gather, caller, "menu_topic", slow=slow, topic=name, key=topic.key)
        _say(gather, caller, "menu_complaint", slow=slow, key=s.ivr.complaint_key)
        if not caller.known:
            _say(gather, caller, "menu_senior", slow=slow, key=s.ivr.senior_key)
        _say(gather, caller, "menu_agent", slow=slow, key=s.ivr.agent_key)
    vr.redirect(_url("menu", attempt=attempt, empty=1, t=_started_ms()), method="POST")
    return vr


def _hints(dialect: str) -> list[str]:
    packs = default_packs()
    meanings = ["agent", "complaints", "senior"] + [t.name for t in engine().settings.ivr.topics]
    return [w for m in meanings for w in packs.words(dialect, m)]


@bp.route("/menu", methods=["POST", "GET"])
@twilio_webhook
def menu() -> Response:
    """The caller's answer to the menu, or its absence."""
    s = engine().settings
    caller = _caller()
    attempt = _int_arg("attempt", 1)
    choice = _choice(caller)
    vr = VoiceResponse()
    if choice.kind in ("none", "invalid"):
        if attempt >= _GIVE_UP_AFTER:
            return _say_and_route(caller, "general", "connecting")
        if choice.kind == "invalid":
            _say(vr, caller, "menu_sorry")
        return reply(_menu(vr, caller, attempt + 1, slow=choice.kind == "none"))
    if choice.kind == "complaint":
        if not complaints_open(engine().clock.now(), s):  # the hours read out are kept
            return reply(_complaints_closed(vr, caller, attempt=1))
        return _say_and_route(caller, choice.queue, "complaint_info", hours=s.ivr.complaint_hours)
    if choice.kind == "senior":
        caller = dataclasses.replace(caller, senior=True)
        return _say_and_route(caller, choice.queue, "senior_greeting", hotline=_hotline(caller))
    return _say_and_route(caller, choice.queue, "connecting")


def _choice(caller: Caller) -> Choice:
    if request.args.get("empty"):
        return Choice("none")
    return choose(
        _form("Digits", 32),
        _form("SpeechResult", 1000),
        engine().settings.ivr,
        lambda meaning: default_packs().words(caller.dialect, meaning),
        offer_senior=not caller.known,
    )


def _started_ms() -> int:
    """When this call's first webhook came (epoch ms): carried as `t` through the menu's URLs,
    where the time to a human starts."""
    raw = request.args.get("t", "")
    now = epoch_ms(engine().clock.now())
    return min(int(raw), now) if raw.isdigit() and len(raw) < 16 else now


def _started() -> datetime:
    return datetime.fromtimestamp(_started_ms() / 1000, UTC)


def _int_arg(name: str, default: int) -> int:
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 4 else default


# -- routing: dial an agent or wait --------------------------------------------------------


def _say_and_route(caller: Caller, queue: str, prompt: str, **params: str | int) -> Response:
    """`prompt`, then the caller placed in `queue`: <Dial> to a free agent, else <Enqueue>."""
    # on the conference path the agent's leg is claimed with the arrival (dispatch.ring_agent)
    placement = engine().router.arrive(
        _form("CallSid", 64), caller, queue, _started(), claim=dispatch.conference_enabled()
    )
    if isinstance(placement, Queued):
        overflowed = _overflowed(placement)
        if overflowed is not None:  # the queue was too long: its overflow line
            vr = VoiceResponse()
            _utter(vr, caller, prompt, params)
            return reply(_overflow_line(vr, overflowed))
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
    if dispatch.conference_enabled() and dispatch.ring_agent(placement, public_base()).outcome in (
        "rung",
        "taken",
    ):
        who = (caller.dialect, caller.senior)
        return reply(room(VoiceResponse(), placement.call_sid, prompt, who))
    vr = VoiceResponse()
    _utter(vr, caller, prompt, params)
    return reply(_dial(vr, placement))


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
        _utter(vr, Caller("", None, None, None, dialect, senior), prompt, dict(params))
    return str(_enqueue(vr, queue, base, greet=in_queue or None))


def _place(vr: VoiceResponse, placement: Placement) -> VoiceResponse:
    if isinstance(placement, Offer):
        return _dial(vr, placement)
    return _enqueue(vr, placement.queue, public_base(), call=_carried())


def _enqueue(
    vr: VoiceResponse, queue: str, base: str, call: str | None = None, greet: str | None = None
) -> VoiceResponse:
    vr.enqueue(
        queue,
        # the prompt rides on the action too: a caller Twilio finds the queue full for never
        # reached the wait URL, and hears it in the queue they overflow to (_queue_full)
        action=_url("queue-result", base=base, call=call, g=greet),
        method="POST",
        wait_url=_url("wait", base=base, call=call, g=greet),
        wait_url_method="POST",
    )
    return vr


def _dial(vr: VoiceResponse, offer: Offer) -> VoiceResponse:
    s = engine().settings
    dial = vr.dial(
        action=_url("dial-result", agent=offer.agent.id, call=offer.call_sid),
        method="POST",
        # Only a first verb can keep the caller's leg ringing until the agent answers; after a
        # <Say> the call is already answered (https://www.twilio.com/docs/voice/twiml/dial
        # #answeronbridge), and the attribute would only mislead a reader.
        answer_on_bridge=True if not vr.verbs else None,
        timeout=s.routing.dial_timeout,
    )
    dial_contact(
        dial, offer.agent.contact, _url("whisper", call=offer.call_sid, agent=offer.agent.id)
    )
    return vr


@bp.route("/wait", methods=["POST", "GET"])
@twilio_webhook
def wait() -> Response:
    """The wait URL, re-requested whenever its TwiML runs out."""
    eng = engine()
    call_sid = _routing_sid()
    status = eng.router.poll(call_sid, _form("QueueSid", 64))
    dispatch.act_on(status.pulls)
    vr = VoiceResponse()
    info = status.call
    if status.offer is not None or info is None or info.state in _OVER:
        # assigned: to their agent; or nobody will ever be (the record is over, yet the
        # caller is here): out of the queue, to a person (_connect_assigned)
        vr.leave()
        return reply(vr)
    dialect = info.caller_dialect if info else eng.settings.hotline.default_dialect
    senior = bool(info and info.senior)
    waiting = Caller("", None, None, None, dialect, senior)
    greeting = request.args.get("g", "")[:32]
    if greeting and status.first:  # the prompt of the caller's entry, where a pull can cut it
        s = eng.settings
        _say(vr, waiting, greeting, hotline=s.hotline.name, hours=s.ivr.complaint_hours)
    if status.offer_callback and info is not None and info.caller_number:
        action = _url("callback-request", call=_carried())
        with _offer_gather(vr, waiting, action) as gather:
            _say(gather, waiting, "wait_callback_offer")
    if status.announce and _tell_complaints(status.waited_s, senior):
        _utter(vr, waiting, "complaint_channel", _complaint_params())
    if status.announce:
        if status.position <= 1:
            _say(vr, waiting, "wait_next")
        else:
            minutes = max(1, round(status.ewt_s / 60))
            _say(vr, waiting, "wait_position", ahead=status.position - 1, minutes=minutes)
    vr.pause(length=eng.settings.routing.wait_poll_seconds)
    return reply(vr)


def _offer_gather(vr: VoiceResponse, caller: Caller, action: str) -> Gather:
    """A Gather for a call-back offer: its key, or a word ("回电", "人工") in the caller's dialect.

    Twilio's Gather takes `input="dtmf speech"` (https://www.twilio.com/docs/voice/twiml/gather
    #input) and <Gather> is among the verbs of a wait URL
    (https://www.twilio.com/docs/voice/twiml/enqueue#attributes-waiturl); where speech is not
    recognised, the key still works and silence keeps the caller's place (docs/call-flow.md).
    """
    s = engine().settings
    timeout = s.ivr.senior_gather_timeout if caller.senior else s.ivr.gather_timeout
    words = [w for m in ("yes", "agent") for w in default_packs().words(caller.dialect, m)]
    return vr.gather(
        input="dtmf speech",
        num_digits=1,
        action=action,
        method="POST",
        timeout=timeout,
        speech_timeout=str(s.ivr.speech_timeout),
        language=default_packs().gather_language(caller.dialect),
        hints=",".join(words),
    )


def _offer_reply(caller: Caller) -> OfferReply:
    """What the caller answered to a call-back offer (key or words)."""
    return reply_to_offer(
        "" if request.args.get("empty") else _form("Digits", 8),
        _form("SpeechResult", 1000),
        lambda meaning: default_packs().words(caller.dialect, meaning),
        yes_key="1",
        agent_key=engine().settings.ivr.agent_key,
    )


def _tell_complaints(waited_s: int, senior: bool) -> bool:
    """Seniors never hear the menu, so never its complaint line: they hear the complaint
    channel once while they wait, at the second announcement (stateless: the waited time
    says which one it is), where it delays nobody."""
    every = engine().settings.routing.announce_every
    return senior and every <= waited_s < 2 * every


def _complaint_params() -> dict[str, str]:
    ivr = engine().settings.ivr
    return {"hours": ivr.complaint_hours, "key": ivr.complaint_key}


@bp.route("/callback-request", methods=["POST", "GET"])
@twilio_webhook
def callback_request() -> Response:
    """A waiting senior pressed 1 or said "回电": call them back when their turn comes, keeping
    their place. A word for a person ("人工") is answered: they are in line for one."""
    eng = engine()
    call_sid = _routing_sid()
    info = eng.router.call(call_sid)
    vr = VoiceResponse()
    if info is None or not info.caller_number:
        vr.pause(length=1)  # back to the wait URL
        return reply(vr)
    caller = _caller_of(info)
    answer = _offer_reply(caller)
    if answer != "yes":
        if answer == "agent":
            _say(vr, caller, "wait_person")
        vr.pause(length=1)  # back to the wait URL, place kept
        return reply(vr)
    eng.router.request_callback(call_sid)
    _say(vr, caller, "callback_confirmed")
    vr.hangup()
    return reply(vr)


@bp.route("/queue-result", methods=["POST", "GET"])
@twilio_webhook
def queue_result() -> Response:
    """The <Enqueue> action: after <Leave/> (assigned), a REST pull, or a hang-up in the queue."""
    result = _form("QueueResult", 64)
    call_sid = _routing_sid()
    vr = VoiceResponse()
    if result == "hangup":
        dispatch.end_agent_leg(engine().router.hangup(call_sid))
        return reply(vr)
    if result in ("leave", "redirected"):
        return reply(_connect_assigned(vr, call_sid))
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
        return _overflow_line(vr, info)
    if kind == "callback":
        caller = _caller_of(info)
        with _offer_gather(vr, caller, _url("full-callback", call=_carried())) as gather:
            _say(gather, caller, "wait_callback_offer")
        vr.redirect(_url("full-callback", call=_carried(), empty=1), method="POST")
        return vr
    if isinstance(placement, Queued):  # moved: into the other queue, hearing their prompt
        greeting = request.args.get("g", "")[:32] or None
        return _enqueue(vr, placement.queue, public_base(), call=_carried(), greet=greeting)
    return _connect_assigned(vr, call_sid)  # moved, and an agent of that queue was free


@bp.route("/full-callback", methods=["POST", "GET"])
@twilio_webhook
def full_callback() -> Response:
    """The call-back offered when the queue was full: yes keeps their place as a call-back;
    anything else (no, a word for a person, silence) is a person now, the fallback line."""
    eng = engine()
    call_sid = _routing_sid()
    info = eng.router.call(call_sid)
    vr = VoiceResponse()
    if info is not None and info.state == "offered":  # an agent freed up meanwhile: to them
        return reply(_connect_assigned(vr, call_sid))
    if info is not None and info.state == "waiting" and _offer_reply(_caller_of(info)) == "yes":
        eng.router.request_callback(call_sid)
        _say(vr, _caller_of(info), "callback_confirmed")
        vr.hangup()
        return reply(vr)
    eng.router.left_queue(call_sid)
    return fallback()


def _overflow_line(vr: VoiceResponse, info: CallInfo) -> VoiceResponse:
    """A caller routing sent out as overflowed: their queue's overflow line, said first; the
    fallback line when the queue has none (a Twilio queue error). The line's <Dial> action
    (/voice/line-result) rings the fallback lines if it is busy or unanswered: never the end."""
    conf = engine().settings.queues.get(info.queue)
    if conf is None or conf.overflow_kind() != "line":
        return fallback_twiml()
    _say(vr, _caller_of(info), "overflow_line")
    vr.dial(conf.overflow_to, timeout=60, action=_url("line-result"), method="POST")
    return vr


@bp.route("/connect", methods=["POST", "GET"])
@twilio_webhook
def connect() -> Response:
    """Where a REST pull sends a dequeued caller: the agent they were assigned."""
    return reply(_connect_assigned(VoiceResponse(), _routing_sid()))


def _connect_assigned(vr: VoiceResponse, call_sid: str) -> VoiceResponse:
    offer = engine().router.offer_for(call_sid)
    if offer is not None and offer.open_leg:  # their agent's line is open: into their room
        announce_after(offer)
        return join_open_line(vr, offer, public_base())
    if offer is not None and offer.agent_leg:  # their agent is rung already: into the room
        return room(vr, call_sid, "wait_next", (offer.caller_dialect, offer.senior))
    if offer is None:  # not assigned after all (e.g. a duplicate request): keep waiting
        info = engine().router.call(call_sid)
        if info is not None and info.state == "overflowed":  # their queue's overflow line
            return _overflow_line(vr, info)
        if info is None or info.state in _OVER:
            # the caller is on the line, and routing will never assign them: a person now
            # (before, they went back into a queue nobody serves, polling for good: how a
            # bench.call run never ended)
            return fallback_twiml()
        return _place(vr, engine().router.arrive(call_sid, _caller_of(info), info.queue))
    if dispatch.conference_enabled() and _rung_for(offer):
        return room(vr, call_sid, "wait_next", (offer.caller_dialect, offer.senior))
    return _dial(vr, offer)


def _rung_for(offer: Offer) -> bool:
    """The agent is rung to the caller's room: from here, or by the request that made the
    offer (whichever claimed the leg first; one leg per offer). False: <Dial> them."""
    ring = dispatch.ring_agent(offer, public_base(), joining=True)
    if ring.outcome in ("rung", "taken"):
        return True
    if ring.outcome == "none":
        return False  # e.g. answered already: as before, the classic way
    # REST failed: the classic way, unless the other request claimed the leg meanwhile
    claim = engine().router.claim_leg(offer.call_sid, offer.agent.id, room=True)
    return claim.outcome == "taken"


def _caller_of(info: CallInfo) -> Caller:
    """The caller as routing recorded them (no directory lookup)."""
    return Caller("", info.caller_number, None, info.caller_age, info.caller_dialect, info.senior)


# -- the agent's side ------------------------------------------------------------------------


@bp.route("/whisper", methods=["POST", "GET"])
@twilio_webhook
def whisper() -> Response:
    """Runs on the agent's leg after they answer, before the bridge: who is on the line."""
    eng = engine()
    call_sid = request.args.get("call", "")[:64]
    agent_id = request.args.get("agent", "")[:64]
    offer = eng.router.answered(call_sid, agent_id)
    vr = VoiceResponse()
    if offer is None:
        vr.hangup()  # the caller is gone or was given to someone else
        return reply(vr)
    # The bridge follows this document; the whisper is the only time between (ivr.whisper).
    eng.router.connected(call_sid, agent_id)
    whisper_into(vr, offer, eng.settings.ivr.whisper)
    return reply(vr)


@bp.route("/dial-result", methods=["POST", "GET"])
@twilio_webhook
def dial_result() -> Response:
    """The <Dial> action: the call ended, or the agent did not answer and the next one is tried."""
    eng = engine()
    call_sid = _routing_sid()
    agent_id = request.args.get("agent", "")[:64]
    vr = VoiceResponse()
    if _form("CallStatus", 32) in _DONE:
        # The caller has hung up (this request reports it only incidentally): nothing to
        # route, and no miss against an agent whose phone was still ringing. The status
        # callback is the authority on the caller's end and frees the agent (/voice/status).
        return reply(vr)
    duration = _form("DialCallDuration", 16)
    # the agent freed by a miss may have a caller to pull: the tick's offers come with it
    placement, offers = eng.router.dial_result_tick(
        call_sid, agent_id, _form("DialCallStatus", 32), int(duration) if duration.isdigit() else 0
    )
    dispatch.act_on(offers)
    if placement is None:  # the conversation is over; a senior still on the line hears the
        info = eng.router.call(call_sid)  # complaint channel, which delays them no longer
        if info is not None and info.senior:
            _utter(vr, _caller_of(info), "complaint_channel", _complaint_params())
        vr.hangup()
        return reply(vr)
    info = eng.router.call(call_sid)
    if info is not None:
        _say(vr, _caller_of(info), "reroute")
    return reply(_place(vr, placement))


# -- status callbacks and call-backs -----------------------------------------------------------


@bp.route("/status", methods=["POST", "GET"])
@twilio_webhook
def status() -> Response:
    """The number's status callback: a caller who hangs up while waiting has abandoned."""
    if _form("CallStatus", 32) in _DONE:
        # a freed agent's next caller is pulled now: the tick's offers come with the hang-up
        cancel, offers = engine().router.hangup_tick(_form("CallSid", 64))
        dispatch.end_agent_leg(cancel)
        _count_unrouted_end()
        dispatch.act_on(offers)
    return reply(VoiceResponse())


def _count_unrouted_end() -> None:
    """A caller who hung up before reaching a queue: in the menu, or in the after-hours flow
    (by the hours when the call began: now minus CallDuration). Nothing is counted for a call
    already accounted for (record_lib.lua): queued, a call-back booked, the duty line."""
    eng = engine()
    if _form("Direction", 32) not in ("", "inbound") or eng.router.call(_form("CallSid", 64)):
        return
    duration = _form("CallDuration", 8)
    began = eng.clock.now() - timedelta(seconds=int(duration) if duration.isdigit() else 0)
    closed = not is_open(began, eng.settings.business_hours, eng.settings.tz)
    _count("after_hours_hangup" if closed else "ivr_abandoned", _caller())


@bp.route("/callback-answer", methods=["POST", "GET"])
@twilio_webhook
def callback_answer() -> Response:
    """The senior answered our call-back: greet them and put them through to their agent.

    A voicemail or fax (answering-machine detection, `AnsweredBy`) is not the senior: the
    reserved agent is released and the call-back is retried as a failed attempt.
    """
    eng = engine()
    call_sid = _routing_sid()
    vr = VoiceResponse()
    if _form("AnsweredBy", 32).startswith(_MACHINE):
        dispatch.act_on(eng.router.callback_result(call_sid, "machine"))
        vr.hangup()
        return reply(vr)
    eng.router.callback_answered(call_sid, _form("CallSid", 64))
    info = eng.router.call(call_sid)
    if info is None or info.state not in ("waiting", "offered"):
        return fallback()  # nothing of ours to put them through to: the fallback line
    _say(vr, _caller_of(info), "callback_intro", hotline=eng.settings.hotline.name)
    offer = eng.router.offer_for(call_sid)
    if offer is None:  # the reserved agent went away meanwhile: the senior waits on the line
        return reply(_place(vr, eng.router.arrive(call_sid, _caller_of(info), info.queue)))
    return reply(_dial(vr, offer))


@bp.route("/callback-status", methods=["POST", "GET"])
@twilio_webhook
def callback_status() -> Response:
    """The outcome of a call-back call; a failed one is retried per config."""
    call_sid = request.args.get("call", "")[:64]
    dispatch.act_on(engine().router.callback_result(call_sid, _form("CallStatus", 32)))
    return reply(VoiceResponse())


# -- out of hours -------------------------------------------------------------------------------


def _after_hours_menu(vr: VoiceResponse, caller: Caller, attempt: int) -> VoiceResponse:
    s = engine().settings
    on_call = s.business_hours.on_call_senior_number
    if caller.senior and on_call:
        _say(vr, caller, "out_of_hours_oncall")
        _count("after_hours_duty", caller)
        # busy or unanswered, the line-result action puts the senior through to the fallback
        # lines rather than ending the call
        vr.dial(on_call, timeout=60, action=_url("line-result"), method="POST")
        return vr
    today = special_today(engine().clock.now(), s.business_hours, s.tz)
    if today is not None:  # a day with hours of its own (business_hours.special_days)
        _say(vr, caller, "out_of_hours_special", open=today[0], close=today[1])
    else:
        _say(vr, caller, "out_of_hours", open=s.business_hours.open, close=s.business_hours.close)
    if caller.number:
        key = "out_of_hours_callback_senior" if caller.senior else "out_of_hours_callback"
        with _offer_gather(vr, caller, _url("after-hours", attempt=attempt)) as gather:
            _say(gather, caller, key)
    vr.redirect(_url("after-hours", attempt=attempt, empty=1), method="POST")
    return vr


@bp.route("/after-hours", methods=["POST", "GET"])
@twilio_webhook
def after_hours() -> Response:
    """Out of hours: take a call-back request, repeat once, or put the caller through to duty."""
    eng = engine()
    caller = _caller()
    attempt = _int_arg("attempt", 1)
    answer = _offer_reply(caller)
    vr = VoiceResponse()
    if answer == "agent":
        _count("after_hours_duty", caller)
        return fallback()  # "0" or "人工" always reaches a person: out of hours, the duty line
    wants_callback = answer == "yes" or (caller.senior and attempt >= _GIVE_UP_AFTER)
    if caller.number and wants_callback:
        eng.callbacks.request_after_hours(_form("CallSid", 64), caller)
        _count("booked_callback", caller)
        _say(vr, caller, "callback_recorded")
        vr.hangup()
        return reply(vr)
    if attempt < _GIVE_UP_AFTER and caller.number:
        return reply(_after_hours_menu(vr, caller, attempt + 1))
    _count("after_hours_duty", caller)
    return fallback()  # the duty line: never a dead end


# -- complaints out of complaint hours ------------------------------------------------------------


def _complaints_closed(vr: VoiceResponse, caller: Caller, attempt: int) -> VoiceResponse:
    """The complaint queue is closed: a recorded complaint, a call-back, or another person."""
    _say(vr, caller, "complaint_closed", hours=engine().settings.ivr.complaint_hours)
    with _offer_gather(vr, caller, _url("complaint-choice", attempt=attempt)) as gather:
        _say(gather, caller, "complaint_options", key=engine().settings.ivr.agent_key)
    vr.redirect(_url("complaint-choice", attempt=attempt, empty=1), method="POST")
    return vr


@bp.route("/complaint-choice", methods=["POST", "GET"])
@twilio_webhook
def complaint_choice() -> Response:
    """Out of complaint hours: "1"/留言 records, "2"/回电 books a call-back, "0"/人工 a person."""
    eng = engine()
    caller = _caller()
    keys = {"1": "message", "2": "callback", eng.settings.ivr.agent_key: "agent"}
    digits = "" if request.args.get("empty") else _form("Digits", 8)
    choice = reply_by(
        digits,
        _form("SpeechResult", 1000),
        lambda meaning: default_packs().words(caller.dialect, meaning),
        keys,
    )
    vr = VoiceResponse()
    if choice == "message":
        _say(vr, caller, "complaint_record")
        # https://www.twilio.com/docs/voice/twiml/record: the action gets RecordingUrl and
        # RecordingDuration; the Redirect after it handles a caller who said nothing, whether
        # Twilio then requests the action or goes on to the next verb.
        vr.record(action=_url("complaint-recorded"), method="POST", max_length=180, timeout=5)
        vr.redirect(_url("complaint-recorded", empty=1), method="POST")
        return reply(vr)
    if choice == "callback" and caller.number:
        eng.callbacks.request_after_hours(_form("CallSid", 64), caller, queue="complaints")
        _count("booked_callback", caller, "complaints")
        _say(vr, caller, "complaint_callback")
        vr.hangup()
        return reply(vr)
    if choice in ("none", "invalid") and _int_arg("attempt", 1) < _GIVE_UP_AFTER:
        return reply(_complaints_closed(vr, caller, _int_arg("attempt", 1) + 1))
    return _say_and_route(caller, "general", "connecting")  # a person: never a dead end


@bp.route("/complaint-recorded", methods=["POST", "GET"])
@twilio_webhook
def complaint_recorded() -> Response:
    """A recorded complaint is kept for the complaints team; no recording: a person."""
    eng = engine()
    caller = _caller()
    url = "" if request.args.get("empty") else _form("RecordingUrl", 512)
    seconds = _form("RecordingDuration", 8)
    if not url or not seconds.isdigit() or int(seconds) == 0:
        return _say_and_route(caller, "general", "connecting")
    sid, recording = _form("CallSid", 64), _form("RecordingSid", 64)
    if eng.complaints.add(sid, caller.number or "", caller.name, url, int(seconds), recording):
        _count("complaint_recorded", caller, "complaints")
    vr = VoiceResponse()
    _say(vr, caller, "complaint_recorded")
    vr.hangup()
    return reply(vr)
