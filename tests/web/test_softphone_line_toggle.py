"""The console's toggle when its softphone connects the line itself (`device`): REST leaves the
line to the Device, and places it once the console says the Device could not."""

from __future__ import annotations

from flask.testing import FlaskClient

from routing.clock import FixedClock
from routing.engine import Engine
from tests.web.conftest import session_csrf


def _toggle(client: FlaskClient, **form: str) -> int:
    token = session_csrf(client)
    return client.post("/agent/open-line", data=form, headers={"X-CSRF-Token": token}).status_code


def test_the_device_connects_the_line_and_rest_takes_over_when_it_cannot(
    a01: FlaskClient, engine: Engine
) -> None:
    assert _toggle(a01, on="1", device="1") == 200
    assert engine.router.lines().to_open == []  # left to the console's Device
    shown = a01.get("/agent/state").get_json()["line"]
    assert shown == {"wanted": True, "state": "connecting", "leg": ""}  # the phone connects
    assert _toggle(a01, on="1", device="failed") == 200
    assert [a.id for a in engine.router.lines().to_open] == ["a01"]  # REST places it now


def test_a_bad_device_field_is_refused_and_changes_nothing(
    a01: FlaskClient, engine: Engine
) -> None:
    assert _toggle(a01, on="1", device="yes") == 400
    agent = engine.agents.get("a01")
    assert agent is not None and not agent.persistent


def test_signing_in_with_a_wanted_line_leaves_it_to_the_device(
    a01: FlaskClient, engine: Engine, clock: FixedClock
) -> None:
    assert _toggle(a01, on="1", device="1") == 200
    token = session_csrf(a01)
    headers = {"X-CSRF-Token": token}
    assert a01.post("/agent/state", data={"state": "offline"}, headers=headers).status_code == 200
    clock.advance(60)  # the toggle's claim has lapsed: signing in makes a new one
    form = {"state": "ready", "device": "1"}
    assert a01.post("/agent/state", data=form, headers=headers).status_code == 200
    assert engine.router.lines().to_open == []  # the console's Device connects it
