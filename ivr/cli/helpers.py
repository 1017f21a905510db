"""What every command reaches for: the settings, the engine, and the app factory handed in."""

from __future__ import annotations

from typing import cast

import click

from ivr.runtime.embedded import open_store
from ivr.services import AppFactory
from ivr.settings import Settings, load_settings
from routing.clock import SystemClock
from routing.engine import Engine
from routing.exceptions import SettingsError, SilverlineError


def cli_engine(settings: Settings | None = None) -> Engine:
    """The engine on the configured store (REDIS_URL, or the embedded server), wall clock."""
    settings = settings or cli_settings()
    try:
        redis, _ = open_store(settings)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    return Engine(redis, SystemClock(), settings)


def cli_settings() -> Settings:
    """Load settings or stop with the key that is wrong."""
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def app_factory() -> AppFactory:
    """The `create_app` the command line was built with (`ivr.cli.build`)."""
    return cast(AppFactory, click.get_current_context().find_root().obj)
