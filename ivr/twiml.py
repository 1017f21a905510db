"""TwiML building: every document is a twilio VoiceResponse, returned through `reply()`."""

from __future__ import annotations

from typing import Any

from flask import Response
from twilio.twiml.voice_response import Dial, VoiceResponse

from dialects.packs import Packs, Play, Utterance
from routing.settings import Settings

TwimlParent = Any  # VoiceResponse or a nested Gather: both have say/play/pause


def reply(vr: VoiceResponse | str, status: int = 200) -> Response:
    """Return TwiML as Twilio expects it: text/xml, UTF-8 (a str: a document built earlier)."""
    return Response(str(vr), status=status, mimetype="text/xml")


def speak(
    parent: TwimlParent, utterance: Utterance, audio_base: str, rate: str | None = None
) -> None:
    """Add a prompt: <Play> for a recording, else <Say>, slowed with SSML prosody if `rate`."""
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
    apology = packs.utterance(settings.fallback.dialect, "fallback_apology")
    speak(vr, apology, audio_base, rate=settings.ivr.senior_rate)
    vr.dial(settings.fallback.number, timeout=60)
    return vr
