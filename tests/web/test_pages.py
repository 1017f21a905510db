"""Sign-in, sign-out, the language toggle and the cookie policy, through the test client."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr import services
from routing.governance.users import Users
from tests.web.conftest import PASSWORD, csrf_of, sign_in


def users_of(app: Flask) -> Users:
    found: Users = services.of(app).engine.users
    return found


@pytest.fixture
def seeded(app: Flask) -> Users:
    users = users_of(app)
    users.add("sue", PASSWORD, "supervisor")
    users.add("a01", PASSWORD, "agent", "a01")
    return users


def test_login_page_renders_in_chinese_by_default(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert "<h1>登录</h1>" in page
    assert 'name="csrf_token"' in page
    assert ">English</button>" in page


def test_login_page_follows_accept_language(client: FlaskClient) -> None:
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert "<h1>Sign in</h1>" in page.get_data(as_text=True)


def test_language_toggle_is_kept_in_the_session(client: FlaskClient) -> None:
    token = csrf_of(client)
    response = client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    assert "<h1>Sign in</h1>" in client.get("/login").get_data(as_text=True)


def test_supervisor_lands_on_the_dashboard(client: FlaskClient, seeded: Users) -> None:
    assert sign_in(client, "sue") == "/supervisor"


def test_agent_lands_on_the_console(client: FlaskClient, seeded: Users) -> None:
    assert sign_in(client, "A01") == "/agent"


def test_a_safe_next_is_honoured(client: FlaskClient, seeded: Users) -> None:
    assert sign_in(client, "sue", next="/supervisor?x=1") == "/supervisor?x=1"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_an_unsafe_next_is_ignored(client: FlaskClient, seeded: Users, target: str) -> None:
    assert sign_in(client, "sue", next=target) == "/supervisor"


def test_wrong_password_is_refused(client: FlaskClient, seeded: Users) -> None:
    token = csrf_of(client)
    response = client.post(
        "/login", data={"name": "sue", "password": "wrong-password", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "用户名或密码不正确" in response.get_data(as_text=True)
    assert "u" not in _session(client)


def test_sign_in_is_throttled_after_the_configured_failures(
    client: FlaskClient, seeded: Users, app: Flask
) -> None:
    limit = services.of(app).engine.settings.auth.login_attempts
    token = csrf_of(client)
    for _ in range(limit):
        bad = {"name": "sue", "password": "nope-nope", "csrf_token": token}
        assert client.post("/login", data=bad).status_code == 401
    good = {"name": "sue", "password": PASSWORD, "csrf_token": token}
    response = client.post("/login", data=good)
    assert response.status_code == 429
    assert "u" not in _session(client)


def test_login_without_csrf_token_is_rejected(client: FlaskClient, seeded: Users) -> None:
    client.get("/login")
    response = client.post("/login", data={"name": "sue", "password": PASSWORD})
    assert response.status_code == 400
    assert "u" not in _session(client)


def test_login_with_a_forged_csrf_token_is_rejected(client: FlaskClient, seeded: Users) -> None:
    client.get("/login")
    forged = {"name": "sue", "password": PASSWORD, "csrf_token": "forged"}
    assert client.post("/login", data=forged).status_code == 400


def test_logout_needs_the_csrf_token(client: FlaskClient, seeded: Users) -> None:
    sign_in(client, "sue")
    assert client.post("/logout").status_code == 400
    assert _session(client).get("u") == "sue"
    token = _session(client)["csrf"]
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert "u" not in _session(client)


def test_logout_is_post_only(client: FlaskClient, seeded: Users) -> None:
    sign_in(client, "sue")
    assert client.get("/logout").status_code == 405
    assert _session(client).get("u") == "sue"


def test_sign_in_rotates_the_csrf_token(client: FlaskClient, seeded: Users) -> None:
    before = csrf_of(client)
    sign_in(client, "sue")
    assert _session(client)["csrf"] != before


def test_session_cookie_flags(client: FlaskClient, seeded: Users) -> None:
    token = csrf_of(client)
    response = client.post(
        "/login", data={"name": "sue", "password": PASSWORD, "csrf_token": token}
    )
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("silverline_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http here
    https = client.post(
        "/login",
        data={"name": "sue", "password": PASSWORD, "csrf_token": _session(client)["csrf"]},
        base_url="https://localhost",
    )
    secure = [c for c in https.headers.getlist("Set-Cookie") if "silverline_session=" in c]
    assert secure and all("Secure" in c for c in secure)


def test_removed_user_is_signed_out_at_the_next_request(client: FlaskClient, seeded: Users) -> None:
    sign_in(client, "sue")
    seeded.remove("sue")
    response = client.get("/")
    assert response.headers["Location"] == "/login"


def test_static_css_is_served(client: FlaskClient) -> None:
    with client.get("/static/silverline.css") as response:
        assert response.status_code == 200
        assert "text/css" in response.headers["Content-Type"]


def _session(client: FlaskClient) -> dict[str, object]:
    with client.session_transaction() as session:
        return dict(session)
