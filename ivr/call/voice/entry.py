"""Entry and menu: a new call, and the menu for the callers not put straight through.

incoming -> (closed) the after-hours menu (out_of_hours.py)
            (senior) the senior greeting, then placed (placement.say_and_route)
            (others) the welcome, then the menu: one <Gather> of keys and speech
menu     -> a topic, or "0" / "人工" for a person: placed in its queue
            the senior key: the senior greeting, placed as a senior
            complaints: placed in their queue; out of complaint hours, the complaint choice
            (out_of_hours.py)
            nothing or a wrong key: the menu again, slower; the second time, a person
"""

from __future__ import annotations

import dataclasses

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse

from dialects.packs import default_packs
from ivr.call.twiml import reply
from ivr.call.voice.blueprint import bp
from ivr.call.voice.common import (
    GIVE_UP_AFTER,
    field,
    identified,
    int_arg,
    say,
    started_ms,
    voice_url,
)
from ivr.call.voice.out_of_hours import after_hours_menu, complaints_closed
from ivr.call.voice.placement import say_and_route
from ivr.call.webhooks import twilio_webhook
from ivr.services import engine
from routing.callers.caller import Caller
from routing.queues.complaints import complaints_open
from routing.queues.hours import is_open
from routing.queues.menu import Choice, choose


@bp.route("/incoming", methods=["POST", "GET"])
@twilio_webhook
def incoming() -> Response:
    """A new call: seniors straight to a person, others to the menu, out of hours to a call-back."""
    eng = engine()
    caller = identified()
    vr = VoiceResponse()
    if not is_open(eng.clock.now(), eng.settings.business_hours, eng.settings.tz):
        return reply(after_hours_menu(vr, caller, attempt=1))
    if caller.senior:
        return say_and_route(caller, "senior", "senior_greeting", hotline=_hotline())
    say(vr, caller, "welcome", hotline=_hotline())
    return reply(_menu(vr, caller, attempt=1))


def _hotline() -> str:
    return engine().settings.hotline.name


def _menu(vr: VoiceResponse, caller: Caller, attempt: int, *, slow: bool = False) -> VoiceResponse:
    """One Gather taking keys and speech; no input falls through to a Redirect."""
    s = engine().settings
    packs = default_packs()
    timeout = s.ivr.senior_gather_timeout if caller.senior else s.ivr.gather_timeout
    with vr.gather(
        input="dtmf speech",
        action=voice_url("menu", attempt=attempt, t=started_ms()),
        method="POST",
        num_digits=1,
        timeout=timeout,
        speech_timeout=str(timeout if slow else s.ivr.speech_timeout),
        language=packs.gather_language(caller.dialect),
        hints=",".join(_hints(caller.dialect)),
    ) as gather:
        for topic in s.ivr.topics:
            name = packs.text(caller.dialect, f"topic_{topic.name}")
            say(gather, caller, "menu_topic", slow=slow, topic=name, key=topic.key)
        say(gather, caller, "menu_complaint", slow=slow, key=s.ivr.complaint_key)
        if not caller.known:
            say(gather, caller, "menu_senior", slow=slow, key=s.ivr.senior_key)
        say(gather, caller, "menu_agent", slow=slow, key=s.ivr.agent_key)
    vr.redirect(voice_url("menu", attempt=attempt, empty=1, t=started_ms()), method="POST")
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
    caller = identified()
    attempt = int_arg("attempt", 1)
    choice = _choice(caller)
    vr = VoiceResponse()
    if choice.kind in ("none", "invalid"):
        if attempt >= GIVE_UP_AFTER:
            return say_and_route(caller, "general", "connecting")
        if choice.kind == "invalid":
            say(vr, caller, "menu_sorry")
        return reply(_menu(vr, caller, attempt + 1, slow=choice.kind == "none"))
    if choice.kind == "complaint":
        if not complaints_open(engine().clock.now(), s):  # the hours read out are kept
            return reply(complaints_closed(vr, caller, attempt=1))
        return say_and_route(caller, choice.queue, "complaint_info", hours=s.ivr.complaint_hours)
    if choice.kind == "senior":
        caller = dataclasses.replace(caller, senior=True)
        return say_and_route(caller, choice.queue, "senior_greeting", hotline=_hotline())
    return say_and_route(caller, choice.queue, "connecting")


def _choice(caller: Caller) -> Choice:
    if request.args.get("empty"):
        return Choice("none")
    return choose(
        field("Digits", 32),
        field("SpeechResult", 1000),
        engine().settings.ivr,
        lambda meaning: default_packs().words(caller.dialect, meaning),
        offer_senior=not caller.known,
    )
