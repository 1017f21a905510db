"""Security headers on every page and API answer of the real app (ivr/web/headers.py)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from routing.engine import Engine
from routing.governance.users import Users
from routing.queues.agents import Agent
from tests.web.conftest import sign_in

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def directives(response_csp: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for part in response_csp.split(";"):
        name, *values = part.split()
        found[name] = values
    return found


def assert_secured(headers: Headers) -> None:
    get = headers.get
    csp = directives(get("Content-Security-Policy", ""))
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert get("X-Content-Type-Options") == "nosniff"
    assert get("X-Frame-Options") == "DENY"
    assert get("Referrer-Policy") == "same-origin"
    assert get("Strict-Transport-Security") is None  # plain HTTP: never HSTS
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
        assert len(headers.getlist(name)) == 1, name  # once, however the answer was made


@pytest.fixture
def supervisor(client: FlaskClient, users: Users) -> FlaskClient:
    sign_in(client, "sue")
    return client


def test_every_kind_of_answer_carries_the_headers(supervisor: FlaskClient) -> None:
    for path in (
        "/login",
        "/supervisor",
        "/api/v1/queues",
        "/api/v1/agents",
        "/supervisor/export.csv",
        "/static/supervisor.js",
        "/healthz",
        "/no-such-page",
        "/agent",  # 403 for a supervisor: an error page is a page too
    ):
        with supervisor.get(path) as response:  # a static file's stream is closed
            assert response.status_code in (200, 302, 403, 404), path
            assert_secured(response.headers)


def test_errors_and_refusals_carry_the_headers(client: FlaskClient, users: Users) -> None:
    unauthenticated = client.get("/api/v1/queues")
    assert unauthenticated.status_code == 401
    assert_secured(unauthenticated.headers)
    forged = client.post("/api/v1/agents/a01/state", json={"state": "away"})
    assert_secured(forged.headers)
    unsigned_webhook = client.post("/voice/incoming", data={"CallSid": "CA1"})
    assert unsigned_webhook.status_code == 403
    assert_secured(unsigned_webhook.headers)


def test_the_softphone_may_reach_twilio_and_nothing_else_off_site(supervisor: FlaskClient) -> None:
    csp = directives(supervisor.get("/login").headers["Content-Security-Policy"])
    assert csp["connect-src"] == ["'self'", "wss://*.twilio.com", "https://*.twilio.com"]
    assert csp["default-src"] == ["'self'"]
    assert "https://sdk.twilio.com" in csp["media-src"]  # the SDK's ring tones


def test_hsts_only_over_tls(client: FlaskClient, users: Users) -> None:
    over_tls = client.get("/login", base_url="https://silverline.example")
    assert over_tls.headers["Strict-Transport-Security"].startswith("max-age=63072000")
    # Without twilio.proxy_fix a forwarded header cannot claim TLS.
    claimed = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in claimed.headers


def test_no_page_carries_inline_script_handlers_or_styles(
    client: FlaskClient, users: Users, engine: Engine
) -> None:
    engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",)))
    pages = {"/login": client.get("/login").get_data(as_text=True)}
    sign_in(client, "sue")
    pages["/supervisor"] = client.get("/supervisor").get_data(as_text=True)
    pages["/supervisor/audit"] = client.get("/supervisor/audit").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": _meta_csrf(pages["/supervisor"])})
    sign_in(client, "a01")
    pages["/agent"] = client.get("/agent").get_data(as_text=True)
    for path, html in pages.items():
        assert "<script" in html or path in ("/login", "/supervisor/audit")
        assert not INLINE_SCRIPT.search(html), path
        assert not INLINE_HANDLER.search(html), path
        assert not INLINE_STYLE.search(html), path


def _meta_csrf(html: str) -> str:
    found = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert found
    return found.group(1)
