"""A return visit on the agent's console and its wrap-up code as the customer's outcome."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from flask import Flask

from ivr import services
from routing.clock import FixedClock
from routing.engine import Engine
from routing.outbound.campaigns import Campaign
from tests.helpers.web import add_team, app_with
from tests.web.conftest import session_csrf, sign_in

NUMBER = "+8613902200061"
REASON = "保单贷款确认 policy loan confirmation"


def _visited(app: Flask, clock: FixedClock, tmp_path: Path) -> tuple[Engine, str]:
    """A visit to NUMBER offered to a01 (the console shows it), then talked a minute."""
    engine: Engine = services.of(app).engine
    add_team(app)
    engine.router.set_agent_state("a01", "available")
    path = tmp_path / "list.csv"
    path.write_text(f"number,name\n{NUMBER},周伯\n", encoding="utf-8")
    engine.campaigns.add(Campaign("loan", REASON, "09:00-17:00"), path)
    [offer] = engine.visits.start()
    assert offer.agent.id == "a01" and offer.caller_name == "周伯"
    return engine, offer.call_sid


def _talk(engine: Engine, clock: FixedClock, sid: str) -> None:
    engine.router.callback_answered(sid, "CA" + "1" * 32)
    engine.router.answered(sid, "a01")
    clock.advance(60)
    engine.router.dial_result(sid, "a01", "completed", 60)
    engine.visits.ended(sid, "completed")


def test_the_console_shows_the_visit_and_its_reason_before_the_customer_answers(
    redis_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    app = app_with(redis_url, clock, **{"campaigns.agent_share": 1.0, "routing.senior_reserve": 0})
    _visited(app, clock, tmp_path)
    client = app.test_client()
    sign_in(client, "a01")
    state = client.get("/agent/state").get_json()
    assert state["state"] == "offered" and state["elderly"]  # the banner, before any answer
    assert state["call"]["campaign"] == "loan" and state["call"]["reason"] == REASON
    page = client.get("/agent").get_data(as_text=True)
    assert REASON in page and 'id="caller-visit"' in page


def test_call_back_later_at_a_time_is_the_next_attempt_and_a_bad_time_is_refused(
    redis_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    app = app_with(redis_url, clock, **{"campaigns.agent_share": 1.0, "routing.senior_reserve": 0})
    engine, sid = _visited(app, clock, tmp_path)
    _talk(engine, clock, sid)
    client = app.test_client()
    sign_in(client, "a01")
    token = session_csrf(client)
    bad = {"sid": sid, "code": "call_back_later", "at": "25:99"}
    refused = client.post("/agent/wrap-up", data=bad, headers={"X-CSRF-Token": token})
    assert refused.status_code == 400 and "HH:MM" in refused.get_json()["error"]
    form = {"sid": sid, "code": "call_back_later", "at": "15:00"}
    done = client.post("/agent/wrap-up", data=form, headers={"X-CSRF-Token": token})
    assert done.status_code == 200 and done.get_json() == {"recorded": True}
    [entry] = engine.campaigns.targets("loan")
    at = engine.campaigns.next_local(NUMBER, time(15, 0), clock.now())
    assert entry.outcome == "call_back_later" and entry.next_ms == int(at.timestamp() * 1000)
    assert [(a["agent"], a["outcome"]) for a in entry.log] == [("a01", "call_back_later")]
    assert engine.wrap_ups.by_agent(engine.wrap_ups.today()) == {"a01": {"call_back_later": 1}}


def test_confirmed_is_counted_in_the_progress(
    redis_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    app = app_with(redis_url, clock, **{"campaigns.agent_share": 1.0, "routing.senior_reserve": 0})
    engine, sid = _visited(app, clock, tmp_path)
    _talk(engine, clock, sid)
    client = app.test_client()
    sign_in(client, "a01")
    token = session_csrf(client)
    form = {"sid": sid, "code": "confirmed"}
    assert (
        client.post("/agent/wrap-up", data=form, headers={"X-CSRF-Token": token}).status_code == 200
    )
    progress = engine.campaigns.progress("loan")
    assert (progress["confirmed"], progress["reached"], progress["total"]) == (1, 1, 1)


def test_never_call_again_puts_the_customer_on_the_do_not_call_list(
    redis_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    app = app_with(redis_url, clock, **{"campaigns.agent_share": 1.0, "routing.senior_reserve": 0})
    engine, sid = _visited(app, clock, tmp_path)
    _talk(engine, clock, sid)
    client = app.test_client()
    sign_in(client, "a01")
    token = session_csrf(client)
    form = {"sid": sid, "code": "do_not_call"}
    assert (
        client.post("/agent/wrap-up", data=form, headers={"X-CSRF-Token": token}).status_code == 200
    )
    [entry] = engine.campaigns.targets("loan")
    assert entry.outcome == "refused" and entry.log[0]["outcome"] == "do_not_call"
    assert engine.campaigns.forbidden(NUMBER)
    later = tmp_path / "later.csv"
    later.write_text(f"number\n{NUMBER}\n", encoding="utf-8")
    report = engine.campaigns.add(Campaign("loan2", REASON, "09:00-17:00"), later)
    assert report.skipped_dnc == [NUMBER] and engine.campaigns.due("loan2") == []
    [audited] = [e for e in engine.audit.entries() if e.action == "do_not_call_added"]
    assert audited.by == "a01" and NUMBER not in audited.target
