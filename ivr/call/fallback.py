"""`/voice/fallback` and `/voice/line-result`: settings alone, no Redis: a person, always.

Both answer even when the signature does not check out, with a logged warning. They change
no state and only dial the configured fallback lines, so a forged request gains nothing;
refusing it would hang up on a real caller whenever the public URL is misconfigured, which
is exactly when the number's Fallback URL is used.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request
from twilio.twiml.voice_response import VoiceResponse

from dialects.packs import default_packs
from ivr.call import bodies
from ivr.call.logtext import shown
from ivr.call.twiml import dial_line, reply, say_fallback
from ivr.call.webhooks import fallback, public_base, signature_ok
from ivr.services import settings

bp = Blueprint("fallback", __name__, url_prefix="/voice")
log = logging.getLogger("silverline.voice")

_OVER = {"completed", "answered"}  # the line was answered and the conversation has ended


@bp.route("/fallback", methods=["POST", "GET"])
def answer() -> Response:
    """Twilio calls this when the main webhook failed: apologise and dial the fallback line."""
    _warn_if_unsigned()
    found = bodies.form()
    error = found.get("ErrorCode", "")
    if error:
        log.error(
            "Twilio used the fallback URL after error %s on %s",
            shown(error, 16),
            shown(found.get("ErrorUrl", "")),
        )
    return fallback()


@bp.route("/line-result", methods=["POST", "GET"])
def line_result() -> Response:
    """A fallback line's <Dial> ended: over if it was answered, else the next line is rung."""
    _warn_if_unsigned()
    vr = VoiceResponse()
    if request.form.get("DialCallStatus", "") in _OVER:
        vr.hangup()
        return reply(vr)
    s, base = settings(), public_base()
    tried = request.args.get("line", "")
    line = int(tried) + 1 if tried.isdigit() and len(tried) < 4 else 0
    if line >= len(s.fallback.lines):  # every line tried once: say so, breathe, start again
        say_fallback(vr, s, default_packs(), base, "fallback_all_busy")
        vr.pause(length=5)
        line = 0
    else:
        say_fallback(vr, s, default_packs(), base, "fallback_retry")
    return reply(dial_line(vr, s, base, line))


def _warn_if_unsigned() -> None:
    if not signature_ok():
        log.warning(
            "%s: X-Twilio-Signature missing or wrong (is twilio.public_url right?); "
            "answering anyway, this route only dials the fallback line",
            shown(request.path),
        )
