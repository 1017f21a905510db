"""Page and API tests' helpers, defined once: the test password, the login form, CSRF tokens."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr import services
from routing.callers.caller import Caller, Customer
from routing.engine import Engine
from routing.governance.users import Users
from routing.queues.agents import Agent
from tests.helpers.web import PASSWORD

# A senior (72, Cantonese, known to the directory) and a younger caller, offered to agents.
SENIOR = Caller(
    "+8613902200060",
    "+8613902200060",
    Customer("c1", "陈婉仪", date(1954, 5, 1), None, ("+8613902200060",)),
    72,
    "cantonese",
    True,
)
YOUNGER = Caller(
    "+8613800138035",
    "+8613800138035",
    Customer("c2", "李明", date(1991, 3, 2), None, ("+8613800138035",)),
    35,
    "mandarin",
    False,
)
SENIOR_SID = "CA" + "5" * 32
YOUNGER_SID = "CA" + "3" * 32


@pytest.fixture
def users(app: Flask) -> Users:
    """The app's sign-ins: sue (supervisor) and a01 (agent a01), with PASSWORD."""
    found = services.of(app).engine.users
    found.add("sue", PASSWORD, "supervisor")
    found.add("a01", PASSWORD, "agent", "a01")
    return found


@pytest.fixture
def a01(app: Flask, engine: Engine) -> FlaskClient:
    """a01 signed in to the console (not persistent), available."""
    engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",)))
    services.of(app).engine.users.add("a01", PASSWORD, "agent", "a01")
    engine.router.set_agent_state("a01", "available")
    client = app.test_client()
    sign_in(client, "a01")
    return client


def csrf_of(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token a form page carries."""
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD, **extra: str) -> str:
    """Sign in through the login form; return where the response redirects to."""
    token = csrf_of(client)
    response = client.post(
        "/login", data={"name": name, "password": password, "csrf_token": token, **extra}
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"]


def session_csrf(client: FlaskClient) -> str:
    """The signed-in session's CSRF token (the one pages put in their meta tag)."""
    with client.session_transaction() as session:
        return str(session["csrf"])


@pytest.fixture
def metrics_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """Open /metrics without a token (closed by default) for apps made after this fixture:
    list it before `client` or `app`."""
    monkeypatch.setenv("SILVERLINE__AUTH__METRICS_OPEN", "true")
    monkeypatch.delenv("SILVERLINE_METRICS_TOKEN", raising=False)
