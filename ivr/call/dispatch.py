"""Carry out what the router decided on the Twilio side: pull assigned callers, place call-backs.

Inside a webhook this REST work runs after the answer has been sent, never before it: Twilio
gives a webhook 15 s in all (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-
overrides), and a slow API inside the webhook would turn into error 11205 and a caller sent to
the fallback line. Nothing in the answer depends on it: a waiting caller whose pull is late or
failed still leaves the queue at their next wait-URL poll (<Leave/>), and a call-back that
could not be placed is retried (the engine's call-back attempts).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlencode

from flask import Flask, Response, after_this_request, current_app, has_request_context

from ivr import services
from ivr.call.webhooks import public_base
from ivr.telephony import Telephony
from routing.engine import Engine
from routing.router import Offer

log = logging.getLogger("silverline.dispatch")


class Dispatcher:
    """The router's decisions carried out through Twilio's REST API, now.

    Built from the engine and the REST client: the ticker, the command line and the simulator
    use it directly; a webhook goes through `act_on`, which defers it past the answer.
    """

    def __init__(self, engine: Engine, telephony: Telephony) -> None:
        self.engine = engine
        self.telephony = telephony

    @property
    def conference_enabled(self) -> bool:
        """Callers meet their agent in a conference of their own (ivr/call/connect.py): needs
        REST."""
        return self.telephony.enabled and self.engine.settings.ivr.connect == "conference"

    def act(self, offers: Iterable[Offer], root: str) -> None:
        """For each new assignment: REST-pull a waiting caller, or place a senior's call-back.

        Without REST credentials a pulled caller leaves at its next wait-URL poll instead.
        """
        for offer in offers:
            if offer.to_place:
                self._place_callback(offer, root)
            elif self.conference_enabled and self.ring_agent(offer, root):
                if not offer.in_room:  # from the queue into their room, while the agent rings
                    self._pull(offer, f"{root}/voice/room")
            elif offer.in_room:  # the leg could not be placed: rung again at the next tick
                self.engine.router.ring_later(offer.call_sid, offer.agent.id)
            elif self.telephony.enabled:
                self._pull(offer, f"{root}/voice/connect")

    def ring_agent(self, offer: Offer, root: str) -> bool:
        """Place the agent's leg for `offer`; their answer joins the caller's room. False if
        the leg could not be placed (the call then goes the classic way, or waits to be rung
        again)."""
        settings = self.engine.settings
        query = urlencode({"call": offer.call_sid, "agent": offer.agent.id})
        leg = self.telephony.call_agent(
            offer.agent.contact,
            self.telephony.caller_id,
            f"{root}/voice/agent-answer?{query}",
            f"{root}/voice/agent-status?{query}",
            settings.routing.dial_timeout,
        )
        if leg is None:
            return False
        self.engine.router.agent_leg(offer.call_sid, offer.agent.id, leg, room=True)
        return True

    def _pull(self, offer: Offer, url: str) -> None:
        """Dequeue the caller's leg to `url` (REST), carrying the routing record's sid."""
        query = urlencode({"call": offer.call_sid})
        queue_sid = self.engine.router.queue_sid(offer.call_sid)
        self.telephony.pull(queue_sid, offer.line_sid, f"{url}?{query}")

    def _place_callback(self, offer: Offer, root: str) -> None:
        query = urlencode({"call": offer.call_sid})
        sid = None
        if offer.caller_number:
            sid = self.telephony.place(
                offer.caller_number,
                self.telephony.caller_id,
                f"{root}/voice/callback-answer?{query}",
                f"{root}/voice/callback-status?{query}",
            )
        if sid is None:
            log.warning("call-back for %s could not be placed", offer.call_sid)
            self.act(self.engine.router.callback_result(offer.call_sid, "failed"), root)


def dispatcher() -> Dispatcher:
    """The dispatcher of the app handling this request (or of the app context)."""
    found = services.of(current_app)
    return Dispatcher(found.engine, found.telephony)


def act_on(offers: Iterable[Offer], base: str | None = None) -> None:
    """`Dispatcher.act` for the app in context: in a request, after the answer (see the
    module's docstring); elsewhere (an app context without a request), now."""
    todo = list(offers)
    if not todo:
        return
    root = base or public_base()
    run = dispatcher()
    if has_request_context():
        _after_answer(current_app._get_current_object(), lambda: run.act(todo, root))  # type: ignore[attr-defined]
    else:
        run.act(todo, root)


def conference_enabled() -> bool:
    return dispatcher().conference_enabled


def ring_agent(offer: Offer, root: str) -> bool:
    return dispatcher().ring_agent(offer, root)


def end_agent_leg(call_sid: str) -> None:
    """End the agent's leg placed for a caller who has gone: still ringing, or answered into
    a room the caller has left (after the webhook's answer)."""
    if not call_sid:
        return
    telephony = services.telephony()
    if has_request_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        _after_answer(app, functools.partial(telephony.end, call_sid))
    else:
        telephony.end(call_sid)


def _after_answer(app: Flask, job: Callable[[], object]) -> None:
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
