"""The sign-in limit holds under parallel guesses, per address and in all (also behind
proxy_fix with a new X-Forwarded-For each time), and the audit trail stays bounded and keeps
no password typed into the name field."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from ivr import services
from routing.clock import FixedClock
from routing.engine import Engine
from tests.conftest import CLUSTER
from tests.web.conftest import PASSWORD, csrf_of

pytestmark = pytest.mark.real_password_hashing  # a guess costs what it costs the live app


@pytest.fixture
def limited(redis_url: str, clock: FixedClock) -> Iterator[Flask]:
    """The app behind proxy_fix with small limits: 3 per name and address, 6 per address,
    10 in all (each checked password costs a real scrypt hash)."""
    made = create_app(
        {
            "redis.url": redis_url,
            "redis.cluster": CLUSTER,
            "twilio.proxy_fix": True,
            "auth.login_attempts": 3,
            "auth.login_attempts_per_address": 6,
            "auth.login_attempts_total": 10,
        },
        clock=clock,
    )
    services.of(made).engine.users.add("sue", PASSWORD, "supervisor")
    yield made
    services.of(made).engine.redis.close()


def attempt(client: FlaskClient, name: str, address: str, password: str = "nope-nope") -> int:
    form = {"name": name, "password": password, "csrf_token": csrf_of(client)}
    return client.post("/login", data=form, headers={"X-Forwarded-For": address}).status_code


def test_parallel_wrong_passwords_are_checked_at_most_the_limit(app: Flask, engine: Engine) -> None:
    engine.users.add("sue", PASSWORD, "supervisor")
    limit = engine.settings.auth.login_attempts
    clients = [app.test_client() for _ in range(200)]
    forms = [{"name": "sue", "password": "nope-nope", "csrf_token": csrf_of(c)} for c in clients]
    # 50 threads of 4 guesses each: as many in flight as the server's threads allow (64), and
    # within the Redis client's pool of 100 connections.
    start = threading.Barrier(50)
    answers: list[int] = []

    def guess(first: int) -> None:
        start.wait()
        for n in range(first, 200, 50):
            answers.append(clients[n].post("/login", data=forms[n]).status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 401: the password was checked and wrong; 429: refused unchecked. Check-then-write let
    # 65 of 200 through.
    assert Counter(answers) == {401: limit, 429: 200 - limit}


def test_guesses_on_many_names_from_one_address_are_limited_per_address(
    limited: Flask,
) -> None:
    client = limited.test_client()
    answers = [attempt(client, name, "203.0.113.9") for name in "abcdef" for _ in range(3)]
    assert answers.count(401) == 6  # auth.login_attempts_per_address
    assert attempt(client, "sue", "203.0.113.10", PASSWORD) == 302  # another address may


def test_a_new_forwarded_address_each_time_is_held_by_the_total(limited: Flask) -> None:
    client = limited.test_client()
    answers = [attempt(client, "sue", f"198.51.100.{n}") for n in range(1, 31)]
    assert answers.count(401) == 10 and answers.count(429) == 20  # auth.login_attempts_total


def test_a_good_password_does_not_count_against_the_address_or_the_total(
    limited: Flask,
) -> None:
    for _ in range(12):  # more than the address's 6 and the total's 10
        assert attempt(limited.test_client(), "sue", "192.0.2.1", PASSWORD) == 302
    assert attempt(limited.test_client(), "sue", "192.0.2.1") == 401


def test_a_flood_of_refused_sign_ins_writes_a_bounded_audit_trail(
    limited: Flask,
) -> None:
    client = limited.test_client()
    engine = services.of(limited).engine
    answers = [attempt(client, "sue", "203.0.113.9") for _ in range(300)]
    assert answers.count(401) == 3
    entries = engine.audit.entries(limit=5000)
    # Three checked failures and the first refusal; not one entry per POST.
    assert [(e.action, e.detail["throttled"]) for e in entries] == [
        ("sign_in_failed", True),
        *[("sign_in_failed", False)] * 3,
    ]


def test_a_password_typed_as_the_name_is_not_kept(limited: Flask) -> None:
    client = limited.test_client()
    engine = services.of(limited).engine
    assert attempt(client, "Tr0ub4dor&3-secret", "203.0.113.9") == 401
    assert attempt(client, "sue", "203.0.113.9") == 401
    kept = [e.by for e in engine.audit.entries()]
    assert kept == ["sue", "(no such user)"]
    raw = engine.redis.lrange(engine.keys.audit_day("20261123"), 0, -1)
    assert not any("tr0ub4dor" in r.lower() for r in raw)


def test_the_secure_cookie_flag_can_be_forced_on_plain_http(
    redis_url: str, clock: FixedClock
) -> None:
    made = create_app(
        {"redis.url": redis_url, "redis.cluster": CLUSTER, "auth.secure_cookie": True}, clock=clock
    )
    try:
        services.of(made).engine.users.add("sue", PASSWORD, "supervisor")
        client = made.test_client()
        form = {"name": "sue", "password": PASSWORD, "csrf_token": csrf_of(client)}
        signed_in = client.post("/login", data=form)  # http://localhost: not TLS
        assert signed_in.status_code == 302
        assert "; Secure" in signed_in.headers["Set-Cookie"]
    finally:
        services.of(made).engine.redis.close()
