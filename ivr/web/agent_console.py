"""The agent console, /agent: availability, and the caller the agent is offered or talking to.

An agent user is one agent (routing.governance.users.User.agent_id); every view reads that
agent's own state, so an agent never sees another agent's caller. The page renders the state
once and then follows it live over server-sent events (/agent/events), which push within half a
second of a change; /agent/state is the same state as JSON, and a POST to it sets the agent
available, away or offline, or "ready" (wrap-up done).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug import Response as BaseResponse

from dialects.packs import default_packs
from dialects.registry import DIALECTS
from ivr.call import dispatch
from ivr.services import engine, telephony
from ivr.services import settings as app_settings
from ivr.web import audit, auth, softphone
from ivr.web.pages import lang
from ivr.web.streams import open_stream
from routing.engine import Engine
from routing.exceptions import StoreUnavailable
from routing.queues.agents import Agent, AgentStatus
from routing.queues.router import CallInfo

bp = Blueprint("agent_console", __name__, url_prefix="/agent")

# The elderly-caller flag, word for word as the card gives it; the whisper says the same.
ELDERLY_ZH = "老年来电 · 请放慢语速、耐心解答"
ELDERLY_EN = "Elderly caller — speak slowly and clearly"
CHOICES = ("available", "away", "offline", "ready")  # "ready": wrap-up done, next caller
POLL_SECONDS = 0.4  # real time between the event stream's looks at Redis (app config
STREAM_SECONDS = 120.0  # SILVERLINE_SSE_POLL_S / _LIFETIME_S); the browser then reconnects
_LIVE = ("offered", "on_call")  # call states in which the caller is the agent's

_STATE_NAMES = {
    "offline": ("未上线", "Offline"),
    "available": ("空闲 · 等待来电", "Available"),
    "offered": ("来电振铃中", "Ringing"),
    "on_call": ("通话中", "On a call"),
    "wrap_up": ("话后处理", "Wrap-up"),
    "away": ("暂离", "Away"),
}


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the agent id and the page language (fixed for a stream)."""

    agent_id: str
    lang: str


def console_state(eng: Engine, viewer: Viewer) -> dict[str, Any]:
    """The console's state for `viewer`: their state and their caller only."""
    now = eng.clock.now()
    agent = eng.agents.get(viewer.agent_id)
    if agent is None:
        return {
            "agent": None,  # the user's agent was removed: nothing to show or set
            "state": "offline",
            "state_name": _name(_STATE_NAMES["offline"], viewer),
            "in_state_s": 0,
            "wrap_up_left_s": None,
            "call": None,
            "elderly": False,
            "can": [],
            "line": _line(None, None),
        }
    status = eng.agents.state(agent.id)
    info = eng.router.call(status.call_sid) if status.call_sid else None
    mine = info is not None and info.agent_id == agent.id and info.state in _LIVE
    call = _call(info, viewer, now) if mine and info is not None else None
    return {
        "agent": _agent(agent, viewer),
        "state": status.state,
        "state_name": _name(_STATE_NAMES[status.state], viewer),
        "in_state_s": _seconds(now, status.since),
        "wrap_up_left_s": _wrap_left(status, now),
        "call": call,
        "elderly": bool(call and call["senior"]),
        "can": _allowed(status.state),
        "line": _line(agent, status),
    }


def _line(agent: Agent | None, status: AgentStatus | None) -> dict[str, Any]:
    """The agent's open line: wanted, and "off", "connecting" (placed or to be) or "open"
    (connected to their room); `leg`, the line's CallSid once placed, which the console's
    phone takes by itself instead of ringing."""
    wanted = bool(agent and agent.persistent)
    if not wanted or status is None or status.state == "offline":
        state = "off"
    else:
        state = "open" if status.open_line else "connecting"
    leg = status.line_placed if status is not None and state != "off" else ""
    return {"wanted": wanted, "state": state, "leg": leg}


def _agent(agent: Agent, viewer: Viewer) -> dict[str, Any]:
    return {
        "id": agent.id,
        "name": agent.name,
        "senior_trained": agent.senior_trained,
        "dialects": [_dialect_name(d, viewer) for d in agent.dialects],
    }


def _call(info: CallInfo, viewer: Viewer, now: datetime) -> dict[str, Any]:
    """The caller as the agent sees them: number masked, wait and talk time in seconds."""
    waited_until = info.answered_at or now
    return {
        "sid": info.call_sid,  # the agent's own call: the phone's buttons and wrap-up name it
        "status": info.state,
        "senior": info.senior,
        "name": info.caller_name or _name(("未登记客户", "Unregistered caller"), viewer),
        "number": auth.mask_number(info.caller_number),
        "age": info.caller_age,
        "dialect": info.caller_dialect,
        "dialect_name": _dialect_name(info.caller_dialect, viewer),
        "queue": info.queue,
        "queue_name": _queue_name(info.queue, viewer),
        "waited_s": _seconds(waited_until, info.entered_at),
        "talk_s": _seconds(now, info.answered_at) if info.answered_at else None,
        "callback": info.callback,
        "open_line": bool(info.open_leg),  # joined to the agent's line: ended by "End call"
        # a return visit: its campaign and why we call, shown before the customer answers
        "campaign": info.campaign,
        "reason": info.reason,
    }


def _allowed(state: str) -> list[str]:
    if state == "wrap_up":
        return ["ready", "away", "offline"]
    if state in ("offered", "on_call"):
        return ["away", "offline"]  # taken after the call: a call is never cut off
    return [s for s in ("available", "away", "offline") if s != state]


def _wrap_left(status: AgentStatus, now: datetime) -> int | None:
    if status.state != "wrap_up" or status.wrap_up_until is None:
        return None
    return max(0, _seconds(status.wrap_up_until, now))


def _seconds(later: datetime, earlier: datetime) -> int:
    return max(0, int((later - earlier).total_seconds()))


def _name(names: tuple[str, str], viewer: Viewer) -> str:
    return names[1] if viewer.lang == "en" else names[0]


def _dialect_name(code: str, viewer: Viewer) -> str:
    known = DIALECTS.get(code)
    return _name((known.name_zh, known.name_en), viewer) if known else code


def _queue_name(queue: str, viewer: Viewer) -> str:
    code = "english" if viewer.lang == "en" else "mandarin"
    try:
        name = default_packs().text(code, f"topic_{queue}")
    except KeyError:
        return queue
    return name[:1].upper() + name[1:]  # the packs' words run mid-sentence: "senior service"


def _fingerprint(state: dict[str, Any]) -> str:
    """The state without its running clocks: a new fingerprint is a change worth pushing."""
    call = state.get("call")
    steady = {k: v for k, v in state.items() if k not in ("in_state_s", "wrap_up_left_s")}
    if call:
        steady["call"] = {k: v for k, v in call.items() if k not in ("waited_s", "talk_s")}
    return json.dumps(steady, sort_keys=True, ensure_ascii=False)


def _viewer() -> Viewer:
    user = auth.current_user()
    assert user is not None  # the views are guarded by require_role("agent")
    return Viewer(user.agent_id, lang())


# -- views ---------------------------------------------------------------------------------


@bp.get("")
@auth.require_role("agent")
def console() -> str:
    viewer = _viewer()
    state = console_state(engine(), viewer)
    return render_template(
        "agent.html",
        state=state,
        elderly_zh=ELDERLY_ZH,
        elderly_en=ELDERLY_EN,
        phone=softphone.page_config(app_settings(), viewer.agent_id),
    )


@bp.get("/state")
@auth.require_role("agent")
def state_json() -> Response:
    return _json(console_state(engine(), _viewer()))


@bp.post("/state")
@auth.require_role("agent")
def set_state() -> BaseResponse:
    """Set the signed-in agent's state (the CSRF check runs before every unsafe request);
    `device=1`: the console's Device connects a wanted line itself, as on the toggle."""
    choice = request.form.get("state", "")
    if choice not in CHOICES:
        abort(400)
    viewer = _viewer()
    eng = engine()
    agent = eng.agents.get(viewer.agent_id)
    if agent is None:
        abort(404)
    target = "available" if choice == "ready" else choice
    if request.form.get("device") == "1" and agent.contact == f"client:{agent.id}":
        # claimed before signing in makes the line wanted: the ticker's look for lines to
        # place between the two would otherwise ring the agent through REST
        eng.router.open_line(agent.id, "device")  # a no-op once a line is placed
    offers = eng.router.set_agent_state(viewer.agent_id, target)
    dispatch.act_on(offers)
    _sync_lines()  # signing in places a persistent agent's line; signing out closes it
    return _answer(eng, viewer)


@bp.post("/open-line")
@auth.require_role("agent")
def set_open_line() -> BaseResponse:
    """Turn the signed-in agent's open line on (`on=1`) or off, kept on their profile; the
    line is placed (while signed in) or closed at once.

    `device=1`: the console's Voice SDK Device connects the line itself through the TwiML
    App (/voice/softphone-line), so REST leaves it alone for 30 s; `device=failed`: it could
    not, and the line is placed through REST now (a softphone's only, never a phone's)."""
    on, device = request.form.get("on", ""), request.form.get("device", "")
    if on not in ("0", "1") or device not in ("", "1", "failed"):
        abort(400)
    viewer = _viewer()
    eng = engine()
    agent = eng.agents.get(viewer.agent_id)
    if agent is None:
        abort(404)
    if on == "0" and eng.agents.state(agent.id).state in _LIVE:
        # closing the line now would drop the caller on it: the room ends with the line
        return _error("your caller is on this line: turn it off once the call has ended", 409)
    if on == "1" and device and agent.contact == f"client:{agent.id}":
        # before the profile wants the line (as on signing in, set_state)
        eng.router.open_line(agent.id, "device" if device == "1" else "failed")
    if agent.persistent != (on == "1"):
        eng.agents.save(dataclasses.replace(agent, persistent=on == "1"))
        audit.record("agent_saved", agent.id, updated=True, persistent=on == "1")
    _sync_lines()
    return _answer(eng, viewer)


def _sync_lines() -> None:
    if telephony().enabled:  # without a REST API no line can be placed
        dispatch.sync_lines()


def _answer(eng: Engine, viewer: Viewer) -> BaseResponse:
    if request.accept_mimetypes.best == "application/json" or request.headers.get(auth.CSRF_HEADER):
        return _json(console_state(eng, viewer))
    return redirect(url_for("agent_console.console"), code=303)


@bp.get("/events")
@auth.require_role("agent")
def events() -> Response:
    """Server-sent events: the state now, then again whenever it changes."""
    config = current_app.config  # the same stream settings as the supervisor's board
    eng, viewer = engine(), _viewer()

    def look() -> tuple[str, str] | None:
        try:
            state = console_state(eng, viewer)
        except StoreUnavailable:
            return None  # Redis is away for a moment: keep the stream, say nothing new
        return json.dumps(state, ensure_ascii=False), _fingerprint(state)

    return open_stream(
        look,
        event="state",
        poll_s=float(config.get("SILVERLINE_SSE_POLL_S", POLL_SECONDS)),
        lifetime_s=float(config.get("SILVERLINE_SSE_LIFETIME_S", STREAM_SECONDS)),
    )


def _error(message: str, status: int) -> Response:
    response = Response(json.dumps({"error": message}), status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _json(state: dict[str, Any]) -> Response:
    response = Response(json.dumps(state, ensure_ascii=False), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response
