"""The console's phone through the test client: Access Tokens, demo phone, auto-answer, wrap-up."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr.web.demo_phone import DemoPhones, phone_options
from routing.clock import FixedClock
from routing.engine import Engine
from routing.exceptions import SettingsError
from routing.queues.agents import Agent
from tests.helpers.web import add_team, app_with
from tests.web.conftest import SENIOR, SENIOR_SID, session_csrf, sign_in

ACCOUNT = "AC" + "a1" * 16
KEY_SID = "SK" + "b2" * 16
KEY_SECRET = "k" * 32  # a Twilio API key secret is 32 characters
APP_SID = "AP" + "c3" * 16
ACCOUNT_ENV = {
    "TWILIO_ACCOUNT_SID": ACCOUNT,
    "TWILIO_AUTH_TOKEN": "auth-token-for-tests",
    "SILVERLINE_SECRET_KEY": "s" * 64,
    "SILVERLINE_PUBLIC_URL": "https://hotline.example.com",  # REST to the cloud needs it
}
KEY_ENV = {"TWILIO_API_KEY_SID": KEY_SID, "TWILIO_API_KEY_SECRET": KEY_SECRET}


@pytest.fixture
def account_app(
    redis_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Flask]:
    """The app on a Twilio account with an API key and a TwiML App, token TTL 600 s."""
    for name, value in {**ACCOUNT_ENV, **KEY_ENV, "TWILIO_TWIML_APP_SID": APP_SID}.items():
        monkeypatch.setenv(name, value)
    app = app_with(redis_url, clock, **{"softphone.token_ttl": 600})
    add_team(app)
    yield app


def _decode(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, KEY_SECRET, algorithms=["HS256"])
    return claims


def test_the_token_is_signed_with_the_api_key_for_the_signed_in_agent(
    account_app: Flask,
) -> None:
    client = account_app.test_client()
    sign_in(client, "a01")
    before = int(time.time())
    response = client.get("/agent/token")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["identity"] == "a01" and body["expires_in"] == 600
    claims = _decode(body["token"])  # raises unless signed with the API key secret
    assert jwt.get_unverified_header(body["token"])["cty"] == "twilio-fpa;v=1"
    assert claims["iss"] == KEY_SID and claims["sub"] == ACCOUNT
    assert claims["grants"]["identity"] == "a01"
    assert claims["grants"]["voice"]["incoming"] == {"allow": True}
    assert claims["grants"]["voice"]["outgoing"] == {"application_sid": APP_SID}
    assert claims["exp"] - claims["nbf"] == 600  # the TTL setting, not twilio's default hour
    assert before + 600 <= claims["exp"] <= int(time.time()) + 600
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(body["token"], "a" * 32, algorithms=["HS256"])


def test_an_agent_cannot_obtain_another_agents_token(account_app: Flask) -> None:
    client = account_app.test_client()
    sign_in(client, "a02")
    for asked in ("/agent/token?identity=a01", "/agent/token?agent=a01"):
        body = client.get(asked, headers={"X-Identity": "a01"}).get_json()
        assert body["identity"] == "a02"
        assert _decode(body["token"])["grants"]["identity"] == "a02"


def test_no_token_without_an_agent_signed_in(account_app: Flask) -> None:
    anonymous = account_app.test_client()
    response = anonymous.get("/agent/token", headers={"Accept": "application/json"})
    assert response.status_code in (302, 401) and b"eyJ" not in response.data
    supervisor = account_app.test_client()
    sign_in(supervisor, "sue")
    assert supervisor.get("/agent/token").status_code == 403


def test_without_an_api_key_the_console_says_the_phone_is_not_set_up(
    redis_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ACCOUNT_ENV.items():
        monkeypatch.setenv(name, value)
    app = app_with(redis_url, clock)
    add_team(app)
    client = app.test_client()
    sign_in(client, "a01")
    response = client.get("/agent/token")
    assert response.status_code == 503
    assert response.get_json()["mode"] == "off"
    assert "TWILIO_API_KEY_SID" in response.get_json()["error"]
    page = client.get("/agent")  # the rest of the console works as before
    assert page.status_code == 200 and 'data-phone-mode="off"' in page.get_data(as_text=True)


def test_demo_mode_has_no_token_but_the_demo_phone(client: FlaskClient, app: Flask) -> None:
    add_team(app)
    sign_in(client, "a01")
    assert client.get("/agent/token").get_json()["mode"] == "demo"
    assert 'data-phone-mode="demo"' in client.get("/agent").get_data(as_text=True)


@pytest.mark.parametrize("ttl", [0, 59, 3601, 86400])
def test_a_token_ttl_out_of_range_stops_start_up_naming_the_key(
    redis_url: str, clock: FixedClock, ttl: int
) -> None:
    with pytest.raises(SettingsError, match="softphone.token_ttl"):
        app_with(redis_url, clock, **{"softphone.token_ttl": ttl})


def test_the_console_loads_the_vendored_sdk_from_the_app(account_app: Flask) -> None:
    client = account_app.test_client()
    sign_in(client, "a01")
    page = client.get("/agent").get_data(as_text=True)
    assert "/static/vendor/twilio-voice-sdk/twilio.min.js" in page
    assert "//sdk.twilio.com" not in page and "cdn" not in page.lower()
    with client.get("/static/vendor/twilio-voice-sdk/twilio.min.js") as sdk:
        assert sdk.status_code == 200 and b"tokenWillExpire" in sdk.data


def _talked(engine: Engine, clock: FixedClock, agent_id: str = "a01") -> str:
    """Route the senior to `agent_id`, answer, talk a minute, hang up: the agent is in wrap-up."""
    engine.router.set_agent_state(agent_id, "available")
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    engine.router.answered(SENIOR_SID, agent_id)
    clock.advance(60)
    engine.router.dial_result(SENIOR_SID, agent_id, "completed", 60)
    assert engine.agents.state(agent_id).state == "wrap_up"
    return SENIOR_SID


def test_a_wrap_up_code_is_recorded_with_the_calls_events_and_ends_the_wrap_up(
    client: FlaskClient, app: Flask, engine: Engine, clock: FixedClock
) -> None:
    add_team(app)
    sign_in(client, "a01")
    token = session_csrf(client)
    sid = _talked(engine, clock)
    form = {"sid": sid, "code": "claim", "note": "  asked about\\n a claim  "}
    response = client.post("/agent/wrap-up", data=form, headers={"X-CSRF-Token": token})
    assert response.status_code == 200 and response.get_json() == {"recorded": True}
    assert engine.agents.state("a01").state == "available"  # wrap-up ends on submit
    events = [f for _, f in engine.redis.xrange(engine.keys.stats_events())]
    mine = [e for e in events if e["call"] == sid]
    assert [e["kind"] for e in mine][-1] == "wrap_up" and "completed" in [e["kind"] for e in mine]
    assert mine[-1]["code"] == "claim" and mine[-1]["agent"] == "a01"
    assert mine[-1]["note"] == "asked about\\n a claim" and mine[-1]["class"] == "s"
    assert engine.wrap_ups.by_agent(engine.wrap_ups.today()) == {"a01": {"claim": 1}}
    again = client.post("/agent/wrap-up", data=form, headers={"X-CSRF-Token": token})
    assert again.get_json() == {"recorded": False}  # once per call and agent
    assert engine.wrap_ups.by_agent(engine.wrap_ups.today()) == {"a01": {"claim": 1}}


def test_a_wrap_up_needs_a_configured_code_and_the_agents_own_answered_call(
    app: Flask, engine: Engine, clock: FixedClock
) -> None:
    add_team(app)
    sid = _talked(engine, clock)
    other = app.test_client()
    sign_in(other, "a02")
    token = session_csrf(other)
    refused = other.post(
        "/agent/wrap-up", data={"sid": sid, "code": "claim"}, headers={"X-CSRF-Token": token}
    )
    assert refused.status_code == 404
    mine = app.test_client()
    sign_in(mine, "a01")
    token = session_csrf(mine)
    bad = mine.post(
        "/agent/wrap-up", data={"sid": sid, "code": "gossip"}, headers={"X-CSRF-Token": token}
    )
    assert bad.status_code == 400 and "gossip" in bad.get_json()["error"]
    forged = mine.post("/agent/wrap-up", data={"sid": sid, "code": "claim"})
    assert forged.status_code == 400  # no CSRF token
    assert engine.wrap_ups.by_agent(engine.wrap_ups.today()) == {}
    assert engine.agents.state("a01").state == "wrap_up"


def test_the_auto_answer_toggle_is_kept_on_the_agent(
    client: FlaskClient, app: Flask, engine: Engine
) -> None:
    add_team(app)
    sign_in(client, "a01")
    token = session_csrf(client)
    on = client.post("/agent/auto-answer", data={"on": "1"}, headers={"X-CSRF-Token": token})
    assert on.get_json() == {"auto_answer": True}
    assert engine.agents.get("a01").auto_answer  # type: ignore[union-attr]
    assert 'id="auto-answer" checked' in client.get("/agent").get_data(as_text=True)
    client.post("/agent/auto-answer", data={"on": "0"}, headers={"X-CSRF-Token": token})
    assert not engine.agents.get("a01").auto_answer  # type: ignore[union-attr]


def test_the_demo_phone_presses_only_for_the_agents_own_call(
    app: Flask, engine: Engine, clock: FixedClock
) -> None:
    add_team(app)
    phones = DemoPhones(engine)
    a01, a02 = app.test_client(), app.test_client()
    sign_in(a01, "a01")
    sign_in(a02, "a02")
    t1, t2 = session_csrf(a01), session_csrf(a02)
    assert not phones.is_on("a01")
    a01.post("/agent/phone", data={"button": "on"}, headers={"X-CSRF-Token": t1})
    assert phones.is_on("a01") and not phones.is_on("a02")
    assert engine.redis.pttl(engine.keys.demo_phone("a01")) > 20_000  # lives on the beat
    engine.router.set_agent_state("a01", "available")
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    press = {"button": "answer", "sid": SENIOR_SID}
    theirs = a02.post("/agent/phone", data=press, headers={"X-CSRF-Token": t2})
    assert theirs.status_code == 409 and phones.pressed("a01") == ""
    assert a01.post("/agent/phone", data=press, headers={"X-CSRF-Token": t1}).status_code == 200
    assert phones.pressed("a01") == "answer"
    bad = a01.post("/agent/phone", data={"button": "explode"}, headers={"X-CSRF-Token": t1})
    assert bad.status_code == 400


def test_wrap_up_codes_appear_in_the_interval_csv_and_the_agents_figures(
    app: Flask, engine: Engine, clock: FixedClock
) -> None:
    add_team(app)
    sid = _talked(engine, clock)
    engine.wrap_ups.record(sid, "a01", "complaint", "", queue="senior", senior=True)
    sup = app.test_client()
    sign_in(sup, "sue")
    day = engine.stats.today().isoformat()
    text = sup.get(f"/supervisor/export.csv?start={day}&end={day}").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    coded = [(r["class"], r["wrap_up_codes"]) for r in rows if r["wrap_up_codes"]]
    assert coded == [("senior", "complaint=1"), ("all", "complaint=1")]
    one = sup.get(f"/supervisor/export.csv?start={day}&end={day}&queue=general")
    assert "complaint" not in one.get_data(as_text=True)  # another queue's calls
    agents = {a["id"]: a for a in sup.get("/api/v1/agents").get_json()["agents"]}
    assert agents["a01"]["wrap_up_today"] == {"complaint": 1}
    assert agents["a02"]["wrap_up_today"] == {}


def test_the_offline_twilio_takes_each_agents_phone_from_the_store(
    app: Flask, engine: Engine, clock: FixedClock
) -> None:
    add_team(app)
    engine.agents.save(Agent("a03", "张磊", "client:a03", frozenset(), ("mandarin",), True))
    options = phone_options(engine)
    assert options("client:a01") == {}  # no console open: the run's own answer delay
    assert options("client:a03") == {"answer_delay_s": (0.0, 0.0)}  # auto-answer: at once
    assert options("+8613800138000") == {} and options("client:nobody") == {}
    client = app.test_client()
    sign_in(client, "a01")
    token = session_csrf(client)
    client.post("/agent/phone", data={"button": "on"}, headers={"X-CSRF-Token": token})
    buttons = options("client:a01")["buttons"]
    engine.router.set_agent_state("a01", "available")
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    assert buttons() == ""  # ringing: waits for the click
    press = {"button": "answer", "sid": SENIOR_SID}
    client.post("/agent/phone", data=press, headers={"X-CSRF-Token": token})
    assert buttons() == "answer"
    engine.redis.delete(engine.keys.demo_phone("a01"))  # the console closed, its beat ran out
    assert buttons() == "hangup"  # a call is not held open for an agent who has gone
