"""The audit trail through the real app: what is recorded, and who may read it."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance.users import Users
from routing.queues.agents import Agent
from tests.conftest import T0
from tests.web.conftest import PASSWORD, csrf_of, session_csrf, sign_in

ADDRESS = {"REMOTE_ADDR": "198.51.100.7"}


def actions(engine: Engine) -> list[tuple[str, str, str, str]]:
    return [(e.action, e.by, e.target, e.address) for e in engine.audit.entries()]


def test_sign_ins_failed_ones_and_sign_outs_are_recorded_with_the_address(
    client: FlaskClient, users: Users, engine: Engine
) -> None:
    token = csrf_of(client)
    wrong = {"name": "sue", "password": "nope-nope", "csrf_token": token}
    assert client.post("/login", data=wrong, environ_base=ADDRESS).status_code == 401
    right = {"name": "sue", "password": PASSWORD, "csrf_token": token}
    assert client.post("/login", data=right, environ_base=ADDRESS).status_code == 302
    out = client.post("/logout", data={"csrf_token": session_csrf(client)}, environ_base=ADDRESS)
    assert out.status_code == 302
    assert actions(engine) == [
        ("sign_out", "sue", "", "198.51.100.7"),
        ("sign_in", "sue", "", "198.51.100.7"),
        ("sign_in_failed", "sue", "", "198.51.100.7"),
    ]
    entries = engine.audit.entries()
    assert entries[1].detail == {"role": "supervisor"} and entries[1].via == "web"
    assert entries[2].detail == {"throttled": False}
    assert all(e.at == T0 for e in entries)


def test_a_forced_state_and_an_export_are_recorded(
    client: FlaskClient, users: Users, engine: Engine
) -> None:
    engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset(), ("mandarin",)))
    sign_in(client, "sue")
    token = session_csrf(client)
    forced = client.post(
        "/api/v1/agents/a01/state", json={"state": "away"}, headers={"X-CSRF-Token": token}
    )
    assert forced.status_code == 200
    export = client.get("/supervisor/export.csv?start=2026-11-23&end=2026-11-23")
    assert export.status_code == 200
    newest = engine.audit.entries()[:2]
    assert [(e.action, e.by, e.target) for e in newest] == [
        ("export", "sue", "silverline-all-20261123-20261123.csv"),
        ("agent_state_forced", "sue", "a01"),
    ]
    assert newest[1].detail["to_state"] == "away"
    assert newest[1].detail["from_state"] == "offline"
    # a refused force (no CSRF token) changes nothing and records nothing
    before = len(engine.audit.entries())
    refused = client.post("/api/v1/agents/a01/state", json={"state": "available"})
    assert refused.status_code == 400
    assert len(engine.audit.entries()) == before


def test_supervisors_read_the_trail_on_a_page_and_in_json(
    client: FlaskClient, users: Users, engine: Engine, clock: FixedClock
) -> None:
    engine.audit.record("user_removed", "root", "cli", "local", "bob")
    clock.advance(86_400)
    sign_in(client, "sue")
    page = client.get("/supervisor/audit")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'class="audit-user_removed"' in html and "bob" in html
    assert "2026-11-23 10:00:00" in html  # in the hotline's time zone
    assert 'href="/supervisor/audit"' in client.get("/supervisor").get_data(as_text=True)
    listed = client.get("/api/v1/audit").get_json()
    assert [e["action"] for e in listed["entries"]] == ["sign_in", "user_removed"]
    assert listed["entries"][1]["via"] == "cli"
    since = (T0 + timedelta(hours=1)).isoformat()
    recent = client.get("/api/v1/audit", query_string={"since": since}).get_json()
    assert [e["action"] for e in recent["entries"]] == ["sign_in"]
    by_day = client.get("/api/v1/audit?since=2026-11-24").get_json()
    assert [e["action"] for e in by_day["entries"]] == ["sign_in"]


def test_bad_filters_are_refused_clearly(client: FlaskClient, users: Users) -> None:
    sign_in(client, "sue")
    bad = client.get("/api/v1/audit?since=yesterday")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_json()["error"]
    assert client.get("/api/v1/audit?since=2026-11-23T10:00").status_code == 400  # no offset
    assert client.get("/api/v1/audit?limit=0").status_code == 400
    assert client.get("/supervisor/audit?since=nonsense").status_code == 400


def test_agents_and_strangers_cannot_read_it(client: FlaskClient, users: Users) -> None:
    assert client.get("/api/v1/audit").status_code == 401
    assert client.get("/supervisor/audit").status_code == 302
    sign_in(client, "a01")
    assert client.get("/api/v1/audit").status_code == 403
    assert client.get("/supervisor/audit").status_code == 403
