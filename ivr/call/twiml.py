"""TwiML building: every document is a twilio VoiceResponse, returned through `reply()`."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Response
from twilio.twiml.voice_response import Dial, VoiceResponse

from dialects.packs import Composed, Packs, Play, Utterance
from ivr.settings import Settings

TwimlParent = Any  # VoiceResponse or a nested Gather: both have say/play/pause


def reply(vr: VoiceResponse | str, status: int = 200) -> Response:
    """Return TwiML as Twilio expects it: text/xml, UTF-8 (a str: a document built earlier)."""
    return Response(str(vr), status=status, mimetype="text/xml")


def speak(
    parent: TwimlParent, utterance: Utterance, audio_base: str, rate: str | None = None
) -> None:
    """Add a prompt: <Play> for a recording, else <Say>, slowed with SSML prosody if `rate`;
    a prompt recorded in segments adds each in order."""
    if isinstance(utterance, Composed):
        for part in utterance.parts:
            speak(parent, part, audio_base, rate)
        return
    if isinstance(utterance, Play):
        parent.play(f"{audio_base}/dialects/audio/{utterance.path}")
        return
    if rate is None:
        parent.say(utterance.text, voice=utterance.voice, language=utterance.language)
        return
    say = parent.say(voice=utterance.voice, language=utterance.language)
    say.prosody(utterance.text, rate=rate)


def dial_contact(dial: Dial, contact: str, whisper_url: str | None = None) -> None:
    """Add the agent's leg: <Client> for a `client:` identity, else <Number>."""
    if contact.startswith("client:"):
        dial.client(contact.removeprefix("client:"), url=whisper_url)
    else:
        dial.number(contact, url=whisper_url)


def fallback_response(settings: Settings, packs: Packs, audio_base: str) -> VoiceResponse:
    """A short apology and a <Dial> to the fallback line, from settings alone (no Redis)."""
    vr = VoiceResponse()
    say_fallback(vr, settings, packs, audio_base, "fallback_apology")
    return dial_line(vr, settings, audio_base, 0)


def say_fallback(
    vr: VoiceResponse, settings: Settings, packs: Packs, audio_base: str, prompt: str
) -> None:
    """A prompt of the fallback path, in its dialect at the senior pace (no caller is known)."""
    speak(
        vr, packs.utterance(settings.fallback.dialect, prompt), audio_base, settings.ivr.senior_rate
    )


def dial_line(vr: VoiceResponse, settings: Settings, base: str, line: int) -> VoiceResponse:
    """<Dial> fallback line number `line` with an action, so a busy line is not the end.

    A <Dial> with no action and nothing after it ends the call when the dial ends, busy and
    unanswered alike (https://www.twilio.com/docs/voice/twiml/dial#action); the action
    (/voice/line-result) tries the next line instead.
    """
    lines = settings.fallback.lines
    line %= len(lines)
    vr.dial(
        lines[line],
        timeout=60,
        action=f"{base}/voice/line-result?{urlencode({'line': line})}",
        method="POST",
    )
    return vr
