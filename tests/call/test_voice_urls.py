"""Every voice URL Twilio is configured with or sent to stays served, by the same view.

The URLs are written into the Twilio number's configuration and into TwiML already handed
to calls in progress; the endpoint names are written into spool files (ivr/call/spool.py)
and steer the failure answer (ivr/call/webhooks.py). Moving a webhook between modules must
change none of them, nor drop the policy decorator that checks its signature.
"""

from __future__ import annotations

from flask import Flask, Response

from ivr.call.webhooks import twilio_webhook

# (URL, methods, endpoint, wrapped by twilio_webhook), as served before voice.py was split,
# and the answering-machine detection's since (ivr/call/voice/machine.py).
# /voice/fallback and /voice/line-result answer unsigned requests too (ivr/call/fallback.py).
VOICE_URLS = [
    ("/voice/after-hours", ("GET", "POST"), "voice.after_hours", True),
    ("/voice/agent-accept", ("GET", "POST"), "connect.agent_accept", True),
    ("/voice/agent-answer", ("GET", "POST"), "connect.agent_answer", True),
    ("/voice/agent-status", ("GET", "POST"), "connect.agent_status", True),
    ("/voice/amd", ("GET", "POST"), "voice.amd", True),
    ("/voice/announce", ("GET", "POST"), "open_line.announce", True),
    ("/voice/callback-answer", ("GET", "POST"), "voice.callback_answer", True),
    ("/voice/callback-request", ("GET", "POST"), "voice.callback_request", True),
    ("/voice/callback-status", ("GET", "POST"), "voice.callback_status", True),
    ("/voice/complaint-choice", ("GET", "POST"), "voice.complaint_choice", True),
    ("/voice/complaint-recorded", ("GET", "POST"), "voice.complaint_recorded", True),
    ("/voice/connect", ("GET", "POST"), "voice.connect", True),
    ("/voice/dial-result", ("GET", "POST"), "voice.dial_result", True),
    ("/voice/enter", ("GET", "POST"), "connect.enter_room", True),
    ("/voice/fallback", ("GET", "POST"), "fallback.answer", False),
    ("/voice/full-callback", ("GET", "POST"), "voice.full_callback", True),
    ("/voice/hold", ("GET", "POST"), "connect.hold", True),
    ("/voice/incoming", ("GET", "POST"), "voice.incoming", True),
    ("/voice/line-result", ("GET", "POST"), "fallback.line_result", False),
    ("/voice/machine-answer", ("GET", "POST"), "voice.machine_answer", True),
    ("/voice/machine-confirm", ("GET", "POST"), "voice.machine_confirm", True),
    ("/voice/machine-message", ("GET", "POST"), "voice.machine_message", True),
    ("/voice/menu", ("GET", "POST"), "voice.menu", True),
    ("/voice/open-line-status", ("GET", "POST"), "open_line.open_line_status", True),
    ("/voice/open-room", ("GET", "POST"), "open_line.open_room", True),
    ("/voice/queue-result", ("GET", "POST"), "voice.queue_result", True),
    ("/voice/room", ("GET", "POST"), "connect.join_room", True),
    ("/voice/room-result", ("GET", "POST"), "connect.room_result", True),
    ("/voice/room-status", ("GET", "POST"), "connect.room_status", True),
    ("/voice/softphone-line", ("GET", "POST"), "open_line.softphone_line", True),
    ("/voice/status", ("GET", "POST"), "voice.status", True),
    ("/voice/visit-answer", ("GET", "POST"), "visits.visit_answer", True),
    ("/voice/visit-connect", ("GET", "POST"), "visits.visit_connect", True),
    ("/voice/visit-status", ("GET", "POST"), "visits.visit_status", True),
    ("/voice/wait", ("GET", "POST"), "voice.wait", True),
    ("/voice/whisper", ("GET", "POST"), "voice.whisper", True),
]


def _served(app: Flask) -> list[tuple[str, tuple[str, ...], str, bool]]:
    def view() -> Response:
        raise AssertionError("never called")

    signed = twilio_webhook(view).__code__  # every wrapped view runs this one function's code
    rows = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/voice/"):
            methods = tuple(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}))
            wrapped = app.view_functions[rule.endpoint].__code__ is signed
            rows.append((rule.rule, methods, rule.endpoint, wrapped))
    return sorted(rows)


def test_every_voice_url_is_served_by_the_same_view_as_before(app: Flask) -> None:
    assert _served(app) == VOICE_URLS
