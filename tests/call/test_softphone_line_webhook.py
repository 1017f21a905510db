"""/voice/softphone-line, the TwiML App's Voice URL: the softphone's own open line, or a
spoken refusal and a hang-up (an agent's leg, never sent to the callers' fallback line)."""

from __future__ import annotations

import dataclasses

from flask import Flask

from app import create_app
from routing.engine import Engine
from routing.queues.agents import Agent
from tests.helpers.people import YOUNG
from tests.webhook_client import call_sid, params, post, spoken, twiml

LINE = "/voice/softphone-line"
REFUSED = "这条线路不是为您开的"
A01 = Agent("a01", "A01", "client:a01", frozenset({"senior"}), ("mandarin",), False, True)


def test_the_agents_device_is_put_in_their_own_room_with_the_rooms_callbacks(
    app: Flask, engine: Engine
) -> None:
    engine.agents.save(A01)
    engine.router.set_agent_state("a01", "available")
    sid = call_sid()
    root = twiml(post(app.test_client(), LINE, params("client:a01", sid, purpose="open-line")))
    room = root.find("Dial/Conference")
    assert room is not None and room.text == "agent-a01"
    assert room.get("startConferenceOnEnter") == "true"
    assert room.get("endConferenceOnExit") == "true"
    assert room.get("statusCallback", "").endswith("/voice/open-room?agent=a01")
    assert room.get("statusCallbackEvent") == "join announcement"
    assert engine.agents.state("a01").line_placed == sid


def test_a_caller_a_phone_number_agent_or_a_plain_call_is_refused_and_hung_up(
    app: Flask, engine: Engine
) -> None:
    engine.agents.save(dataclasses.replace(A01, id="a02", contact="+8613900000002"))
    engine.router.set_agent_state("a02", "available")
    client = app.test_client()
    for frm, extra in (
        (YOUNG, {"purpose": "open-line"}),  # a caller's number
        ("client:a02", {"purpose": "open-line"}),  # an agent whose line is rung by REST
        ("client:a01", {}),  # no purpose: not the console's line
    ):
        root = twiml(post(client, LINE, params(frm, call_sid(), **extra)))
        assert [v.tag for v in root] == ["Say", "Hangup"], frm
        assert REFUSED in spoken(root)
    assert engine.agents.state("a02").line_placed == ""


def test_with_redis_down_the_softphone_hears_the_refusal_not_the_fallback_line() -> None:
    app = create_app({"redis.url": "redis://127.0.0.1:1/0", "redis.socket_timeout": 0.2})
    form = params("client:a01", call_sid(), purpose="open-line")
    root = twiml(post(app.test_client(), LINE, form))
    assert [v.tag for v in root] == ["Say", "Hangup"] and root.find("Dial") is None
