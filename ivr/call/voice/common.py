"""What the caller's webhooks share: the request's fields, our URLs, what the caller hears."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlencode

import phonenumbers
from flask import request
from twilio.twiml.voice_response import Gather, VoiceResponse

from dialects.packs import default_packs
from ivr.call.twiml import speak
from ivr.call.webhooks import public_base
from ivr.services import engine
from routing.callers.caller import Caller
from routing.clock import epoch_ms
from routing.queues.events import EventKind
from routing.queues.menu import OfferReply, reply_to_offer
from routing.queues.router import CallInfo

GIVE_UP_AFTER = 2  # menu attempts before a person is the answer
DONE = {"completed", "busy", "failed", "no-answer", "canceled"}
# Routing records that are over: nobody will be assigned to the caller any more.
OVER = {"done", "gone", "failed", "unreported", "overflowed"}
# AnsweredBy values that are not a person: machine_start, machine_end_beep, machine_end_silence,
# machine_end_other, fax (https://www.twilio.com/docs/voice/answering-machine-detection).
# "unknown" is put through: an older person who says little is better reached than missed.
MACHINE = ("machine_", "fax")


def voice_url(path: str, *, base: str | None = None, **params: object) -> str:
    """A voice webhook's URL under `base` (the public base of this request by default)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{base or public_base()}/voice/{path}" + (f"?{query}" if query else "")


def field(name: str, limit: int = 256) -> str:
    """A form field, trimmed to a sane length (Twilio never sends more)."""
    return request.form.get(name, "")[:limit]


def routing_sid() -> str:
    """The routing record this request is about.

    A call-back is a call of its own with a new CallSid, carried by every webhook of that leg
    (https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource); the inbound
    call it was made for appears nowhere unless we put it in the URL, so our URLs carry it as
    `call`. Without it, the request's own CallSid is the record's.
    """
    return request.args.get("call", "")[:64] or field("CallSid", 64)


def carried() -> str | None:
    """`call` to carry into the URLs of this answer, when this request was given one."""
    return request.args.get("call", "")[:64] or None


def int_arg(name: str, default: int) -> int:
    """A small counter from the query string (a menu attempt), `default` if it is not one."""
    raw = request.args.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 4 else default


def started_ms() -> int:
    """When this call's first webhook came (epoch ms): carried as `t` through the menu's URLs,
    where the time to a human starts."""
    raw = request.args.get("t", "")
    now = epoch_ms(engine().clock.now())
    return min(int(raw), now) if raw.isdigit() and len(raw) < 16 else now


def started() -> datetime:
    """`started_ms()` as a time."""
    return datetime.fromtimestamp(started_ms() / 1000, UTC)


def identified() -> Caller:
    """The caller on the line, as the directory knows their number."""
    eng = engine()
    return eng.directory.identify(field("From"), eng.clock.now())


def caller_of(info: CallInfo) -> Caller:
    """The caller as routing recorded them (no directory lookup)."""
    return Caller("", info.caller_number, None, info.caller_age, info.caller_dialect, info.senior)


def say(
    vr: VoiceResponse, caller: Caller, prompt: str, *, slow: bool = False, **params: object
) -> None:
    """Say `prompt` in the caller's dialect and pace."""
    utter(vr, caller, prompt, params, slow)


def utter(
    vr: VoiceResponse, caller: Caller, prompt: str, params: Mapping[str, object], slow: bool = False
) -> None:
    """`say`, with the prompt's parameters as a mapping."""
    s = engine().settings
    # Seniors always hear the slow rate; anyone else hears the menu's repeat a little slower.
    rate = s.ivr.senior_rate if caller.senior else s.ivr.repeat_rate if slow else None
    speak(vr, default_packs().utterance(caller.dialect, prompt, **params), public_base(), rate)


def complaint_params() -> dict[str, str]:
    """The complaint channel's hours and key, as its prompts name them."""
    ivr = engine().settings.ivr
    return {"hours": ivr.complaint_hours, "key": ivr.complaint_key}


def count_unqueued(kind: EventKind, caller: Caller, queue: str = "") -> None:
    """Count a call that ends without reaching a queue (docs/statistics.md, "Every caller
    counted"), in the queue it would have gone to; once per call and kind."""
    engine().recorder.record(
        kind,
        field("CallSid", 64),
        queue=queue or ("senior" if caller.senior else "general"),
        senior=caller.senior,
        dialect=caller.dialect,
    )


def offer_gather(vr: VoiceResponse, caller: Caller, action: str) -> Gather:
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


def offer_reply(caller: Caller) -> OfferReply:
    """What the caller answered to a call-back offer (key or words)."""
    return reply_to_offer(
        "" if request.args.get("empty") else field("Digits", 8),
        field("SpeechResult", 1000),
        lambda meaning: default_packs().words(caller.dialect, meaning),
        yes_key="1",
        agent_key=engine().settings.ivr.agent_key,
    )


def spoken_number(e164: str) -> str:
    """The hotline's number as it is dialled at home, digit by digit ("0 1 0, 9 5 5 ...")."""
    try:
        national = phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        national = e164
    groups = ["".join(ch for ch in g if ch.isdigit()) for g in national.split()]
    return ", ".join(" ".join(g) for g in groups if g)
