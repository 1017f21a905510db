"""`silverline twilio-local`: the offline Twilio as a service, beside a demo server."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

import click
from werkzeug.serving import WSGIRequestHandler, make_server

from ivr.cli.helpers import cli_settings
from ivr.runtime.demo import is_loopback
from ivr.simulator.core.service import LocalTwilio

LISTENING = "local Twilio listening on"  # the line launchers wait for


@click.command("twilio-local")
@click.option("--host", default="127.0.0.1", show_default=True, help="Listen address.")
@click.option("--port", type=int, default=None, help="Listen port [default: twilio.local_port].")
@click.option(
    "--app-url",
    default=None,
    help="The server its webhooks go to [default: twilio.public_url, else server.host:port].",
)
@click.option("--parent-pid", type=int, default=None, hidden=True)
def twilio_local(host: str, port: int | None, app_url: str | None, parent_pid: int | None) -> None:
    """Serve the offline Twilio over HTTP on the wall clock: Twilio's REST API for the app
    (point twilio.api_base_url at it), signed webhooks to the app, and callers placed on
    request (`silverline call --url`). `silverline serve` starts one in demo mode."""
    settings = cli_settings()
    if not is_loopback(host) and settings.secrets.demo:
        raise click.ClickException(
            f"{host} is not loopback: demo mode's auth token is published, so the local "
            "Twilio listens on loopback only"
        )
    port = settings.twilio.local_port if port is None else port
    app_url = (
        app_url or settings.twilio.base or (f"http://{settings.server.host}:{settings.server.port}")
    )
    service = LocalTwilio(
        app_url,
        settings.twilio.caller_id,
        account_sid=settings.secrets.account_sid,
        auth_token=settings.secrets.auth_token,
    )
    http = make_server(host, port, service.wsgi, threaded=True, request_handler=_Quiet)
    threading.Thread(target=http.serve_forever, name="local-twilio-http", daemon=True).start()
    if parent_pid is not None:
        threading.Thread(target=_follow_parent, args=(parent_pid, service), daemon=True).start()
    signal.signal(signal.SIGTERM, _stop_on(service))
    click.echo(
        f"{LISTENING} http://{host}:{http.server_port} (REST API and callers); "
        f"webhooks to {service.app_url}",
        err=True,
    )
    sys.stderr.flush()
    try:
        service.run()
    except KeyboardInterrupt:
        pass
    finally:
        http.shutdown()
        http.server_close()


def _stop_on(service: LocalTwilio) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        service.stop()

    return handler


def _follow_parent(pid: int, service: LocalTwilio) -> None:
    """Stop when the process that started us is gone (killed without a word)."""
    while os.getppid() == pid:
        time.sleep(1.0)
    service.stop()


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass
