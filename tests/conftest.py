"""Shared fixtures: one real redis-server per session, a flushed database per test, a clock."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from ivr.embedded import free_port, redis_binary
from routing.clock import FixedClock
from routing.engine import Engine

# A Monday, 10:00 in Shanghai: inside business hours.
T0 = datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start a real redis-server on a free loopback port; yield its URL."""
    workdir: Path = tmp_path_factory.mktemp("redis")
    port = free_port()
    proc = subprocess.Popen(
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):  # the server takes a few ms to bind; this is start-up, not a test
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.01)
    else:
        proc.kill()
        raise RuntimeError("test redis-server did not start")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session server's URL, with its database flushed for this test."""
    redis.Redis.from_url(redis_server).flushall()
    return redis_server


@pytest.fixture
def r(redis_url: str) -> redis.Redis:
    """A decoding client on the flushed test database."""
    return redis.Redis.from_url(redis_url, decode_responses=True)


@pytest.fixture
def clock() -> FixedClock:
    """A clock that starts at T0 and only moves when a test advances it."""
    return FixedClock(T0)


@pytest.fixture
def app(redis_url: str, clock: FixedClock) -> Flask:
    return create_app({"redis.url": redis_url}, clock=clock)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def engine(app: Flask) -> Engine:
    found: Engine = app.extensions["silverline"]
    return found
