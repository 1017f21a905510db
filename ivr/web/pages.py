"""Sign-in, sign-out and the page language: what every page of the app shares.

Templates live in ivr/web/templates (base.html is the frame every page extends) and static files
in ivr/web/static, served at /static/. A page says each text in both languages,
`{{ L("登录", "Sign in") }}`, and the visitor's choice (session, then Accept-Language,
then Chinese) picks one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug import Response
from werkzeug.exceptions import HTTPException

from ivr import services
from ivr.web import audit, auth
from routing.governance.users import User

LANGS = ("zh", "en")
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
