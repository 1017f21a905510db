"""`silverline serve`: the web server."""

from __future__ import annotations

from typing import Any

import click

from ivr.cli.helpers import app_factory
from routing.exceptions import SilverlineError


@click.command()
@click.option("--host", default=None, help="Listen address (default from config).")
@click.option("--port", default=None, type=int, help="Listen port (default from config).")
def serve(host: str | None, port: int | None) -> None:
    """Run the web server (gunicorn) with the embedded Redis unless REDIS_URL is set."""
    from ivr.runtime.server import run  # noqa: PLC0415  (gunicorn is only needed here)

    overrides: dict[str, Any] = {}
    if host:
        overrides["server.host"] = host
    if port:
        overrides["server.port"] = port
    try:
        run(app_factory(), overrides)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
