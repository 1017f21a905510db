"""Silverline's web app: `create_app()` wires settings, Redis and the blueprints."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from redis.exceptions import RedisError
from werkzeug.middleware.proxy_fix import ProxyFix

from ivr import services
from ivr.call import bodies
from ivr.cli import build as build_cli
from ivr.runtime import logmask
from ivr.runtime.embedded import open_store
from ivr.settings import Settings, load_settings
from ivr.telephony import Telephony
from ivr.web import auth, blueprints, headers, jsonresponse
from routing.callers import numbers
from routing.clock import Clock, SystemClock
from routing.engine import Engine
from routing.keys import Keys
from routing.migrate import move_statistics
from routing.queues.routing_script import ScriptReport
from routing.store import RedisClient

log = logging.getLogger("silverline")


def create_app(
    overrides: Mapping[str, Any] | None = None,
    *,
    clock: Clock | None = None,
    twilio_http_client: Any = None,
    script_report: ScriptReport | None = None,
) -> Flask:
    """Build the app; `overrides` are dotted setting keys, e.g. {"redis.url": "redis://..."}.

    `clock` replaces the wall clock (tests, the simulator's virtual time); `twilio_http_client`
    carries the app's Twilio REST calls (the simulator serves them in-process);
    `script_report` hears what each routing call says of itself (the simulator's ticker).
    """
    logmask.install()  # no caller's number or birth date in any log line
    settings = load_settings(overrides)
    numbers.warm_up()  # the geocoder's data, loaded before gunicorn forks its workers
    redis, _ = open_store(settings)
    _move_old_keys(redis, settings)
    app = Flask(__name__, static_folder=None)
    jsonresponse.install(app)
    bodies.install(app)
    if settings.twilio.proxy_fix:
        # One proxy is trusted: the last X-Forwarded-For entry (the address the proxy saw) is
        # the client's, which the sign-in limits count by; docs/deploy.md, "Security".
        proxied = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1)
        app.wsgi_app = proxied  # type: ignore[method-assign]
    if not settings.twilio.validate_signatures:
        log.warning("twilio.validate_signatures is off: /voice/ webhooks accept unsigned requests")
    engine = Engine(redis, clock or SystemClock(), settings, script_report)
    telephony = Telephony(settings, twilio_http_client)
    services.install(app, services.Services(settings, engine, telephony))
    auth.init_app(app)
    headers.install(app)
    blueprints.register(app)
    return app


def _move_old_keys(redis: RedisClient, settings: Settings) -> None:
    """Keys an earlier release named differently, moved once; retried at the next start."""
    try:
        move_statistics(redis, Keys(settings.redis.key_prefix))
    except RedisError as exc:  # Redis is away: start anyway (/healthz says so), move later
        log.warning("could not check for statistics keys to move: %s", exc)


# The `silverline` command (pyproject.toml's entry point), handed this module's factory.
cli = build_cli(create_app)
