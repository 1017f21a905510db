"""Command-line tests' helpers, defined once: a runner on the test Redis, and `run`."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from click.testing import CliRunner

from app import cli
from ivr.simulator.core.rest import wsgi_app
from ivr.simulator.core.switch import Simulator
from routing.clock import FixedClock
from tests.conftest import T0


@pytest.fixture
def runner(redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """Commands on the test Redis; `demo seed` and `users demo` keep the passwords they print
    in a temporary file, not in the real var/."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    # A command may wait 5 s for Redis, not the webhook's 0.5 s: on a loaded two-core machine a
    # routing call has taken longer, and these tests check what commands do, not latency.
    monkeypatch.setenv("SILVERLINE__REDIS__SOCKET_TIMEOUT", "5")
    monkeypatch.setattr("ivr.runtime.demo.DEMO_FILE", tmp_path / "demo_users.json")
    return CliRunner()


def run(runner: CliRunner, *args: str) -> str:
    """Run `silverline ARGS...`; it must succeed. Returns what it printed."""
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


HOTLINE = "+8695519"


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def twilio_account(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    """An account on the offline Twilio owning HOTLINE (pointed at an old server), served over
    HTTP on loopback; the commands' credentials and `twilio.api_base_url` point at it."""
    sim = Simulator(clock=FixedClock(T0), account_sid="AC" + "1" * 32, auth_token="s3cret-token")
    sim.add_number(HOTLINE, "http://old.example/voice", fallback_url="http://old.example/fb")
    server = make_server("127.0.0.1", 0, wsgi_app(sim), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for name in ("TWILIO_EDGE", "TWILIO_REGION", "SILVERLINE_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", sim.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", sim.auth_token)
    monkeypatch.setenv("SILVERLINE__TWILIO__API_BASE_URL", f"http://127.0.0.1:{server.server_port}")
    yield sim
    server.shutdown()
    server.server_close()
