"""The `silverline` command line."""

from __future__ import annotations

import sys
from typing import Any

import click

from ivr.store import open_store
from routing.clock import SystemClock
from routing.engine import Engine
from routing.exceptions import SettingsError, SilverlineError
from routing.settings import DEMO_AUTH_TOKEN, Settings, load_settings


@click.group()
def main() -> None:
    """Silverline: an IVR and call-routing engine with a green channel for older callers."""


def cli_engine() -> Engine:
    """The engine on the configured store (REDIS_URL, or the embedded server), wall clock."""
    settings = cli_settings()
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


@main.command()
@click.option("--host", default=None, help="Listen address (default from config).")
@click.option("--port", default=None, type=int, help="Listen port (default from config).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web server (gunicorn) with the embedded Redis unless REDIS_URL is set."""
    from ivr.server import run  # noqa: PLC0415  (gunicorn is only needed here)

    overrides: dict[str, Any] = {}
    if host:
        overrides["server.host"] = host
    if port:
        overrides["server.port"] = port
    try:
        run(overrides)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc


def warn_demo_token(settings: Settings) -> None:
    if settings.secrets.demo:
        click.echo(
            f"WARNING: TWILIO_AUTH_TOKEN is not set; demo mode signs webhooks with the fixed dev "
            f"token {DEMO_AUTH_TOKEN!r}. It is for demos only.",
            err=True,
        )


import ivr.cli_agents  # noqa: E402, F401  (registers `agents` on main)
import ivr.cli_customers  # noqa: E402, F401  (registers `customers` and `demo` on main)
import ivr.cli_plan  # noqa: E402, F401  (registers `plan` on main)
import ivr.cli_sim  # noqa: E402, F401  (registers `call` and `simulate` on main)
import ivr.cli_users  # noqa: E402, F401  (registers `users` on main)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
