"""The app's services, named in one place: what a handler, the ticker or a test reaches for.

`create_app` (app.py) builds one `Services` and keeps it on the app with `install`; everything
else asks for it through the typed accessors below rather than spelling out an extension key.
Code outside a request (the command line, the simulator) builds the same parts from an
`Engine` and a `Telephony` directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask, current_app
from flask.sansio.app import App

from ivr.settings import Settings
from ivr.telephony import Telephony
from routing.clock import Clock
from routing.engine import Engine
from routing.governance.sessions import Sessions
from routing.governance.users import Users
from routing.queues.routing_script import ScriptReport

EXTENSION = "silverline"


class AppFactory(Protocol):
    """`create_app`'s shape: handed to the command line and the simulator by app.py."""

    def __call__(
        self,
        overrides: Mapping[str, Any] | None = None,
        *,
        clock: Clock | None = None,
        twilio_http_client: Any = None,
        script_report: ScriptReport | None = None,
    ) -> Flask: ...


@dataclass(frozen=True)
class Services:
    """What one app instance serves with: its settings, the engine (Redis, clock, the engine's
    sections of the settings) and Twilio's REST."""

    settings: Settings
    engine: Engine
    telephony: Telephony


def install(app: App, services: Services) -> None:
    app.extensions[EXTENSION] = services


def of(app: App) -> Services:
    """The services of `app` (outside a request: the ticker, tests)."""
    found: Services = app.extensions[EXTENSION]
    return found


def engine() -> Engine:
    """The engine of the app handling this request."""
    return of(current_app).engine


def settings() -> Settings:
    """The settings of the app handling this request."""
    return of(current_app).settings


def telephony() -> Telephony:
    """Twilio's REST client of the app handling this request."""
    return of(current_app).telephony


def users() -> Users:
    """The sign-in accounts of the app handling this request."""
    return engine().users


def sessions() -> Sessions:
    """The signed-in sessions of the app handling this request."""
    eng = engine()
    return Sessions(eng.redis, eng.keys)
