"""Request bodies: bounded before anything reads them, and refused with 413 beyond the bound.

Twilio's webhooks carry a few dozen short form fields (Voice Webhooks,
https://www.twilio.com/docs/usage/webhooks/voice-webhooks), a few KB at most; the pages post
small forms and JSON, and no page uploads a file (the customer directory and campaign lists
are imported on the command line). So one bound serves every route:
werkzeug refuses a larger declared Content-Length before reading a byte, and stops a chunked
body at the bound. Without it a 400 MB urlencoded body was read whole and parsed, taking a
worker from 171 MB to 1.41 GB (werkzeug's MAX_FORM_MEMORY_SIZE does not apply to urlencoded
forms, which it reads in one piece).
"""

from __future__ import annotations

from flask import Flask, request
from werkzeug.datastructures import MultiDict

MAX_BODY = 64 * 1024


def install(app: Flask) -> None:
    """Refuse request bodies over MAX_BODY bytes with 413, unread."""
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, MAX_FORM_MEMORY_SIZE=MAX_BODY)


def form() -> MultiDict[str, str]:
    """The request's form, read within the bound; 413 when the body goes past it.

    A body with a Content-Length over the bound is refused before it is read. A chunked
    body has none: werkzeug stops reading it at the bound and parses what it read, so one
    byte more is asked for, which raises the 413 when there was more.
    """
    found = request.form
    request.stream.read(1)
    return found
