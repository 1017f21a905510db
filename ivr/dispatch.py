"""Carry out what the router decided on the Twilio side: pull assigned callers, place call-backs.

Inside a webhook this REST work runs after the answer has been sent, never before it: Twilio
gives a webhook 15 s in all (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-
overrides), and a slow API inside the webhook would turn into error 11205 and a caller sent to
the fallback line. Nothing in the answer depends on it: a waiting caller whose pull is late or
failed still leaves the queue at their next wait-URL poll (<Leave/>), and a call-back that
could not be placed is retried (the engine's call-back attempts).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from flask import Flask, Response, after_this_request, current_app, has_request_context

from ivr.context import engine, init_engine
from ivr.telephony import Telephony
from ivr.webhooks import public_base
from routing.engine import Engine
from routing.router import Offer

log = logging.getLogger("silverline.dispatch")
TELEPHONY = "silverline.telephony"


def dispatch_app(eng: Engine) -> Flask:
    """The least of an app that `act_on` needs outside a request: the engine and the Twilio
    REST client (the command line's `agents set-state` and `call simulate` use it)."""
    app = Flask(__name__)
    init_engine(app, eng)
    app.extensions[TELEPHONY] = Telephony(eng.settings)
    return app


def act_on(offers: Iterable[Offer], base: str | None = None) -> None:
    """For each new assignment: REST-pull a waiting caller, or place a senior's call-back.

    In a request, after the answer (see the module's docstring); elsewhere (the ticker), now.
    Without REST credentials a pulled caller leaves at its next wait-URL poll instead.
    """
    todo = list(offers)
    if not todo:
        return
    root = base or public_base()
    if has_request_context():
        _after_answer(current_app._get_current_object(), lambda: _act(todo, root))  # type: ignore[attr-defined]
    else:
        _act(todo, root)


def _after_answer(app: Flask, job: Callable[[], None]) -> None:
    """Run `job` once the response has been sent (when the server closes it)."""

    def run() -> None:
        with app.app_context():
            try:
                job()
            except Exception:  # the answer is out; log, the engine's retries take over
                log.exception("REST work after a webhook's answer failed")

    @after_this_request
    def register(response: Response) -> Response:
        response.call_on_close(run)
        return response


def conference_enabled() -> bool:
    """Callers meet their agent in a conference of their own (ivr/connect.py): needs REST."""
    telephony: Telephony = current_app.extensions[TELEPHONY]
    return telephony.enabled and engine().settings.ivr.connect == "conference"


def ring_agent(offer: Offer, root: str) -> bool:
    """Place the agent's leg for `offer`; their answer joins the caller's room. False if the
    leg could not be placed (the call then goes the classic way, or waits to be rung again)."""
    eng = engine()
    telephony: Telephony = current_app.extensions[TELEPHONY]
    query = urlencode({"call": offer.call_sid, "agent": offer.agent.id})
    leg = telephony.call_agent(
        offer.agent.contact,
        eng.settings.twilio.caller_id,
        f"{root}/voice/agent-answer?{query}",
        f"{root}/voice/agent-status?{query}",
        eng.settings.routing.dial_timeout,
    )
    if leg is None:
        return False
    eng.router.agent_leg(offer.call_sid, offer.agent.id, leg, room=True)
    return True


def end_agent_leg(call_sid: str) -> None:
    """End the agent's leg placed for a caller who has gone: still ringing, or answered into
    a room the caller has left (after the webhook's answer)."""
    if not call_sid:
        return
    telephony: Telephony = current_app.extensions[TELEPHONY]
    if has_request_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        _after_answer(app, lambda: _end(telephony, call_sid))
    else:
        _end(telephony, call_sid)


def _end(telephony: Telephony, call_sid: str) -> None:
    telephony.end(call_sid)


def _act(offers: list[Offer], root: str) -> None:
    eng = engine()
    telephony: Telephony = current_app.extensions[TELEPHONY]
    for offer in offers:
        if offer.to_place:
            _place_callback(offer, root)
        elif conference_enabled() and ring_agent(offer, root):
            if not offer.in_room:  # from the queue into their room, while the agent rings
                _pull(offer, f"{root}/voice/room")
        elif offer.in_room:  # the leg could not be placed: rung again at the next tick
            eng.router.ring_later(offer.call_sid, offer.agent.id)
        elif telephony.enabled:
            _pull(offer, f"{root}/voice/connect")


def _pull(offer: Offer, url: str) -> None:
    """Dequeue the caller's leg to `url` (REST), carrying the routing record's sid."""
    telephony: Telephony = current_app.extensions[TELEPHONY]
    query = urlencode({"call": offer.call_sid})
    telephony.pull(engine().router.queue_sid(offer.call_sid), offer.line_sid, f"{url}?{query}")


def _place_callback(offer: Offer, root: str) -> None:
    eng = engine()
    telephony: Telephony = current_app.extensions[TELEPHONY]
    query = urlencode({"call": offer.call_sid})
    sid = None
    if offer.caller_number:
        sid = telephony.place(
            offer.caller_number,
            eng.settings.twilio.caller_id,
            f"{root}/voice/callback-answer?{query}",
            f"{root}/voice/callback-status?{query}",
        )
    if sid is None:
        log.warning("call-back for %s could not be placed", offer.call_sid)
        _act(eng.router.callback_result(offer.call_sid, "failed"), root)
