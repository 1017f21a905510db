"""The agent's side of a caller's room: the whisper, and the TwiML their leg runs on pick-up.

The agent's leg is placed through REST with this TwiML inline (`Twiml` on Create Call,
https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource: "TwiML
instructions for the call Twilio will use without fetching TwiML from the url"; at most 4,000
characters, error 32018). Twilio runs it the moment the agent answers, with no webhook to us:
before, /voice/agent-answer was fetched for it, a webhook of every call on this path that only
chose the whisper and checked the offer was still live (BENCHMARKS.md, section 8). The whisper
is known when the leg is placed (the offer names the agent and the caller), and what the
check did is done otherwise (docs/time-to-human.md, "Failures on the conference path").
"""

from __future__ import annotations

from urllib.parse import urlencode

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from dialects.packs import default_packs
from routing.queues.agents import Agent
from routing.queues.router import Offer


def conference(dial: Dial, call_sid: str, *, start: bool, **options: str) -> None:
    """The call's own room, named after the routing record's CallSid: no personal data in its
    name, as Twilio asks; whoever leaves ends it."""
    dial.conference(
        call_sid,
        start_conference_on_enter=start,
        end_conference_on_exit=True,
        beep=False,
        status_callback_method="POST",
        **options,
    )


def join_as_agent(vr: VoiceResponse, call_sid: str, base: str, agent_id: str = "") -> VoiceResponse:
    """The agent's side of the room: their arrival starts the conference.

    Both sides ask for the room's events, and "only the value set by the first participant
    to join the conference is used"
    (https://www.twilio.com/docs/voice/api/conference-participant-resource). The caller is
    first but for one who is pulled from the queue after their agent answered, or one who
    left before the agent came: their callback asks for the start alone (they are in the
    room by then), the agent's for the joins too, so that the caller's later arrival is heard
    of, and an agent alone in a room nobody will come to is noticed (/voice/room-status).
    """
    query = urlencode(
        {k: v for k, v in (("call", call_sid), ("by", "agent"), ("agent", agent_id)) if v}
    )
    conference(
        vr.dial(),
        call_sid,
        start=True,
        status_callback=f"{base}/voice/room-status?{query}",
        status_callback_event="start join",
    )
    return vr


# Seconds a phone-number agent has to press a key after the whisper: a person presses within
# a second or two; a voicemail never does, and hears the leg end after this
ACCEPT_TIMEOUT_S = 5


def agent_twiml(offer: Offer, base: str, whisper: str) -> str:
    """What the agent's leg runs once answered: the whisper, then the caller's room; a
    phone-number agent presses a key first (accept)."""
    vr = VoiceResponse()
    if not offer.agent.contact.startswith("client:"):
        return str(accept_gather(vr, offer, base, whisper))
    whisper_into(vr, offer, whisper)
    return str(join_as_agent(vr, offer.call_sid, base, offer.agent.id))


def accept_gather(
    vr: VoiceResponse, offer: Offer, base: str, whisper: str, action: str = ""
) -> VoiceResponse:
    """The whisper and "press any key to accept" in a Gather; no key: the leg ends.

    A phone number's voicemail answers a call like a person, and without the key it would be
    joined to the caller and counted as a conversation; a key press is the usual check
    ("press 1 to accept", https://www.twilio.com/docs/voice/twiml/gather: the `action` is
    requested with `Digits` once a key is pressed; with none, the next verb runs). `action`:
    where the key goes (the conference path's /voice/agent-accept by default).
    """
    query = urlencode({"call": offer.call_sid, "agent": offer.agent.id})
    action = action or f"{base}/voice/agent-accept?{query}"
    with vr.gather(
        input="dtmf",
        num_digits=1,
        timeout=ACCEPT_TIMEOUT_S,
        action=action,
        method="POST",
    ) as gather:
        whisper_into(gather, offer, whisper)
        language = offer.agent.dialects[0] if offer.agent.dialects else "mandarin"
        packs = default_packs()
        voice = packs.speech_pack(language)
        text = packs.text(language, "agent_accept")
        gather.say(text, voice=voice.say_voice, language=voice.say_language)
    vr.hangup()
    return vr


def whisper_into(vr: VoiceResponse | Gather, offer: Offer, kind: str) -> None:
    """Who is on the line, in the agent's first language: `full`, `short` or `none`.

    The caller hears nothing while it plays, so it counts in their time to a human; the
    console shows the same card (and the elderly-caller banner) from the moment of the offer.
    """
    if kind == "none":
        return
    packs = default_packs()
    language = offer.agent.dialects[0] if offer.agent.dialects else "mandarin"
    queue = packs.text(language, f"topic_{offer.queue}")
    if kind == "short":
        prompt = "whisper_senior_short" if offer.senior else "whisper_other_short"
        text = packs.text(language, prompt, queue=queue)
    else:
        name = offer.caller_name or packs.text(language, "caller_unknown")
        dialect = packs.text(language, f"dialect_{offer.caller_dialect}")
        age = offer.caller_age or ""
        prompt = "whisper_senior" if offer.senior else "whisper_other"
        text = packs.text(language, prompt, name=name, age=age, queue=queue, dialect=dialect)
    voice = packs.speech_pack(language)
    vr.say(text, voice=voice.say_voice, language=voice.say_language)


def room_name(agent_id: str) -> str:
    """The agent's own room: their id, no personal data (Twilio asks for none in names)."""
    return f"agent-{agent_id}"


def line_twiml(agent: Agent, base: str) -> str:
    """What the open line runs once answered: the agent's room, which it starts at once and
    ends when it leaves; its events (joins, announcements' ends) are the room's, as the
    first participant's statusCallback is the one used
    (https://www.twilio.com/docs/voice/api/conference-participant-resource)."""
    return str(line_into(VoiceResponse(), agent, base))


def line_into(vr: VoiceResponse, agent: Agent, base: str) -> VoiceResponse:
    """The open line's <Dial><Conference> into the agent's room, placed or dialled alike."""
    vr.dial().conference(
        room_name(agent.id),
        start_conference_on_enter=True,
        end_conference_on_exit=True,
        beep=False,
        wait_url="",
        status_callback=f"{base}/voice/open-room?{urlencode({'agent': agent.id})}",
        status_callback_event="join announcement",
        status_callback_method="POST",
    )
    return vr


def refuse_line(vr: VoiceResponse, dialect: str) -> VoiceResponse:
    """Tell whoever dialled the TwiML App that no open line is theirs, and hang up.

    Packs only (no Redis), so that a failure behind the webhook answers the same: this leg
    is an agent's softphone, never a caller, and dialling it to the fallback line would tie
    up a line meant for callers."""
    packs = default_packs()
    voice = packs.speech_pack(dialect)
    vr.say(packs.text(dialect, "line_refused"), voice=voice.say_voice, language=voice.say_language)
    vr.hangup()
    return vr
