"""What a request handler reaches for: the settings and the engine of the current app."""

from __future__ import annotations

from flask import Flask, current_app

from routing.engine import Engine
from routing.settings import Settings

EXTENSION = "silverline"


def init_engine(app: Flask, engine: Engine) -> None:
    """Keep the engine (and through it the settings) on the app, built once."""
    app.extensions[EXTENSION] = engine


def engine() -> Engine:
    """Return the engine of the app handling this request."""
    found: Engine = current_app.extensions[EXTENSION]
    return found


def settings() -> Settings:
    return engine().settings
