"""The baseline: a bare Flask route returning constant TwiML, doing none of Silverline's work."""

from __future__ import annotations

from flask import Flask, Response

_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response><Say language="cmn-CN" '
    'voice="Polly.Zhiyu-Neural">您好</Say><Dial>+861095500999</Dial></Response>'
)


def create_bare_app() -> Flask:
    app = Flask(__name__)

    @app.post("/voice/incoming")
    def incoming() -> Response:
        return Response(_TWIML, mimetype="text/xml")

    return app
