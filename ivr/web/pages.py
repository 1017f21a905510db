"""Sign-in, sign-out and the page language: what every page of the app shares.

Templates live in ivr/web/templates (base.html is the frame every page extends) and static files
in ivr/web/static, served at /static/. A page says each text in both languages,
`{{ L("登录", "Sign in") }}`, and the visitor's choice (session, then Accept-Language,
then Chinese) picks one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask import Response as FlaskResponse
from werkzeug import Response
from werkzeug.exceptions import HTTPException

from ivr import services
from ivr.web import audit, auth
from routing.users import User

LANGS = ("zh", "en")
STREAMS_STOP = "silverline.streams_stop"
bp = Blueprint(
    "pages",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

HOME = {"agent": "/agent", "supervisor": "/supervisor"}
UNKNOWN_NAME = "(no such user)"  # what the audit trail keeps of a name that is no user's


@bp.app_context_processor
def _page_globals() -> dict[str, object]:
    hotline = services.settings().hotline.name
    return {"L": pick, "lang": lang(), "user": auth.current_user(), "hotline": hotline}


@bp.app_errorhandler(400)
@bp.app_errorhandler(401)
@bp.app_errorhandler(403)
@bp.app_errorhandler(404)
@bp.app_errorhandler(413)
def _error_page(exc: HTTPException) -> Response | HTTPException | tuple[Response | str, int]:
    """Pages get a page in the frame, APIs JSON; Twilio's webhooks keep werkzeug's answer."""
    code = exc.code or 500
    if request.path.startswith("/voice/"):
        return exc
    if request.path.startswith("/api/"):
        return jsonify(error=exc.name.lower()), code
    messages = {
        400: pick(
            "表单已过期或来源不明，请刷新后重试。",
            "The form expired or came from elsewhere. Reload and try again.",
        ),
        401: pick("请先登录。", "Please sign in."),
        403: pick("您的账号无权打开此页面。", "Your account may not open this page."),
        404: pick("没有这个页面。", "There is no such page."),
        413: pick("提交的内容过大。", "What was sent is too large."),
    }
    return render_template("error.html", code=code, message=messages[code]), code


def lang() -> str:
    """The page language: the visitor's choice, else their browser's, else Chinese."""
    chosen = session.get("lang")
    if chosen in LANGS:
        return str(chosen)
    return request.accept_languages.best_match(LANGS) or "zh"


def pick(zh: str, en: str) -> str:
    """The text in the page language."""
    return en if lang() == "en" else zh


@bp.get("/")
def home() -> Response:
    user = auth.current_user()
    return redirect(HOME[user.role] if user else url_for("pages.login"))


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    target = safe_next(request.values.get("next", ""))
    if request.method == "GET":
        user = auth.current_user()
        if user is not None:
            return redirect(target or HOME[user.role])
        return render_template("login.html", next=target, error=""), 200
    name = request.form.get("name", "")
    result = auth.users().sign_in(name, request.form.get("password", ""), auth.address())
    # The trail keeps each checked failure and the first refusal of a window, not each refusal
    # (20,000 refused POSTs in 15 s wrote 20,284 entries): at most auth.login_attempts_total
    # + 1 entries per 15 minutes, whoever sends them. A name that is no user's may be a
    # password typed into the wrong field: it is not kept.
    if result.user is None and (not result.throttled or result.first_throttled):
        who = name.strip().lower() if result.known else UNKNOWN_NAME
        audit.record("sign_in_failed", by=who, throttled=result.throttled)
    if result.throttled:
        error = pick("尝试次数过多，请 15 分钟后再试。", "Too many attempts; try again later.")
        return render_template("login.html", next=target, error=error, name=name), 429
    if result.user is None:
        error = pick("用户名或密码不正确。", "Wrong user name or password.")
        return render_template("login.html", next=target, error=error, name=name), 401
    auth.sign_in(result.user)
    audit.record("sign_in", role=result.user.role)
    return redirect(target or _home(result.user))


@bp.post("/logout")
def logout() -> Response:
    if auth.current_user() is not None:
        audit.record("sign_out")
    auth.sign_out()
    return redirect(url_for("pages.login"))


@bp.post("/lang")
def set_lang() -> Response:
    """Switch the page language and go back to the page the visitor was on."""
    chosen = request.form.get("lang", "")
    if chosen in LANGS:
        session["lang"] = chosen
    return redirect(safe_next(request.form.get("next", "")) or url_for("pages.home"))


def streams_stop(app: Flask) -> threading.Event:
    """The app's signal to its event streams: wait on it between polls, end when it is set."""
    found: threading.Event = app.extensions.setdefault(STREAMS_STOP, threading.Event())
    return found


# A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15.0
# What a page's stream looks at each poll: (the frame's data, its mark) - a new mark is a
# change worth sending - or None for "nothing to say" (Redis away for a moment).
Look = Callable[[], "tuple[str, str] | None"]


def event_stream(
    look: Look, *, event: str | None, poll_s: float, lifetime_s: float, stop: threading.Event
) -> Iterator[str]:
    """Server-sent events: what `look` sees at once, then whenever its mark changes, until
    `lifetime_s` (the browser's EventSource then reconnects) or `stop` is set (shutdown).

    `event` names the frames (None: the default "message" event). Between looks it waits
    `poll_s` of real time on `stop`: the engine's clock is its own.
    """
    yield "retry: 1000\n\n"
    started = last_sent = time.monotonic()
    sent = ""
    while True:
        seen = look()
        now = time.monotonic()
        if seen is not None and seen[1] != sent:
            sent, last_sent = seen[1], now
            yield (f"event: {event}\n" if event else "") + f"data: {seen[0]}\n\n"
        elif now - last_sent >= KEEPALIVE_S:
            last_sent = now
            yield ": keep-alive\n\n"
        if now - started >= lifetime_s or stop.wait(poll_s):
            return


def stream_response(frames: Iterator[str]) -> FlaskResponse:
    """An event stream's response: never cached, never buffered by a proxy."""
    response = FlaskResponse(frames, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response


def stop_streams(app: Flask) -> None:
    """End every event stream of `app` at its next poll (shutdown, a test's live server)."""
    streams_stop(app).set()


def safe_next(target: str) -> str:
    """`target` when it is a path on this site, else "" (no open redirects)."""
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in target):
        return ""
    return target


def _home(user: User) -> str:
    return HOME[user.role]
