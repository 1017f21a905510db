"""The console's open line without a browser: the toggle, what the console is told of the line,
and "End call" refusing what is not a caller on the agent's own line."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from ivr.web import dashboard
from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance.users import Users
from routing.queues.agents import Agent
from tests.web.conftest import SENIOR, SENIOR_SID, session_csrf, sign_in


def _post(client: FlaskClient, path: str, **form: str) -> tuple[int, dict[str, Any]]:
    token = session_csrf(client)
    response = client.post(path, data=form, headers={"X-CSRF-Token": token})
    return response.status_code, response.get_json()


def test_the_toggle_keeps_the_choice_on_the_profile_and_the_console_shows_the_line(
    a01: FlaskClient, engine: Engine
) -> None:
    status, state = _post(a01, "/agent/open-line", on="1")
    assert status == 200
    agent = engine.agents.get("a01")
    assert agent is not None and agent.persistent
    # no REST API in this app: nothing places the line, which is wanted and not yet open
    assert state["line"] == {"wanted": True, "state": "connecting", "leg": ""}
    engine.router.open_line("a01", "placed", "CA" + "1" * 32)
    engine.router.open_room("a01", "join", "CA" + "1" * 32, "CF" + "1" * 32)
    shown = a01.get("/agent/state").get_json()["line"]
    assert shown == {"wanted": True, "state": "open", "leg": "CA" + "1" * 32}
    status, state = _post(a01, "/agent/open-line", on="0")
    assert status == 200 and state["line"]["state"] == "off"
    agent = engine.agents.get("a01")
    assert agent is not None and not agent.persistent


def test_a_bad_toggle_is_refused_and_changes_nothing(a01: FlaskClient, engine: Engine) -> None:
    for bad in ("", "yes", "2"):
        status, _ = _post(a01, "/agent/open-line", on=bad)
        assert status == 400
    agent = engine.agents.get("a01")
    assert agent is not None and not agent.persistent


def test_the_line_cannot_be_turned_off_under_a_caller(a01: FlaskClient, engine: Engine) -> None:
    _post(a01, "/agent/open-line", on="1")
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")
    assert engine.agents.state("a01").state == "offered"
    status, answer = _post(a01, "/agent/open-line", on="0")
    assert status == 409 and "once the call has ended" in answer["error"]
    agent = engine.agents.get("a01")
    assert agent is not None and agent.persistent


def test_end_call_takes_only_a_caller_on_the_agents_own_open_line(
    a01: FlaskClient, engine: Engine
) -> None:
    status, answer = _post(a01, "/agent/end-call", sid=SENIOR_SID)
    assert status == 409 and "not with you" in answer["error"]
    engine.router.arrive(SENIOR_SID, SENIOR, "senior")  # rung the usual way: no open line
    status, answer = _post(a01, "/agent/end-call", sid=SENIOR_SID)
    assert status == 409 and "hang up on the phone" in answer["error"]
    assert engine.router.call(SENIOR_SID).state == "offered"  # type: ignore[union-attr]


def test_supervisors_see_who_is_connected_and_the_open_line_minutes(
    app: Flask, engine: Engine, clock: FixedClock, users: Users
) -> None:
    engine.agents.save(
        Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",), False, True)
    )
    engine.router.set_agent_state("a01", "available")
    engine.router.open_line("a01", "placed", "CA" + "1" * 32)
    engine.router.open_room("a01", "join", "CA" + "1" * 32, "CF" + "1" * 32)
    clock.advance(90)
    sue = app.test_client()
    sign_in(sue, "sue")
    board = dashboard.agents(engine)
    assert [(a["id"], a["persistent"], a["open_line_connected"]) for a in board] == [
        ("a01", True, True)
    ]
    team = sue.get("/api/v1/team").get_json()
    assert [(a["agent"], a["open_line_s"]) for a in team["agents"]] == [("a01", 90)]
    header = sue.get("/supervisor/team.csv").get_data(as_text=True).splitlines()[0].split(",")
    assert header.index("open_line_s") == header.index("talk_s") + 1
    page = sue.get("/supervisor").get_data(as_text=True)
    assert 'data-lines="' in page and "常开线路" in page  # the column, in the page's language
