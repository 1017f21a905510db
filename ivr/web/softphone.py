"""The agent console's phone: Twilio Access Tokens, the demo phone, auto-answer and wrap-up.

On a Twilio account the console runs the Voice JavaScript SDK (vendored under
static/vendor/, https://www.twilio.com/docs/voice/sdks/javascript/twiliodevice) with a token
from GET /agent/token: an Access Token (https://www.twilio.com/docs/iam/access-tokens) signed
with an API key, whose identity is the signed-in agent's id (their client:<id> contact), never
a name taken from the request. With no Twilio credentials at all, the console's phone is the
demo phone that answers the offline Twilio (ivr/web/demo_phone.py).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from flask import Blueprint, Response, abort, jsonify, request
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from ivr import services
from ivr.call import dispatch
from ivr.services import engine
from ivr.services import settings as app_settings
from ivr.settings import Settings
from ivr.web import audit, auth
from ivr.web.demo_phone import BEAT_SECONDS, DemoPhones, LocalPhone
from routing.governance.privacy import mask
from routing.outbound.campaigns import CampaignError

bp = Blueprint("softphone", __name__, url_prefix="/agent")

Mode = Literal["twilio", "demo", "off"]


def mode(settings: Settings) -> Mode:
    """ "twilio" with an account and an API key, "demo" with no Twilio credentials at all."""
    s = settings.secrets
    if s.twilio_account_sid and s.twilio_api_key_sid and s.twilio_api_key_secret:
        return "twilio"
    if s.demo and not (s.twilio_account_sid or s.twilio_api_key_sid):
        return "demo"
    return "off"  # an account without an API key: the console says the phone is not set up


def access_token(settings: Settings, identity: str) -> str:
    """A Voice Access Token for `identity`: incoming calls, outgoing through the TwiML App.

    Twilio checks the token's times against its own clock, so twilio-python stamps them
    from the wall clock, not from the app's (injectable) clock.
    """
    s = settings.secrets
    grant = VoiceGrant(incoming_allow=True, outgoing_application_sid=s.twilio_twiml_app_sid or None)
    token = AccessToken(
        s.twilio_account_sid,
        s.twilio_api_key_sid,
        s.twilio_api_key_secret,
        identity=identity,
        ttl=settings.softphone.token_ttl,
        grants=[grant],
    )
    return str(token.to_jwt())


def page_config(settings: Settings, agent_id: str | None) -> dict[str, Any]:
    """What the console's script needs to run the phone."""
    agent = engine().agents.get(agent_id) if agent_id else None
    return {
        "mode": mode(settings),
        "local": mode(settings) == "demo" and LocalPhone.of(settings) is not None,
        "auto_answer": bool(agent and agent.auto_answer),
        "beat_s": BEAT_SECONDS,
        "wrap_up_codes": [dataclasses.asdict(c) for c in settings.wrap_up.codes],
    }


def _agent_id() -> str:
    user = auth.current_user()
    assert user is not None  # the views are guarded by require_role("agent")
    if not user.agent_id:
        abort(404)
    return user.agent_id


@bp.get("/token")
@auth.require_role("agent")
def token() -> Response | tuple[Response, int]:
    """The signed-in agent's Access Token as JSON: token, identity, expires_in."""
    settings = app_settings()
    identity = _agent_id()
    if mode(settings) != "twilio":
        why = "softphone not configured: set TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET"
        return jsonify(error=why, mode=mode(settings)), 503
    ttl = settings.softphone.token_ttl
    response = jsonify(token=access_token(settings, identity), identity=identity, expires_in=ttl)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/phone")
@auth.require_role("agent")
def demo_phone() -> Response | tuple[Response, int]:
    """The demo phone: `button=on` while the page is open, else a button for the call `sid`;
    `connect` calls out as the Voice SDK's Device.connect does (params: `purpose`).

    With a local Twilio both go to it, and the answer says which leg rings or talks on the
    agent's phone (`ringing`, `talking`): the console offers Answer only for a leg ringing.
    """
    eng = engine()
    agent_id = _agent_id()
    settings = app_settings()
    if mode(settings) != "demo":
        return jsonify(error="the demo phone runs only without Twilio credentials"), 409
    button = request.form.get("button", "")
    sid = request.form.get("sid", "")
    if button not in ("on", "answer", "decline", "hangup", "connect"):
        return jsonify(error=f"unknown button {button!r}"), 400
    local = LocalPhone.of(settings)
    if button == "connect" and local is None:  # Device.connect: only a local Twilio has one
        return jsonify(error="connecting needs the local Twilio"), 409
    purpose = request.form.get("purpose", "")[:32]
    answer = local.send(agent_id, button, sid, purpose) if local else None
    if answer is not None:
        status, state = answer
        return jsonify(state), status
    phones = DemoPhones(eng)
    if button == "on":
        phones.beat(agent_id)
        return jsonify(on=True, **phones.state(agent_id))
    if not sid or eng.agents.state(agent_id).call_sid != sid:
        return jsonify(error="that call is not ringing or talking on your phone"), 409
    phones.press(agent_id, button, sid)
    return jsonify(pressed=button, **phones.state(agent_id))


@bp.post("/registration")
@auth.require_role("agent")
def registration() -> Response | tuple[Response, int]:
    """The console's softphone is registered (beaten while it lasts) or not: an agent whose
    phone is not registered is offered nobody (routing/queues/softphones.py)."""
    raw = request.form.get("registered", "")
    if raw not in ("0", "1"):
        return jsonify(error="registered is 1 or 0"), 400
    dispatch.act_on(engine().softphones.report(_agent_id(), raw == "1"))
    return jsonify(registered=raw == "1")


@bp.post("/end-call")
@auth.require_role("agent")
def end_call() -> Response | tuple[Response, int]:
    """End the signed-in agent's conversation `sid` on their open line: the caller's leg is
    hung up through REST, the agent's line stays in their room for the next caller.

    The phone's own Hang up would end the agent's leg, which is the line itself: the room
    ends with it (its endConferenceOnExit) and the line must be placed again.
    """
    eng = engine()
    agent_id = _agent_id()
    sid = request.form.get("sid", "")[:64]
    info = eng.router.call(sid) if sid else None
    if info is None or info.agent_id != agent_id or info.state not in ("offered", "on_call"):
        return jsonify(error="that caller is not with you"), 409
    if not info.open_leg:
        return jsonify(error="that call is not on your open line: hang up on the phone"), 409
    # Status=completed hangs up a call in progress (Telephony.end); the caller's status
    # callback then ends the conversation as any hang-up does (wrap-up, the figures).
    if not services.telephony().end(info.leg or info.call_sid):
        return jsonify(error="Twilio did not take the caller off; try again"), 502
    return jsonify(ended=sid)


@bp.post("/auto-answer")
@auth.require_role("agent")
def auto_answer() -> Response:
    """Turn the signed-in agent's auto-answer on (`on=1`) or off, kept on their profile."""
    eng = engine()
    agent = eng.agents.get(_agent_id())
    if agent is None:
        abort(404)
    on = request.form.get("on", "") == "1"
    eng.agents.save(dataclasses.replace(agent, auto_answer=on))
    return jsonify(auto_answer=on)


@bp.post("/wrap-up")
@auth.require_role("agent")
def wrap_up() -> Response | tuple[Response, int]:
    """Record the reason (and note) for the agent's call `sid`, and end their wrap-up."""
    eng = engine()
    agent_id = _agent_id()
    sid = request.form.get("sid", "")
    info = eng.router.call(sid) if sid else None
    if info is None or info.agent_id != agent_id or info.answered_at is None:
        return jsonify(error="that call was not answered by you"), 404
    code, note = request.form.get("code", ""), request.form.get("note", "")
    try:
        # a return visit's code is its customer's outcome too (routing/outbound/visits.py);
        # `at`: the customer's HH:MM for call_back_later (else the note's first HH:MM)
        eng.visits.wrapped_up(info, code, note, request.form.get("at", ""))
        if info.campaign and code == "do_not_call" and info.caller_number:
            audit.record("do_not_call_added", mask(info.caller_number))
        recorded = eng.wrap_ups.record(
            sid, agent_id, code, note, queue=info.queue, senior=info.senior
        )
    except (ValueError, CampaignError) as exc:
        return jsonify(error=str(exc)), 400
    if eng.agents.state(agent_id).state == "wrap_up":
        dispatch.act_on(eng.router.set_agent_state(agent_id, "available"))
    return jsonify(recorded=recorded)
