"""Forcing an agent's state from the dashboard's API: signed-in supervisors with CSRF only."""

from __future__ import annotations

import json
import re

import pytest
from flask.testing import FlaskClient

from ivr.web import supervisor
from routing.callers.caller import Caller
from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance.users import Users
from routing.queues.agents import Agent
from routing.queues.router import Queued
from tests.web.conftest import sign_in

CALLER = Caller("", "+8613800138035", None, 35, "mandarin", False)
FORCE = "/api/v1/agents/a01/state"


def signed_in(client: FlaskClient, name: str, page: str) -> str:
    """Sign `name` in through the login form; return the CSRF token `page` carries."""
    sign_in(client, name)
    html = client.get(page).get_data(as_text=True)
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert meta, html
    return meta.group(1)


@pytest.fixture
def stuck(engine: Engine, clock: FixedClock) -> Engine:
    """a01 answered CA1 three hours ago and its end was never reported; CA2 waits."""
    engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset(), ("mandarin",)))
    engine.router.set_agent_state("a01", "available")
    engine.router.arrive("CA1", CALLER, "general")
    engine.router.answered("CA1", "a01")
    clock.advance(3 * 3600)
    assert isinstance(engine.router.arrive("CA2", CALLER, "general"), Queued)
    return engine


def board_of(client: FlaskClient) -> dict[str, object]:
    page = client.get("/supervisor").get_data(as_text=True)
    raw = page.split('<script type="application/json" id="board-data">')[1].split("</script>")[0]
    board: dict[str, object] = json.loads(raw)
    return board


def test_a_supervisor_frees_an_agent_stuck_on_a_lost_call(
    client: FlaskClient, users: Users, stuck: Engine, clock: FixedClock
) -> None:
    token = signed_in(client, "sue", "/supervisor")
    before = board_of(client)
    assert [(a["id"], a["state"], a["in_state_s"]) for a in before["agents"]] == [  # type: ignore[attr-defined]
        ("a01", "on_call", 3 * 3600)
    ]
    assert before["forced"] == []

    response = client.post(FORCE, json={"state": "available"}, headers={"X-CSRF-Token": token})

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    change = {
        "at": clock.now().isoformat(),
        "by": "sue",
        "via": "web",
        "agent_id": "a01",
        "from_state": "on_call",
        "to_state": "available",
        "call_sid": "CA1",
        "ended": "call",
    }
    assert body["change"] == change
    assert body["forced"] == [change]
    # freed at once, not after a wrap-up: the waiting caller is offered to a01 straight away
    assert [(a["id"], a["state"], a["call_sid"]) for a in body["agents"]] == [
        ("a01", "offered", "CA2")
    ]
    info = stuck.router.call("CA1")
    assert info is not None and info.state == "done"
    listed = client.get("/api/v1/forced-changes").get_json()
    assert listed["forced"] == [change]
    assert board_of(client)["forced"] == [change]  # the dashboard lists it too


def test_the_form_field_carries_the_token_as_well(
    client: FlaskClient, users: Users, stuck: Engine
) -> None:
    token = signed_in(client, "sue", "/supervisor")
    response = client.post(FORCE, data={"state": "offline", "csrf_token": token})
    assert response.status_code == 200
    assert stuck.agents.state("a01").state == "offline"


@pytest.mark.parametrize("headers", [{}, {"X-CSRF-Token": "forged"}])
def test_without_the_sessions_csrf_token_nothing_changes(
    client: FlaskClient, users: Users, stuck: Engine, headers: dict[str, str]
) -> None:
    signed_in(client, "sue", "/supervisor")
    response = client.post(FORCE, json={"state": "available"}, headers=headers)
    assert response.status_code == 400
    assert stuck.agents.state("a01").state == "on_call"
    assert stuck.router.forced_changes() == []


def test_an_agent_is_refused_and_nothing_changes(
    client: FlaskClient, users: Users, stuck: Engine
) -> None:
    token = signed_in(client, "a01", "/agent")  # a valid session and token, the wrong role
    response = client.post(FORCE, json={"state": "available"}, headers={"X-CSRF-Token": token})
    assert response.status_code == 403
    assert response.get_json() == {"error": "forbidden"}
    assert client.get("/api/v1/forced-changes").status_code == 403
    assert stuck.agents.state("a01").state == "on_call"
    assert stuck.router.forced_changes() == []


def test_signed_out_gets_401(client: FlaskClient, stuck: Engine) -> None:
    response = client.post(FORCE, json={"state": "available"})
    assert response.status_code == 401
    assert client.get("/api/v1/forced-changes").status_code == 401
    assert stuck.agents.state("a01").state == "on_call"


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        (FORCE, {"state": "on_call"}, 400, "state must be one of available, away, offline"),
        (FORCE, {}, 400, "state must be one of"),
        (FORCE, ["available"], 400, "state must be one of"),
        ("/api/v1/agents/a99/state", {"state": "away"}, 404, "no agent 'a99'"),
    ],
)
def test_bad_requests_are_named_and_change_nothing(
    client: FlaskClient,
    users: Users,
    stuck: Engine,
    path: str,
    body: object,
    status: int,
    message: str,
) -> None:
    token = signed_in(client, "sue", "/supervisor")
    response = client.post(path, json=body, headers={"X-CSRF-Token": token})
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert stuck.agents.state("a01").state == "on_call"
    assert stuck.router.forced_changes() == []


@pytest.mark.parametrize("limit", ["0", "1001", "x", "-1"])
def test_a_bad_limit_is_refused(client: FlaskClient, users: Users, limit: str) -> None:
    signed_in(client, "sue", "/supervisor")
    response = client.get(f"/api/v1/forced-changes?limit={limit}")
    assert response.status_code == 400
    assert "limit must be a whole number from 1 to 1000" in response.get_json()["error"]


def test_the_limit_keeps_the_newest(client: FlaskClient, users: Users, stuck: Engine) -> None:
    for state in ("away", "offline", "available"):
        stuck.router.force_agent_state("a01", state, "ops", "cli")
    signed_in(client, "sue", "/supervisor")
    listed = client.get("/api/v1/forced-changes?limit=2").get_json()["forced"]
    assert [(c["to_state"], c["via"]) for c in listed] == [("available", "cli"), ("offline", "cli")]


def test_the_board_stream_ignores_durations_that_only_count_on() -> None:
    agent = {"id": "a01", "state": "away", "in_state_s": 5}
    later = {**agent, "in_state_s": 6}
    moved = {**agent, "state": "available"}

    def frame(a: dict[str, object], at: str) -> str:
        return json.dumps({"at": at, "agents": [a]})

    same = supervisor._without_time(frame(agent, "t1"))
    assert supervisor._without_time(frame(later, "t2")) == same
    assert supervisor._without_time(frame(moved, "t2")) != same
