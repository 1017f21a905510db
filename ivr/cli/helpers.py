"""What every command reaches for: the settings, the engine, and the app factory handed in."""

from __future__ import annotations

import os
import pwd
from typing import Any, cast

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


def os_user() -> str:
    """Who runs this command, as the operating system knows them (the forced change's "who").

    Not a --by option: the command line has no sign-in, so a name typed there would be a
    claim nobody checked, and an audit line anyone can fill in proves nothing. The effective
    uid's login name is what the machine vouches for: whoever holds it holds the store's
    credentials. It is read from the password database, not from $USER or $LOGNAME, which
    any caller can set.
    """
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a uid with no entry (some containers): the number is still the truth
        return f"uid {uid}"


def cli_audit(engine: Engine, action: str, target: str = "", **detail: Any) -> None:
    """Add what this command did to the audit trail, as the OS user, from "local"."""
    try:
        engine.audit.record(action, os_user(), "cli", "local", target, **detail)
    except SilverlineError as exc:  # the change is made: say the trail missed it, go on
        click.echo(f"warning: not kept in the audit trail: {exc}", err=True)
