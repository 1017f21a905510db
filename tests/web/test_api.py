"""The supervisor's dashboard, event stream, CSV export, /api/v1 and /metrics over HTTP."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app import create_app
from ivr.web import jsonresponse
from ivr.web.streams import stop_streams
from routing.callers.caller import Caller
from routing.clock import FixedClock
from routing.engine import Engine
from routing.exceptions import SettingsError
from routing.governance.users import Users
from routing.queues.agents import Agent
from routing.queues.router import Queued
from tests.conftest import CLUSTER
from tests.helpers.web import as_user, metric_lines

SENIOR = Caller("", "+8613800138000", None, 75, "mandarin", True)
YOUNGER = Caller("", "+8613800138035", None, 35, "mandarin", False)


@pytest.fixture
def sup(client: FlaskClient, users: Users) -> FlaskClient:
    return as_user(client, users, "sue")


@pytest.fixture
def agent_client(client: FlaskClient, users: Users) -> FlaskClient:
    return as_user(client, users, "a01")


def senior_answered_after(engine: Engine, clock: FixedClock, wait_s: float) -> None:
    """A senior waits `wait_s` with nobody free, then a01 (senior-trained) answers."""
    engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",)))
    assert isinstance(engine.router.arrive("CA-S1", SENIOR, "senior"), Queued)
    clock.advance(wait_s)
    offers = engine.router.set_agent_state("a01", "available")
    assert [o.call_sid for o in offers] == ["CA-S1"]
    assert engine.router.answered("CA-S1", "a01") is not None


# -- who may see what --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/api/v1/queues", "/api/v1/agents", "/api/v1/intervals", "/supervisor/events"]
)
def test_signed_out_api_calls_get_401_json(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.get_json() == {"error": "sign in required"}


def test_signed_out_dashboard_redirects_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/supervisor")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/supervisor"
    assert client.get("/supervisor/export.csv").status_code == 302


@pytest.mark.parametrize(
    "path",
    [
        "/supervisor",
        "/supervisor/events",
        "/supervisor/export.csv",
        "/api/v1/queues",
        "/api/v1/agents",
        "/api/v1/intervals",
    ],
)
def test_an_agent_is_refused_everything_supervisors_see(
    agent_client: FlaskClient, path: str
) -> None:
    response = agent_client.get(path)
    assert response.status_code == 403
    if path.startswith("/api/"):
        assert response.get_json() == {"error": "forbidden"}


def test_unsafe_request_with_a_session_but_no_csrf_token_is_rejected(sup: FlaskClient) -> None:
    assert sup.post("/lang", data={"lang": "en"}).status_code == 400
    assert sup.post("/lang", data={"lang": "en", "csrf_token": "wrong"}).status_code == 400
    ok = sup.post("/lang", data={"lang": "en", "csrf_token": "test-token"})
    assert ok.status_code == 302


# -- the dashboard -----------------------------------------------------------------------------


def test_dashboard_page_carries_the_board_and_the_targets(
    sup: FlaskClient, engine: Engine, clock: FixedClock
) -> None:
    engine.router.arrive("CA-S1", SENIOR, "senior")
    clock.advance(25)
    page = sup.get("/supervisor").get_data(as_text=True)
    assert "监控台" in page
    assert "≥ 90% / 20 s" in page  # the senior queue's target next to its service level
    data = page.split('<script type="application/json" id="board-data">')[1].split("</script>")[0]
    board = json.loads(data)
    assert board["all"]["seniors_waiting"] == 1
    assert board["all"]["seniors_longest_wait_s"] == 25
    assert board["all"]["senior_over_target"] is True
    assert len(board["intervals"]) == 96


def first_frames(response: TestResponse) -> Iterator[str]:
    for chunk in response.response:
        yield chunk.decode() if isinstance(chunk, bytes) else chunk


def data_frame(frames: Iterator[str]) -> dict[str, object]:
    for frame in frames:
        if frame.startswith("data: "):
            parsed: dict[str, object] = json.loads(frame.removeprefix("data: "))
            return parsed
    raise AssertionError("the stream ended without a data frame")


def test_event_stream_pushes_the_board_then_each_change(
    app: Flask, sup: FlaskClient, engine: Engine, clock: FixedClock
) -> None:
    app.config["SILVERLINE_SSE_POLL_S"] = 0  # no pause between polls: the test pulls frames
    response = sup.get("/supervisor/events", buffered=False)
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    frames = first_frames(response)
    assert next(frames) == "retry: 1000\n\n"
    first = data_frame(frames)
    assert first["all"]["waiting"] == 0  # type: ignore[index]
    engine.router.arrive("CA-S1", SENIOR, "senior")
    second = data_frame(frames)
    assert second["all"]["seniors_waiting"] == 1  # type: ignore[index]
    clock.advance(21)
    third = data_frame(frames)
    assert third["all"]["senior_over_target"] is True  # type: ignore[index]
    response.close()


def test_event_stream_ends_after_its_lifetime(app: Flask, sup: FlaskClient) -> None:
    app.config.update(SILVERLINE_SSE_POLL_S=0, SILVERLINE_SSE_LIFETIME_S=0)
    frames = list(first_frames(sup.get("/supervisor/events", buffered=False)))
    assert frames[0] == "retry: 1000\n\n"
    assert len([f for f in frames if f.startswith("data: ")]) == 1


# -- CSV export --------------------------------------------------------------------------------


def test_csv_export_of_a_day(sup: FlaskClient, engine: Engine, clock: FixedClock) -> None:
    senior_answered_after(engine, clock, 30)
    response = sup.get("/supervisor/export.csv?start=2026-11-23&end=2026-11-23")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        'filename="silverline-all-20261123-20261123.csv"' in response.headers["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 96 * 3  # every interval of the day, three classes each
    busy = [r for r in rows if r["offered"] != "0" or r["answered"] != "0"]
    assert {r["class"] for r in busy} == {"senior", "all"}
    senior = next(r for r in busy if r["class"] == "senior")
    assert senior["interval_start"] == "2026-11-23T10:00:00+08:00"
    assert senior["interval_end"] == "2026-11-23T10:15:00+08:00"
    assert (senior["offered"], senior["answered"], senior["answered_within_sl"]) == ("1", "1", "0")
    assert (senior["asa_s"], senior["service_level"], senior["max_wait_s"]) == (
        "30.0",
        "0.0000",
        "30.0",
    )


def test_csv_export_of_one_queue_over_two_days(
    sup: FlaskClient, engine: Engine, clock: FixedClock
) -> None:
    senior_answered_after(engine, clock, 10)
    text = sup.get("/supervisor/export.csv?start=2026-11-22&end=2026-11-23&queue=senior")
    rows = list(csv.DictReader(io.StringIO(text.get_data(as_text=True))))
    assert len(rows) == 2 * 96 * 3
    assert {r["queue"] for r in rows} == {"senior"}
    answered = [r for r in rows if r["answered"] == "1" and r["class"] == "senior"]
    assert len(answered) == 1
    assert (answered[0]["answered_within_sl"], answered[0]["sl_seconds"]) == ("1", "20")
    assert answered[0]["service_level"] == "1.0000"


@pytest.mark.parametrize(
    "query",
    [
        "start=2026-11-23&end=2026-11-01",
        "start=yesterday",
        "start=2026-01-01&end=2026-11-23",
        "queue=nowhere",
    ],
)
def test_csv_export_refuses_a_bad_range(sup: FlaskClient, query: str) -> None:
    response = sup.get(f"/supervisor/export.csv?{query}")
    assert response.status_code == 400


# -- /api/v1 -----------------------------------------------------------------------------------


def test_api_queues_live_and_today(sup: FlaskClient, engine: Engine, clock: FixedClock) -> None:
    engine.router.arrive("CA-O1", YOUNGER, "general")
    clock.advance(5)
    engine.router.arrive("CA-S2", SENIOR, "senior")
    clock.advance(10)
    body = sup.get("/api/v1/queues").get_json()
    by_name = {q["name"]: q for q in body["queues"]}
    assert list(by_name) == list(engine.settings.queues)
    assert (by_name["general"]["waiting"], by_name["general"]["longest_wait_s"]) == (1, 15)
    assert by_name["senior"]["seniors_waiting"] == 1
    assert by_name["senior"]["seniors_longest_wait_s"] == 10
    assert by_name["senior"]["sl_percent"] == 90
    assert body["all"]["waiting"] == 2
    assert body["all"]["today"]["other"]["offered"] == 1
    assert body["all"]["today"]["senior"]["offered"] == 1
    assert body["senior_target_s"] == 20
    # the widening ladder, and how far up it the longest-waiting caller has come
    assert by_name["senior"]["ladder"] == [
        {"after_s": 0, "skill": "senior", "dialect": True},
        {"after_s": 30, "skill": "senior", "dialect": False},
        {"after_s": 45, "skill": "", "dialect": False},
    ]
    assert (by_name["senior"]["longest_rung"], by_name["policy"]["longest_rung"]) == (1, 0)
    assert [r["after_s"] for r in by_name["policy"]["ladder"]] == [0, 20, 60]
    assert by_name["general"]["overflow"] == {"kind": "", "after_s": 0, "length": 0, "to": ""}
    assert by_name["general"]["today"]["all"]["moved_in"] == 0


def test_api_agents(sup: FlaskClient, engine: Engine, clock: FixedClock) -> None:
    senior_answered_after(engine, clock, 5)
    engine.agents.save(Agent("a02", "陈家明", "client:a02", frozenset(), ("cantonese",)))
    body = sup.get("/api/v1/agents").get_json()
    states = {a["id"]: a["state"] for a in body["agents"]}
    assert states == {"a01": "on_call", "a02": "offline"}
    assert body["agents"][0]["senior_trained"] is True


def test_api_agents_shows_who_is_on_an_open_line(sup: FlaskClient, engine: Engine) -> None:
    skills = frozenset({"senior"})
    engine.agents.save(Agent("a03", "王丽", "client:a03", skills, ("mandarin",), False, True))
    engine.router.set_agent_state("a03", "available")
    [wanted] = engine.router.lines().to_open
    engine.router.open_line(wanted.id, "placed", "CAline")
    rows = {a["id"]: a for a in sup.get("/api/v1/agents").get_json()["agents"]}
    assert (rows["a03"]["persistent"], rows["a03"]["open_line_connected"]) == (True, False)
    engine.router.open_room("a03", "join", "CAline", "CFroom")
    rows = {a["id"]: a for a in sup.get("/api/v1/agents").get_json()["agents"]}
    assert rows["a03"]["open_line_connected"] is True


def test_api_intervals(sup: FlaskClient, engine: Engine, clock: FixedClock) -> None:
    senior_answered_after(engine, clock, 12)
    body = sup.get("/api/v1/intervals?start=2026-11-23&end=2026-11-23").get_json()
    assert (body["queue"], body["interval_minutes"], body["timezone"]) == (
        "all",
        15,
        "Asia/Shanghai",
    )
    assert len(body["intervals"]) == 96
    ten = next(iv for iv in body["intervals"] if iv["start"] == "2026-11-23T10:00:00+08:00")
    senior = ten["figures"]["senior"]
    assert (senior["answered"], senior["answered_sl"], senior["asa_s"]) == (1, 1, 12.0)
    assert senior["histogram"][2] == 1  # 10 s <= 12 s < 20 s
    bad = sup.get("/api/v1/intervals?start=2026-13-01")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_json()["error"]


# -- /metrics ----------------------------------------------------------------------------------


def test_metrics_are_closed_by_default(client: FlaskClient) -> None:
    assert client.get("/metrics").status_code == 404  # were open to anyone


def test_a_set_token_is_asked_for_even_when_not_required(
    redis_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SILVERLINE_METRICS_TOKEN", "s3cret-scrape-token")
    scraper = create_app(
        {"redis.url": redis_url, "redis.cluster": CLUSTER, "auth.metrics_open": True}, clock=clock
    ).test_client()
    assert scraper.get("/metrics").status_code == 401  # was 200: the token alone protected nothing
    ok = scraper.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert ok.status_code == 200


def test_metrics_opened_read_redis(
    metrics_open: None, client: FlaskClient, engine: Engine, clock: FixedClock
) -> None:
    senior_answered_after(engine, clock, 30)
    engine.router.arrive("CA-O1", YOUNGER, "general")
    clock.advance(7)
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    m = metric_lines(response.get_data(as_text=True))
    sq = '{class="senior",queue="senior"}'
    assert m[f"silverline_calls_answered_total{sq}"] == 1
    assert m[f"silverline_calls_answered_within_sl_total{sq}"] == 0
    assert m[f"silverline_answer_wait_seconds_sum{sq}"] == 30
    assert m['silverline_answer_wait_seconds_bucket{class="senior",le="20.0",queue="senior"}'] == 0
    assert m['silverline_answer_wait_seconds_bucket{class="senior",le="60.0",queue="senior"}'] == 1
    assert m['silverline_queue_waiting{class="other",queue="general"}'] == 1
    assert m['silverline_queue_longest_wait_seconds{class="all",queue="general"}'] == 7
    assert m['silverline_agents{state="on_call"}'] == 1
    assert m[f"silverline_today_asa_seconds{sq}"] == 30
    assert m["silverline_store_up"] == 1


def test_two_apps_on_one_store_report_the_same(
    metrics_open: None, client: FlaskClient, engine: Engine, clock: FixedClock, redis_url: str
) -> None:
    """Like two gunicorn workers: what one recorded, the other's /metrics shows."""
    other = create_app({"redis.url": redis_url, "redis.cluster": CLUSTER}, clock=clock)
    senior_answered_after(engine, clock, 3)
    mine = metric_lines(client.get("/metrics").get_data(as_text=True))
    theirs = metric_lines(other.test_client().get("/metrics").get_data(as_text=True))
    assert mine == theirs
    assert theirs['silverline_calls_answered_total{class="senior",queue="senior"}'] == 1


@pytest.fixture
def token_app(
    redis_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[FlaskClient]:
    monkeypatch.setenv("SILVERLINE_METRICS_TOKEN", "s3cret-scrape-token")
    overrides = {
        "redis.url": redis_url,
        "redis.cluster": CLUSTER,
        "auth.metrics_token_required": True,
    }
    yield create_app(overrides, clock=clock).test_client()


def test_metrics_token_when_required(token_app: FlaskClient) -> None:
    assert token_app.get("/metrics").status_code == 401
    wrong = token_app.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    basic = token_app.get("/metrics", headers={"Authorization": "Basic s3cret-scrape-token"})
    assert basic.status_code == 401
    ok = token_app.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert ok.status_code == 200
    assert b"silverline_calls_offered_total" in ok.data


def test_required_token_missing_stops_start_up(
    redis_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SILVERLINE_METRICS_TOKEN", raising=False)
    with pytest.raises(SettingsError, match="auth.metrics_token_required"):
        create_app({"redis.url": redis_url, "auth.metrics_token_required": True}, clock=clock)


def test_stopping_the_apps_streams_ends_the_board_stream(app: Flask, sup: FlaskClient) -> None:
    app.config["SILVERLINE_SSE_POLL_S"] = 0
    frames = first_frames(sup.get("/supervisor/events", buffered=False))
    assert next(frames) == "retry: 1000\n\n"
    data_frame(frames)
    stop_streams(app)
    assert list(frames) == []


def test_json_responses_read_as_flask_would_write_them() -> None:
    # orjson encodes the responses (ivr/web/jsonresponse.py); what a client parses is unchanged:
    # keys sorted, dates and dataclasses as Flask writes them.
    @dataclasses.dataclass
    class Point:
        x: int
        label: str

    app = Flask(__name__)
    value = {
        "b": [1, 2.5, None, True],
        "a": {"when": datetime(2026, 11, 23, 2, 0, tzinfo=UTC), "day": date(2026, 11, 23)},
        "name": "王秀英 粤语",
        "point": Point(3, "x"),
    }
    with app.app_context():
        expected = app.json.dumps(value)
        jsonresponse.install(app)
        written = app.json.dumps(value)
        response = app.json.response(value)
    assert response.mimetype == "application/json"
    assert json.loads(response.get_data()) == json.loads(written) == json.loads(expected)
    assert list(json.loads(written)) == ["a", "b", "name", "point"]
    assert json.loads(written)["a"]["day"] == "Mon, 23 Nov 2026 00:00:00 GMT"
