"""Serve the recorded prompts of dialects that have no text-to-speech voice."""

from __future__ import annotations

from flask import Blueprint, Response, send_from_directory

from dialects.packs import AUDIO_DIR

bp = Blueprint("audio", __name__)


@bp.get("/dialects/audio/<code>/<path:name>")
def recording(code: str, name: str) -> Response:
    """Twilio fetches <Play> URLs with a plain GET and no signature: these files are public."""
    return send_from_directory(AUDIO_DIR / code, name, max_age=86400)
