"""Serve the recorded prompts of dialects that have no text-to-speech voice."""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory

from dialects.packs import default_packs

bp = Blueprint("audio", __name__)


@bp.get("/dialects/audio/<code>/<path:name>")
def recording(code: str, name: str) -> Response:
    """Twilio fetches <Play> URLs with a plain GET and no signature: these files are public.

    Only a recording a pack names is served: `code` comes from the URL, so it was the folder
    that a `..` (`%2e%2e`) climbed out of, which send_from_directory only guards in `name`.
    """
    packs = default_packs()
    if not packs.served(code, name):
        abort(404)
    return send_from_directory(packs.audio_dir / code, name, max_age=86400)
