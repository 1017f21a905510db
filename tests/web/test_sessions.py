"""Sessions end for good on the server, and live pages hold a bounded number of streams.

A cookie copied before signing out, a password change or a user's removal opens nothing
afterwards, and an open event stream ends with its session (routing/governance/sessions.py,
ivr/web/auth.py). One user, and one worker in all, hold a bounded number of event streams; a
stream beyond the cap is answered 429 (ivr/web/streams.py; the real server under 100 streams
is tests/reliability/test_stream_slots.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from ivr.web.streams import StreamSlots
from routing.engine import Engine
from routing.governance.users import Users
from routing.queues.agents import Agent
from tests.web.conftest import PASSWORD, session_csrf, sign_in

COOKIE = "silverline_session"


@pytest.fixture
def people(engine: Engine) -> Users:
    """Agent a01 and supervisor sue, with their sign-ins."""
    engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset({"policy"}), ("mandarin",)))
    engine.users.add("a01", PASSWORD, "agent", "a01")
    engine.users.add("sue", PASSWORD, "supervisor")
    return engine.users


def saved_cookie(client: FlaskClient) -> str:
    found = client.get_cookie(COOKIE)
    assert found is not None
    return found.value


def replaying(app: Flask, cookie: str) -> FlaskClient:
    """A fresh client carrying a copy of a saved session cookie."""
    other = app.test_client()
    other.set_cookie(COOKIE, cookie)
    return other


def sign_out(client: FlaskClient) -> None:
    assert client.post("/logout", data={"csrf_token": session_csrf(client)}).status_code == 302


def test_a_cookie_saved_before_signing_out_opens_nothing_afterwards(
    app: Flask, client: FlaskClient, people: Users
) -> None:
    sign_in(client, "sue")
    cookie = saved_cookie(client)
    assert replaying(app, cookie).get("/api/v1/agents").status_code == 200
    sign_out(client)
    copy = replaying(app, cookie)
    assert copy.get("/api/v1/agents").status_code == 401
    assert copy.get("/supervisor/events").status_code == 401
    assert copy.get("/supervisor").headers["Location"].startswith("/login")


def test_signing_out_ends_that_session_only(app: Flask, people: Users) -> None:
    laptop, wallboard = app.test_client(), app.test_client()
    sign_in(laptop, "sue")
    sign_in(wallboard, "sue")
    sign_out(laptop)
    assert wallboard.get("/api/v1/agents").status_code == 200


def test_a_new_password_ends_saved_sessions(app: Flask, client: FlaskClient, people: Users) -> None:
    sign_in(client, "sue")
    cookie = saved_cookie(client)
    people.set_password("sue", "another-horse-2")
    assert replaying(app, cookie).get("/api/v1/agents").status_code == 401


def test_a_removed_user_stays_signed_out_when_added_again(
    app: Flask, client: FlaskClient, people: Users
) -> None:
    sign_in(client, "sue")
    cookie = saved_cookie(client)
    people.remove("sue")
    people.add("sue", PASSWORD, "supervisor")  # the same name and password, a new account
    assert replaying(app, cookie).get("/api/v1/agents").status_code == 401


def open_stream(client: FlaskClient, path: str = "/agent/events") -> TestResponse:
    response = client.get(path, buffered=False)
    return response


def frames(response: TestResponse) -> Iterator[bytes]:
    return response.iter_encoded()


def test_an_open_stream_ends_when_its_session_is_signed_out(
    app: Flask, client: FlaskClient, people: Users, engine: Engine
) -> None:
    # No real time between looks; the lifetime only bounds the old behaviour's run.
    app.config.update(SILVERLINE_SSE_POLL_S=0.0, SILVERLINE_SSE_LIFETIME_S=5.0)
    sign_in(client, "a01")
    stream = open_stream(replaying(app, saved_cookie(client)))
    chunks = frames(stream)
    assert next(chunks).startswith(b"retry:")
    assert b"offline" in next(chunks)
    sign_out(client)
    engine.router.set_agent_state("a01", "available")  # a change a live stream would push
    assert list(chunks) == []
    stream.close()


def test_one_user_holds_a_bounded_number_of_streams(
    app: Flask, client: FlaskClient, people: Users
) -> None:
    sign_in(client, "a01")
    per_user = 3  # server.streams_per_user's default
    held = [open_stream(client) for _ in range(per_user)]
    assert [r.status_code for r in held] == [200] * per_user
    refused = open_stream(client)
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    refused.close()
    supervisor = app.test_client()
    sign_in(supervisor, "sue")
    other = open_stream(supervisor, "/supervisor/events")
    assert other.status_code == 200  # another user's page is not held back
    other.close()
    held.pop().close()  # a page goes away: its slot is free again
    again = open_stream(client)
    assert again.status_code == 200
    for response in [*held, again]:
        response.close()


def test_stream_slots_cap_all_streams_and_each_users() -> None:
    slots = StreamSlots(total=3, per_user=2)
    first = [slots.take("a01"), slots.take("a01")]
    assert slots.take("a01") is None  # a01's cap
    third = slots.take("a02")
    assert third is not None
    assert slots.take("a03") is None  # the worker's cap
    assert first[0] is not None
    first[0]()
    first[0]()  # released twice: counted once
    assert slots.open() == 2
    assert slots.take("a03") is not None
    assert slots.take("a04") is None
