"""Alerts through the real app: `/api/v1/alerts` and the dashboard's board."""

from __future__ import annotations

import json
import re

from flask.testing import FlaskClient

from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance.users import Users
from tests.web.conftest import SENIOR, sign_in


def test_alerts_are_listed_for_supervisors_and_drawn_from_the_board(
    client: FlaskClient, users: Users, engine: Engine, clock: FixedClock
) -> None:
    engine.router.arrive("CA1", SENIOR, "senior")
    clock.advance(45)
    engine.alerts.evaluate(force=True)
    assert client.get("/api/v1/alerts").status_code == 401
    sign_in(client, "sue")
    [held] = client.get("/api/v1/alerts").get_json()["alerts"]
    assert held["id"] == "senior_waiting:senior" and held["value"] == 45
    page = client.get("/supervisor").get_data(as_text=True)
    found = re.search(r'<script type="application/json" id="board-data">(.*?)</script>', page, re.S)
    assert found
    [drawn] = json.loads(found.group(1))["alerts"]
    assert drawn["zh"] == "senior 队列有老年客户已等待 45 秒"
