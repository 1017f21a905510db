"""The pages' and API's tests: apps with settings of their own, a team, signed-in clients."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from ivr import services
from routing.clock import FixedClock
from routing.governance.sessions import Sessions
from routing.governance.users import Users
from routing.queues.agents import Agent
from tests.helpers import CLUSTER

PASSWORD = "correct-horse-1"


def app_with(redis_url: str, clock: FixedClock, **settings: Any) -> Flask:
    """Build the app on the test Redis with `settings` (dotted keys) over the defaults."""
    return create_app({"redis.url": redis_url, "redis.cluster": CLUSTER, **settings}, clock=clock)


def add_team(app: Flask) -> None:
    """Add senior-trained agents a01 (Mandarin) and a02 (Cantonese) and supervisor sue."""
    engine = services.of(app).engine
    engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",)))
    engine.agents.save(Agent("a02", "陈家明", "client:a02", frozenset({"senior"}), ("cantonese",)))
    users: Users = engine.users
    users.add("a01", PASSWORD, "agent", "a01")
    users.add("a02", PASSWORD, "agent", "a02")
    users.add("sue", PASSWORD, "supervisor")


def as_user(client: FlaskClient, users: Users, name: str) -> FlaskClient:
    """Give `client` a signed-in session for `name` (the form is tested in test_pages)."""
    user = users.get(name)
    assert user is not None
    session_id = Sessions(users.redis, users.keys).start(user.name)
    with client.session_transaction() as session:
        session.update(u=user.name, s=session_id, f=user.fingerprint, csrf="test-token")
    return client


def metric_lines(text: str) -> dict[str, float]:
    """Prometheus text exposition as {sample name with labels: value}."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out
