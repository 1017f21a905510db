"""What every Twilio webhook shares: signature check, and a human on the line whatever fails."""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.voice_response import VoiceResponse

from dialects.packs import default_packs
from ivr.call import bodies, spool
from ivr.call.agent_leg import join_as_agent, refuse_line
from ivr.call.logtext import shown
from ivr.call.twiml import fallback_response, reply, say_fallback
from ivr.services import settings

log = logging.getLogger("silverline.voice")

View = Callable[..., Response]


def public_base() -> str:
    """The base URL Twilio uses for this app: the configured public URL, else the request's."""
    configured = settings().twilio.base
    return configured or request.host_url.rstrip("/") + request.script_root


def signed_url() -> str:
    """The exact URL Twilio signed: public base, path, and the query string as received."""
    query = request.query_string.decode("latin-1")
    return public_base() + request.path + (f"?{query}" if query else "")


def signature_ok() -> bool:
    """Check X-Twilio-Signature with twilio's RequestValidator (form fields for a POST)."""
    s = settings()
    if not s.twilio.validate_signatures:
        return True
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not signature.isascii():  # a real one is base64; others crash hmac
        return False
    params = bodies.form() if request.method == "POST" else {}  # 413 past the bound
    validator = RequestValidator(s.secrets.auth_token)
    url = signed_url()
    # The URL exactly as requested first: one HMAC. validate() computes two (the URL with and
    # without its port) and accepts either; it decides whenever this does not match.
    if hmac.compare_digest(validator.compute_signature(url, params), signature):
        return True
    return bool(validator.validate(url, params, signature))


def fallback_twiml() -> VoiceResponse:
    """The settings-only answer that dials the fallback line (no Redis), for this request."""
    return fallback_response(settings(), default_packs(), public_base())


def fallback() -> Response:
    """`fallback_twiml()` as the webhook's response."""
    return reply(fallback_twiml())


def failure_answer() -> Response:
    """What a webhook answers when something behind it failed: a person, by the path allowed.

    A wait URL's document may not <Dial> (Twilio rejects it and the caller hears silence), so
    a waiting caller is sent out of the queue with <Leave/>; the <Enqueue> action that runs
    next is a call document and dials the fallback line if Redis is still away. A whisper
    runs on the agent's leg: an empty document bridges the caller without it; an agent who
    picks up for a caller's room joins it. A room's wait document may not <Dial> either: the
    caller hears "connecting" and waits for the agent already rung. A conversation that ended
    is over: the caller is not dialled to a second person.
    """
    if request.endpoint == "voice.dial_result" and request.form.get("DialCallStatus") == (
        "completed"
    ):
        vr = VoiceResponse()
        vr.hangup()
        return reply(vr)
    if request.endpoint == "voice.wait":
        vr = VoiceResponse()
        vr.leave()
        return reply(vr)
    if request.endpoint == "voice.whisper":
        return reply(VoiceResponse())
    if request.endpoint == "connect.hold":  # a room's wait document: no <Dial> allowed there
        vr = VoiceResponse()
        say_fallback(vr, settings(), default_packs(), public_base(), "connecting")
        vr.pause(length=5)
        # and the same document again: whether Twilio re-requests a waitUrl that runs out is
        # not documented, and a caller must never be left in silence
        vr.redirect(signed_url(), method="POST")
        return reply(vr)
    if request.endpoint == "open_line.softphone_line":  # an agent's softphone, never a caller
        return reply(refuse_line(VoiceResponse(), settings().fallback.dialect))
    if request.endpoint == "connect.agent_answer":  # the agent picked up: into the room anyway
        room, agent = request.args.get("call", "")[:64], request.args.get("agent", "")[:64]
        # with the room's status callback, as on the good path: its start is how the caller
        # is recorded as connected, and how an agent alone in a dead room is noticed
        return reply(join_as_agent(VoiceResponse(), room, public_base(), agent))
    return fallback()


def twilio_webhook(view: View) -> View:
    """Reject unsigned requests with 403; turn any failure inside `view` into a person."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Response:
        # signature_ok() refuses a request without the header before reading its body; past
        # it, the form is read here, where an oversized body is a 413 (ivr/call/bodies.py),
        # not inside the view, where it would become the fallback answer reading it again.
        if not signature_ok():
            log.warning("rejected %s: missing or wrong X-Twilio-Signature", shown(request.path))
            return Response("invalid signature", status=403, mimetype="text/plain")
        bodies.form()
        try:
            return view(*args, **kwargs)
        except Exception as exc:  # the caller must reach a person whatever broke
            path = shown(request.path)
            log.exception("webhook %s failed; answering with the fallback line", path)
            if spool.keep_if_report(current_app._get_current_object(), exc):  # type: ignore[attr-defined]
                log.warning("kept the %s report for replay once Redis is back", path)
            return failure_answer()

    return wrapped
