"""`/voice/fallback`: the number's Fallback URL. Settings alone, no Redis: a person, always."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, request

from ivr.webhooks import fallback, signature_ok

bp = Blueprint("fallback", __name__, url_prefix="/voice")
log = logging.getLogger("silverline.voice")


@bp.route("/fallback", methods=["POST", "GET"])
def answer() -> Response:
    """Twilio calls this when the main webhook failed: apologise and dial the fallback line."""
    if not signature_ok():
        return Response("invalid signature", status=403, mimetype="text/plain")
    error = request.form.get("ErrorCode", "")[:16]
    if error:
        log.error(
            "Twilio used the fallback URL after error %s on %s",
            error,
            request.form.get("ErrorUrl", "")[:200],
        )
    return fallback()
