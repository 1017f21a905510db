"""Alert notices posted to a real HTTP endpoint: delivered once, retried after a failure."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from flask import Flask

from app import create_app
from ivr import services
from ivr.runtime import alert_webhook
from routing.clock import FixedClock
from tests.conftest import CLUSTER
from tests.web.conftest import SENIOR

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart


class Hook:
    """A webhook receiver on loopback that answers `status` and keeps what it was sent."""

    def __init__(self) -> None:
        self.status = 200
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                size = int(self.headers["Content-Length"])
                hook.bodies.append(json.loads(self.rfile.read(size)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    found = Hook()
    yield found
    found.close()


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock, hook: Hook) -> Flask:
    overrides = {"redis.url": redis_url, "redis.cluster": CLUSTER, "alerts.webhook_url": hook.url}
    return create_app(overrides, clock=clock)


def test_a_senior_waiting_too_long_is_posted_once_then_its_end(
    hotline: Flask, clock: FixedClock, hook: Hook
) -> None:
    eng = services.of(hotline).engine
    eng.router.arrive("CA1", SENIOR, "senior")
    clock.advance(31)
    eng.alerts.evaluate(force=True)
    assert alert_webhook.deliver(eng) == 1
    assert alert_webhook.deliver(eng) == 0  # nothing new
    [body] = hook.bodies
    assert (body["event"], body["attempt"], body["hotline"]) == ("firing", 1, "Silverline 95xxx")
    assert body["alert"]["id"] == "senior_waiting:senior"
    eng.router.hangup("CA1")
    eng.alerts.evaluate(force=True)
    assert alert_webhook.deliver(eng) == 1
    assert [b["event"] for b in hook.bodies] == ["firing", "resolved"]


def test_a_failed_post_is_retried_later(hotline: Flask, clock: FixedClock, hook: Hook) -> None:
    eng = services.of(hotline).engine
    eng.router.arrive("CA1", SENIOR, "senior")
    clock.advance(31)
    eng.alerts.evaluate(force=True)
    hook.status = 503
    assert alert_webhook.deliver(eng) == 0
    hook.status = 200
    assert alert_webhook.deliver(eng) == 0  # the retry waits 5 s
    clock.advance(5)
    assert alert_webhook.deliver(eng) == 1
    assert [b["attempt"] for b in hook.bodies] == [1, 2]
