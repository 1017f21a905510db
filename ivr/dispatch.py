"""Carry out what the router decided on the Twilio side: pull assigned callers, place call-backs."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from urllib.parse import urlencode

from flask import Flask, current_app

from ivr.context import engine, init_engine
from ivr.telephony import Telephony
from ivr.webhooks import public_base
from routing.engine import Engine
from routing.router import Offer

log = logging.getLogger("silverline.dispatch")


def dispatch_app(eng: Engine) -> Flask:
    """The least of an app that `act_on` needs outside a request: the engine and the Twilio
    REST client (the command line's `agents set-state` and `call simulate` use it)."""
    app = Flask(__name__)
    init_engine(app, eng)
    app.extensions["silverline.telephony"] = Telephony(eng.settings)
    return app


def act_on(offers: Iterable[Offer], base: str | None = None) -> None:
    """For each new assignment: REST-pull a waiting caller, or place a senior's call-back.

    Without REST credentials a pulled caller leaves at its next wait-URL poll instead.
    """
    eng = engine()
    telephony = current_app.extensions["silverline.telephony"]
    root = base or public_base()
    for offer in offers:
        if offer.callback:
            _place_callback(offer, root)
            continue
        if telephony.enabled:
            telephony.pull(
                eng.router.queue_sid(offer.call_sid), offer.call_sid, f"{root}/voice/connect"
            )


def _place_callback(offer: Offer, root: str) -> None:
    eng = engine()
    telephony = current_app.extensions["silverline.telephony"]
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
        act_on(eng.router.callback_result(offer.call_sid, "failed"), root)
