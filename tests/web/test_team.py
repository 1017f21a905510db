"""Reports per agent and per dialect through the real app: `/api/v1/team` and the CSV."""

from __future__ import annotations

import csv
import io

from flask import Flask
from flask.testing import FlaskClient

from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance.users import Users
from routing.queues.agents import Agent
from routing.queues.router import Offer
from tests.web.conftest import SENIOR, sign_in


def a_senior_answered_after_a_miss(engine: Engine, clock: FixedClock) -> None:
    """a01 (who speaks Cantonese) lets the senior ring out; a02 (Mandarin only) answers after
    the dialect is dropped and talks 90 s."""
    for aid, dialects in (("a02", ("mandarin",)), ("a01", ("mandarin", "cantonese"))):
        engine.agents.save(
            Agent(aid, aid.upper(), f"client:{aid}", frozenset({"senior"}), dialects)
        )
        engine.router.set_agent_state(aid, "available")
        clock.advance(1)
    offer = engine.router.arrive("CA-S", SENIOR, "senior")
    assert isinstance(offer, Offer) and offer.agent.id == "a01"  # the Cantonese speaker
    clock.advance(20)
    engine.router.dial_result("CA-S", "a01", "no-answer", 0)  # the senior waits again
    clock.advance(10)  # 30 s in: the senior queue drops the dialect (config/silverline.toml)
    [again] = engine.router.tick()
    assert again.agent.id == "a02"
    clock.advance(4)
    engine.router.answered("CA-S", "a02")
    engine.router.connected("CA-S", "a02")
    clock.advance(90)
    engine.router.dial_result("CA-S", "a02", "completed", 90)
    assert engine.wrap_ups.record("CA-S", "a02", "claim", "", queue="senior", senior=True)


def test_the_team_report_counts_each_agent_and_the_callers_dialect(
    client: FlaskClient, users: Users, engine: Engine, clock: FixedClock
) -> None:
    a_senior_answered_after_a_miss(engine, clock)
    sign_in(client, "sue")
    report = client.get("/api/v1/team").get_json()
    by_agent = {a["agent"]: a for a in report["agents"]}
    assert (by_agent["a01"]["offered"], by_agent["a01"]["missed"]) == (1, 1)
    a02 = by_agent["a02"]
    assert (a02["answered"], a02["seniors_answered"], a02["talk_s"]) == (1, 1, 90.0)
    assert a02["wrap_up_codes"] == {"claim": 1}
    [cantonese] = report["dialects"]
    assert cantonese["dialect"] == "cantonese"
    assert (cantonese["answered"], cantonese["answered_in_dialect"]) == (1, 0)
    assert cantonese["time_to_human_s"] == 34.0
    assert "intervals" not in report
    assert client.get("/api/v1/team?intervals=1").get_json()["intervals"]


def test_the_team_csv_has_a_row_per_agent_and_dialect_in_each_interval(
    client: FlaskClient, users: Users, engine: Engine, clock: FixedClock
) -> None:
    a_senior_answered_after_a_miss(engine, clock)
    sign_in(client, "sue")
    response = client.get("/supervisor/team.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    kinds = {(r["kind"], r["who"]) for r in rows}
    assert {("agent", "a01"), ("agent", "a02"), ("dialect", "cantonese")} <= kinds
    assert ("agent_total", "a01") in kinds
    total = next(r for r in rows if r["kind"] == "agent_total" and r["who"] == "a02")
    assert total["answered"] == "1" and total["talk_s"] == "90.0"
    in_interval = [r for r in rows if r["kind"] == "agent" and r["who"] == "a02"]
    assert [r["wrap_up_codes"] for r in in_interval] == ["claim=1"]


def test_the_team_report_needs_a_supervisor_and_a_valid_range(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    assert client.get("/api/v1/team").status_code == 401
    agent = app.test_client()
    sign_in(agent, "a01")
    assert agent.get("/api/v1/team").status_code == 403
    sign_in(client, "sue")
    bad = client.get("/api/v1/team?start=2026-11-02&end=2026-11-01")
    assert bad.status_code == 400 and "end must not be before start" in bad.get_json()["error"]
