"""Sign-in for the pages and APIs: the session, roles, CSRF tokens and number masking.

`require_role("supervisor")` guards a view: no signed-in user gets a redirect to /login (or 401
JSON under /api/ and for event streams), a user of another role gets 403. The session is
Flask's signed cookie, holding the user name, a session id kept in Redis
(routing/governance/sessions.py: signing out deletes it, so a copy of the cookie opens nothing
afterwards) and a fingerprint of their password hash, so a removed user or a changed password
ends every session at the next request.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from flask import (
    Flask,
    Request,
    Response,
    abort,
    g,
    jsonify,
    redirect,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from ivr import services
from ivr.call.logtext import shown
from ivr.settings import Settings
from routing.exceptions import SettingsError, StoreUnavailable
from routing.governance.sessions import LIFETIME_S
from routing.governance.users import ROLES, User
from routing.settings import PROJECT_ROOT

log = logging.getLogger("silverline.auth")

F = TypeVar("F", bound=Callable[..., Any])
SECRET_FILE = "secret_key"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's cookie session, marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure

    def open_session(self, app: Flask, req: Request) -> SecureCookieSession | None:
        # Twilio never carries our cookie: the webhooks get Flask's null session, and no
        # cookie serializer is built on the hot path.
        if req.path.startswith("/voice/"):
            return None
        return super().open_session(app, req)


def init_app(app: Flask, var_dir: Path | None = None) -> None:
    """Give `app` its secret key, cookie policy, user store and CSRF check (once)."""
    if app.secret_key:
        return
    app.secret_key = secret_key(services.of(app).settings, var_dir or PROJECT_ROOT / "var")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="silverline_session",
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=LIFETIME_S),
        # Secure whenever the request came over HTTPS (below); auth.secure_cookie forces it
        # where TLS ends at a proxy that does not say so (no X-Forwarded-Proto).
        SESSION_COOKIE_SECURE=services.of(app).settings.auth.secure_cookie,
    )
    app.session_interface = _SessionInterface()
    app.before_request(_check_csrf)
    app.jinja_env.globals.update(csrf_token=csrf_token, mask_number=mask_number)


def secret_key(settings: Settings, var_dir: Path) -> str:
    """SILVERLINE_SECRET_KEY, or in demo mode a random key kept in var/ (0600)."""
    if settings.secrets.secret_key:
        return settings.secrets.secret_key
    if not settings.secrets.demo:
        raise SettingsError(
            "SILVERLINE_SECRET_KEY must be set when TWILIO_AUTH_TOKEN is (sessions are signed "
            "with it; every app instance needs the same one)"
        )
    return _demo_secret(var_dir / SECRET_FILE)


def _demo_secret(path: Path) -> str:
    try:
        return path.read_text().strip() or _write_secret(path)
    except FileNotFoundError:
        return _write_secret(path)


def _write_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # O_EXCL: when two workers race, the loser reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


users = services.users


def current_user() -> User | None:
    """The signed-in user of this request, or None (a stale session is cleared)."""
    if "silverline_user" not in g:
        g.silverline_user = _load_user()
    return cast(User | None, g.silverline_user)


def _load_user() -> User | None:
    name, session_id = session.get("u"), session.get("s")
    if not isinstance(name, str) or not isinstance(session_id, str):
        return None
    try:
        user = users().get(name)
        alive = user is not None and _current(user, session_id)
    except StoreUnavailable:
        abort(503)
    if user is None or not alive:
        session.clear()
        return None
    return user


def _current(user: User, session_id: str) -> bool:
    """True when the cookie's password fingerprint and session id still hold for `user`."""
    fingerprint = str(session.get("f", ""))
    if not hmac.compare_digest(user.fingerprint, fingerprint):
        return False
    return services.sessions().alive(session_id, user.name)


def still_signed_in() -> Callable[[], bool]:
    """A check of this request's session that outlives the request (an event stream polls
    it): False once the session is ended, the password changed or the user removed."""
    user, session_id = current_user(), session.get("s")
    store, sessions = users(), services.sessions()
    if user is None or not isinstance(session_id, str):
        return lambda: False

    def check() -> bool:
        try:
            now = store.get(user.name)
            return (
                now is not None
                and now.fingerprint == user.fingerprint
                and sessions.alive(session_id, user.name)
            )
        except StoreUnavailable:
            return True  # Redis away for a moment: the stream says nothing new, and lives on

    return check


def sign_in(user: User) -> None:
    """Start a fresh session for `user` (a new id and CSRF token too: no fixation)."""
    lang = session.get("lang")
    _end_session()
    session.clear()
    session.permanent = True
    session_id = services.sessions().start(user.name)
    session.update(u=user.name, s=session_id, f=user.fingerprint, csrf=secrets.token_urlsafe(32))
    if lang:
        session["lang"] = lang
    g.silverline_user = user


def sign_out() -> None:
    """End the session for good (its cookie opens nothing), keeping the language choice."""
    lang = session.get("lang")
    _end_session()
    session.clear()
    if lang:
        session["lang"] = lang
    g.silverline_user = None


def _end_session() -> None:
    session_id = session.get("s")
    if isinstance(session_id, str):
        services.sessions().end(session_id)


def require_role(role: str) -> Callable[[F], F]:
    """Decorate a view so only a signed-in user with `role` reaches it."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return _unauthenticated()
            if user.role != role:
                abort(403)
            return view(*args, **kwargs)

        return cast(F, guarded)

    return decorate


def _unauthenticated() -> Response:
    if _wants_json():
        response = jsonify(error="sign in required")
        response.status_code = 401
        return response
    target = redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
    return cast(Response, target)


def _wants_json() -> bool:
    path = request.path
    return path.startswith("/api/") or path.endswith("/events") or request.is_json


def csrf_token() -> str:
    """This session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _check_csrf() -> None:
    """Refuse an unsafe request that carries a session but not its CSRF token."""
    if request.method not in UNSAFE or request.path.startswith("/voice/"):
        return
    if "csrf" not in session and "u" not in session and request.endpoint != "pages.login":
        return  # no session, no authority to forge: nothing a cross-site form could use
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER, "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected, given):
        log.warning("CSRF token missing or wrong on %s %s", request.method, shown(request.path))
        abort(400, description="The form expired or came from elsewhere. Reload and try again.")


def mask_number(number: str | None) -> str:
    """Show a phone number with all but its country code and last four digits hidden."""
    if not number:
        return ""
    if len(number) <= 6:
        return "•" * len(number)
    head = 3 if number.startswith("+") else 0
    return number[:head] + "•" * (len(number) - head - 4) + number[-4:]


def address() -> str:
    """The client address that sign-in attempts are counted against."""
    return request.remote_addr or "unknown"
