"""The agent console through the test client: roles, own calls only, CSRF, states, live state."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from ivr import services
from ivr.web.agent_console import ELDERLY_EN, ELDERLY_ZH
from ivr.web.streams import stop_streams
from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance.users import Users
from routing.queues.agents import Agent
from routing.queues.router import Offer
from tests.conftest import CLUSTER
from tests.web.conftest import (
    PASSWORD,
    SENIOR,
    SENIOR_SID,
    YOUNGER,
    YOUNGER_SID,
    session_csrf,
    sign_in,
)
from tests.webhook_client import post, spoken, twiml


@pytest.fixture
def team(app: Flask, engine: Engine) -> Users:
    """Agents a01 (senior-trained, Mandarin first), a02 (English first); their users; sue."""
    engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",)))
    engine.agents.save(
        Agent("a02", "Emily", "client:a02", frozenset({"senior"}), ("english", "cantonese"))
    )
    users: Users = services.of(app).engine.users
    users.add("a01", PASSWORD, "agent", "a01")
    users.add("a02", PASSWORD, "agent", "a02")
    users.add("sue", PASSWORD, "supervisor")
    return users


def state_of(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/agent/state")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    found: dict[str, Any] = response.get_json()
    return found


def set_state(client: FlaskClient, token: str, state: str) -> dict[str, Any]:
    response = client.post("/agent/state", data={"state": state}, headers={"X-CSRF-Token": token})
    assert response.status_code == 200, response.get_data(as_text=True)
    found: dict[str, Any] = response.get_json()
    return found


def banner_shown(page: str) -> bool:
    tag = re.search(r'<div id="elderly-banner"[^>]*>', page)
    assert tag, page
    return " hidden" not in tag.group(0)


def test_the_console_needs_a_signed_in_agent(app: Flask, team: Users) -> None:
    anonymous = app.test_client()
    response = anonymous.get("/agent")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert anonymous.get("/agent/events").status_code == 401
    assert anonymous.get("/agent/state").status_code in (302, 401)
    supervisor = app.test_client()
    sign_in(supervisor, "sue")
    token = session_csrf(supervisor)
    for path in ("/agent", "/agent/state", "/agent/events"):
        assert supervisor.get(path).status_code == 403, path
    refused = supervisor.post("/agent/state", data={"state": "available", "csrf_token": token})
    assert refused.status_code == 403
    agent = app.test_client()
    sign_in(agent, "a01")
    token = session_csrf(agent)
    assert agent.get("/agent").status_code == 200
    allowed = agent.post(
        "/agent/state", data={"state": "available"}, headers={"X-CSRF-Token": token}
    )
    assert allowed.status_code == 200


def test_state_changes_need_the_csrf_token(
    client: FlaskClient, team: Users, engine: Engine
) -> None:
    sign_in(client, "a01")
    token = session_csrf(client)
    assert client.post("/agent/state", data={"state": "available"}).status_code == 400
    forged = {"state": "available", "csrf_token": "forged"}
    assert client.post("/agent/state", data=forged).status_code == 400
    assert engine.agents.state("a01").state == "offline"
    form = client.post("/agent/state", data={"state": "available", "csrf_token": token})
    assert form.status_code == 303 and form.headers["Location"] == "/agent"
    assert engine.agents.state("a01").state == "available"
    bad = client.post("/agent/state", data={"state": "on_call", "csrf_token": token})
    assert bad.status_code == 400


def test_available_away_and_the_buttons_each_state_offers(
    client: FlaskClient, team: Users, engine: Engine
) -> None:
    sign_in(client, "a01")
    token = session_csrf(client)
    first = state_of(client)
    assert first["state"] == "offline" and first["call"] is None and not first["elderly"]
    assert first["agent"] == {
        "id": "a01",
        "name": "王丽",
        "senior_trained": True,
        "dialects": ["普通话"],
    }
    available = set_state(client, token, "available")
    assert available["state"] == "available" and "available" not in available["can"]
    assert engine.agents.state("a01").state == "available"
    away = set_state(client, token, "away")
    assert away["state"] == "away" and "available" in away["can"]
    assert engine.agents.state("a01").state == "away"


def test_a_senior_offered_shows_every_detail_and_the_elderly_flag(
    client: FlaskClient, team: Users, engine: Engine, clock: FixedClock
) -> None:
    sign_in(client, "a01")
    token = session_csrf(client)
    assert not banner_shown(client.get("/agent").get_data(as_text=True))
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    clock.advance(12)
    offered = set_state(client, token, "available")  # the waiting senior goes to a01 at once
    assert offered["state"] == "offered" and offered["elderly"] is True
    call = offered["call"]
    assert call["name"] == "陈婉仪"
    assert call["number"] == "+86•••••••0060" and "13902200060" not in json.dumps(offered)
    assert call["age"] == 72 and call["dialect"] == "cantonese" and call["dialect_name"] == "粤语"
    assert (call["queue"], call["queue_name"]) == ("senior", "老年客户专线")
    assert call["waited_s"] == 12 and call["talk_s"] is None
    page = client.get("/agent").get_data(as_text=True)
    assert banner_shown(page)
    assert ELDERLY_ZH in page and ELDERLY_EN in page
    assert "陈婉仪" in page and "13902200060" not in page


def test_a_younger_caller_offered_shows_no_elderly_flag(
    client: FlaskClient, team: Users, engine: Engine
) -> None:
    engine.agents.save(Agent("a03", "张磊", "client:a03", frozenset(), ("mandarin",)))
    team.add("a03", PASSWORD, "agent", "a03")
    sign_in(client, "a03")
    token = session_csrf(client)
    engine.router.arrive(YOUNGER_SID, YOUNGER, "general")
    offered = set_state(client, token, "available")
    assert offered["state"] == "offered" and offered["elderly"] is False
    assert offered["call"]["name"] == "李明" and offered["call"]["age"] == 35
    assert offered["call"]["queue_name"] == "综合服务"
    assert not banner_shown(client.get("/agent").get_data(as_text=True))


def test_an_agent_sees_only_their_own_caller(app: Flask, team: Users, engine: Engine) -> None:
    mine, theirs = app.test_client(), app.test_client()
    sign_in(mine, "a01")
    sign_in(theirs, "a02")
    engine.router.set_agent_state("a02", "available")
    offer = engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    assert isinstance(offer, Offer) and offer.agent.id == "a02"
    assert state_of(theirs)["call"]["name"] == "陈婉仪"
    for path in ("/agent", "/agent/state", "/agent/state?agent=a02"):
        body = mine.get(path).get_data(as_text=True)
        assert "陈婉仪" not in body and "0060" not in body, path
    assert state_of(mine)["call"] is None and not state_of(mine)["elderly"]


def test_a_user_whose_agent_was_removed_sees_a_note_and_can_set_nothing(
    client: FlaskClient, team: Users, engine: Engine
) -> None:
    sign_in(client, "a01")
    token = session_csrf(client)
    engine.agents.remove("a01")
    assert 'id="no-agent"' in client.get("/agent").get_data(as_text=True)
    assert state_of(client)["agent"] is None
    response = client.post(
        "/agent/state", data={"state": "available"}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 404


def test_talking_then_wrap_up_then_ready(
    client: FlaskClient, team: Users, engine: Engine, clock: FixedClock
) -> None:
    sign_in(client, "a01")
    token = session_csrf(client)
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    # a younger caller waits too: a01 is the only senior-trained agent, kept for seniors until
    # the younger caller has waited routing.senior_reserve_release (60 s)
    engine.router.arrive(YOUNGER_SID, YOUNGER, "general")
    clock.advance(5)
    set_state(client, token, "available")
    clock.advance(3)
    engine.router.answered(SENIOR_SID, "a01")
    clock.advance(40)
    talking = state_of(client)
    assert talking["state"] == "on_call" and talking["elderly"] is True
    assert talking["call"]["waited_s"] == 8 and talking["call"]["talk_s"] == 40
    assert talking["can"] == ["away", "offline"]  # a call is never cut off from here
    engine.router.dial_result(SENIOR_SID, "a01", "completed", 40)
    clock.advance(4)
    wrap = state_of(client)
    assert wrap["state"] == "wrap_up" and wrap["call"] is None and not wrap["elderly"]
    assert wrap["wrap_up_left_s"] == engine.settings.routing.wrap_up_seconds - 4
    assert "ready" in wrap["can"]
    clock.advance(8)  # the younger caller has waited 60 s; a01 is still wrapping up
    engine.router.tick()
    assert engine.agents.state("a01").state == "wrap_up"
    ready = set_state(client, token, "ready")
    assert ready["state"] == "offered" and ready["call"]["name"] == "李明"
    assert ready["elderly"] is False


def test_the_console_speaks_english_when_asked(
    client: FlaskClient, team: Users, engine: Engine
) -> None:
    sign_in(client, "a02")
    token = session_csrf(client)
    client.post("/lang", data={"lang": "en", "csrf_token": token, "next": "/agent"})
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    offered = set_state(client, token, "available")
    assert offered["state_name"] == "Ringing"
    assert offered["call"]["dialect_name"] == "Cantonese"
    assert offered["call"]["queue_name"] == "Senior service"
    assert offered["agent"]["dialects"] == ["English", "Cantonese"]
    page = client.get("/agent").get_data(as_text=True)
    assert "Agent console" in page and banner_shown(page)
    assert page.index(ELDERLY_EN) < page.index(ELDERLY_ZH)  # the page language first


def test_the_event_stream_pushes_the_state_and_then_each_change(
    app: Flask, client: FlaskClient, team: Users, engine: Engine
) -> None:
    app.config["SILVERLINE_SSE_POLL_S"] = 0.0  # no real time between looks at Redis
    sign_in(client, "a01")
    engine.router.set_agent_state("a01", "available")
    response = client.get("/agent/events", buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    chunks = response.iter_encoded()
    assert next(chunks).startswith(b"retry:")
    first = _event(next(chunks))
    assert first["state"] == "available" and first["call"] is None
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")  # offered to a01 in this call
    pushed = _event(next(chunks))
    assert pushed["state"] == "offered" and pushed["elderly"] is True
    assert pushed["call"]["name"] == "陈婉仪"
    stop_streams(app)  # a shutdown ends the stream at its next look
    assert list(chunks) == []
    response.close()


def test_the_event_stream_shows_nothing_of_another_agents_caller(
    app: Flask, client: FlaskClient, team: Users, engine: Engine
) -> None:
    app.config["SILVERLINE_SSE_POLL_S"] = 0.0  # no real time between looks at Redis
    sign_in(client, "a01")
    engine.router.set_agent_state("a02", "available")
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    response = client.get("/agent/events", buffered=False)
    chunks = response.iter_encoded()
    next(chunks)
    seen = _event(next(chunks))
    assert seen["call"] is None and seen["elderly"] is False
    response.close()


def test_the_event_stream_ends_after_its_lifetime_for_the_browser_to_reconnect(
    app: Flask, client: FlaskClient, team: Users
) -> None:
    app.config["SILVERLINE_SSE_LIFETIME_S"] = 0.0
    sign_in(client, "a01")
    text = client.get("/agent/events").get_data(as_text=True)  # returns: the stream ended
    retry, state, rest = text.split("\n\n", 2)
    assert (retry, rest) == ("retry: 1000", "")  # the state at once, then nothing more
    assert state.startswith("event: state\ndata: ")


@pytest.mark.parametrize(
    ("agent_id", "phrases"),
    [("a01", ELDERLY_ZH.split(" · ")), ("a02", ELDERLY_EN.split(" — "))],
)
def test_the_whisper_says_the_banners_message_in_the_agents_language(
    redis_url: str,
    clock: FixedClock,
    team: Users,
    engine: Engine,
    agent_id: str,
    phrases: list[str],
) -> None:
    engine.router.set_agent_state(agent_id, "available")
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    # the full whisper (ivr.whisper = "full"), served on the same store
    full = create_app(
        {"redis.url": redis_url, "redis.cluster": CLUSTER, "ivr.whisper": "full"}, clock=clock
    ).test_client()
    path = f"/voice/whisper?call={SENIOR_SID}&agent={agent_id}"
    said = spoken(twiml(post(full, path, {"CallSid": "CA" + "9" * 32}), "whisper"))
    assert phrases[0] in said and phrases[1] in said, said
    assert "陈婉仪" in said and "72" in said


def test_the_whisper_for_a_younger_caller_has_no_elderly_flag(
    client: FlaskClient, team: Users, engine: Engine
) -> None:
    engine.agents.save(Agent("a03", "张磊", "client:a03", frozenset(), ("mandarin",)))
    engine.router.set_agent_state("a03", "available")
    engine.router.arrive(YOUNGER_SID, YOUNGER, "general")
    path = f"/voice/whisper?call={YOUNGER_SID}&agent=a03"
    said = spoken(twiml(post(client, path, {"CallSid": "CA" + "9" * 32}), "whisper"))
    # the short whisper (the default) names the topic; the console card names the caller
    assert said == "综合服务来电。" and ELDERLY_ZH.split(" · ")[0] not in said


def _event(chunk: bytes) -> dict[str, Any]:
    text = chunk.decode()
    assert text.startswith("event: state\ndata: "), text
    found: dict[str, Any] = json.loads(text.split("data: ", 1)[1])
    return found
