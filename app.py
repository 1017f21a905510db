"""Silverline's web app: `create_app()` wires settings, Redis and the blueprints."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from ivr import blueprints
from ivr.context import init_engine
from ivr.store import open_store
from routing.clock import Clock, SystemClock
from routing.engine import Engine
from routing.settings import load_settings

log = logging.getLogger("silverline")


def create_app(overrides: Mapping[str, Any] | None = None, *, clock: Clock | None = None) -> Flask:
    """Build the app; `overrides` are dotted setting keys, e.g. {"redis.url": "redis://..."}."""
    settings = load_settings(overrides)
    redis, _ = open_store(settings)
    app = Flask(__name__, static_folder=None)
    init_engine(app, Engine(redis, clock or SystemClock(), settings))
    blueprints.register(app)
    return app
