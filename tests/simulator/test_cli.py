"""`silverline call` and `silverline simulate`, in-process on the test Redis."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner

from app import cli as main
from ivr.settings import load_settings
from routing.callers.caller import Customer
from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.store import RedisClient
from tests.conftest import T0

GRANNY = "+8613902212399"


def test_call_prints_what_the_caller_heard_as_json(env: dict[str, str]) -> None:
    res = CliRunner().invoke(
        main, ["call", "+8613912345678", "--press", "0", "--patience", "30", "--json"], env=env
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.splitlines()[-1])
    assert out["call_sid"].startswith("CA") and out["status"] == "completed"
    said = [line for line in out["transcript"] if line["kind"] == "say"]
    assert said and said[0]["party"] == "caller"
    assert any(
        line["kind"] == "input" and line["text"] == "pressed 0" for line in out["transcript"]
    )
    assert out["errors"] == []


def test_an_in_process_call_uses_the_stores_customer_and_leaves_the_store_as_it_was(
    env: dict[str, str], r: RedisClient
) -> None:
    settings = load_settings({"redis.url": env["REDIS_URL"]})
    engine = Engine(r, FixedClock(T0), settings)
    engine.directory.save(Customer("c9", "欧阳奶奶", date(1940, 2, 29), "cantonese", (GRANNY,)))
    before = {key: r.type(key) for key in r.scan_iter()}
    for _ in range(2):  # the same call twice: nothing of the first is seen by the second
        full = {**env, "SILVERLINE__IVR__WHISPER": "full"}  # a whisper that names the caller
        res = CliRunner().invoke(main, ["call", GRANNY, "--patience", "60", "--json"], env=full)
        assert res.exit_code == 0, res.output
        out = json.loads(res.output.splitlines()[-1])
        heard = " ".join(line["text"] for line in out["transcript"] if line["party"] == "agent")
        assert "欧阳奶奶" in heard  # the whisper names the store's customer
        assert any(line["text"].startswith("connected") for line in out["transcript"])
    assert {key: r.type(key) for key in r.scan_iter()} == before


def test_simulate_prints_figures_per_class_as_json(env: dict[str, str], r: RedisClient) -> None:
    args = ["simulate", "--calls", "30", "--rate", "0.05", "--agents", "2"]
    args += ["--senior-share", "0.5", "--aht", "60", "--patience", "120", "--seed", "4", "--json"]
    res = CliRunner().invoke(main, args, env=env)
    assert res.exit_code == 0, res.output
    classes = json.loads(res.output.splitlines()[-1])["classes"]
    assert set(classes) == {"senior", "other", "all"}
    keys = {"offered", "answered", "abandoned", "asa_s", "service_level", "max_wait_s", "p_wait"}
    keys |= {"time_to_human_s", "time_to_human_p90_s"}
    assert all(set(figures) == keys for figures in classes.values())
    for figures in classes.values():
        assert figures["offered"] == figures["answered"] + figures["abandoned"]
        assert figures["time_to_human_s"] > 0 and figures["time_to_human_p90_s"] > 0
    assert classes["all"]["offered"] == 30
    assert classes["senior"]["offered"] + classes["other"]["offered"] == 30
    assert classes["all"]["answered"] + classes["all"]["abandoned"] == 30
    assert r.dbsize() == 0  # the run's scratch keys are gone


def test_simulate_refuses_speed_with_virtual(env: dict[str, str]) -> None:
    args = ["simulate", "--calls", "1", "--rate", "1", "--agents", "1", "--senior-share", "0"]
    res = CliRunner().invoke(main, [*args, "--speed", "2", "--virtual"], env=env)
    assert res.exit_code != 0 and "exclusive" in res.output


def _ring_to_answer(out: dict[str, Any]) -> float:
    """Seconds from the agent's phone ringing to the agent hearing the whisper."""
    lines = out["transcript"]
    ringing = next(x["at"] for x in lines if x["text"].startswith("ringing client:"))
    answered = next(x["at"] for x in lines if x["party"] == "agent")
    return float(answered - ringing)


DIAL = {"SILVERLINE__IVR__CONNECT": "dial"}  # the classic path: the caller hears the ringing


@pytest.mark.parametrize("after", [0.0, 3.0, 7.5])
def test_call_agents_answer_after_exactly_the_given_seconds(
    env: dict[str, str], after: float
) -> None:
    args = ["call", GRANNY, "--patience", "60", "--json", "--answer-after", str(after)]
    res = CliRunner().invoke(main, args, env=env | DIAL)
    assert res.exit_code == 0, res.output
    assert _ring_to_answer(json.loads(res.output.splitlines()[-1])) == pytest.approx(after)


def test_call_agents_answer_after_three_seconds_by_default(env: dict[str, str]) -> None:
    res = CliRunner().invoke(main, ["call", GRANNY, "--patience", "60", "--json"], env=env | DIAL)
    assert res.exit_code == 0, res.output
    assert _ring_to_answer(json.loads(res.output.splitlines()[-1])) == pytest.approx(3.0)


@pytest.mark.parametrize("command", ["call", "simulate"])
def test_a_negative_answer_after_is_refused(env: dict[str, str], command: str) -> None:
    args = [GRANNY] if command == "call" else ["--calls", "1", "--rate", "1", "--agents", "1"]
    if command == "simulate":
        args += ["--senior-share", "0"]
    res = CliRunner().invoke(main, [command, *args, "--answer-after", "-1"], env=env)
    assert res.exit_code == 2 and "--answer-after" in res.output


def test_simulate_takes_handle_time_with_a_wrap_up_and_reports_occupancy(
    env: dict[str, str], r: RedisClient
) -> None:
    args = ["simulate", "--calls", "30", "--rate", "0.05", "--agents", "2", "--seed", "4"]
    args += ["--senior-share", "0.5", "--aht", "40", "--wrap-up", "10", "--answer-after", "2"]
    res = CliRunner().invoke(main, [*args, "--patience", "120", "--json"], env=env)
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.splitlines()[-1])
    assert 0 < out["occupancy"] <= 1
    assert out["classes"]["all"]["answered"] + out["classes"]["all"]["abandoned"] == 30
    assert r.dbsize() == 0
    table = CliRunner().invoke(main, [*args, "--patience", "120"], env=env)
    assert table.exit_code == 0 and "occupancy" in table.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--aht", "10", "--wrap-up", "10"], "10 s wrap-up"),
        (["--aht", "12"], "15 s wrap-up"),  # the configuration's wrap-up
        (["--aht", "0"], "--aht"),
        (["--wrap-up", "-1"], "--wrap-up"),
        (["--url", "http://127.0.0.1:9", "--wrap-up", "3"], "routing.wrap_up_seconds (15 s)"),
    ],
)
def test_simulate_refuses_a_wrap_up_that_leaves_no_talk_or_that_the_server_does_not_use(
    env: dict[str, str], extra: list[str], message: str
) -> None:
    args = ["simulate", "--calls", "1", "--rate", "1", "--agents", "1", "--senior-share", "0"]
    res = CliRunner().invoke(main, [*args, *extra], env=env)
    assert res.exit_code == 2 and message in res.output, res.output


def test_a_simulated_run_longer_than_the_opening_hours_stays_open(env: dict[str, str]) -> None:
    """Six calls about 14 hours apart in all (seed 1) from 09:00: past the 20:00 closing."""
    args = ["simulate", "--calls", "6", "--rate", "0.0001", "--agents", "1", "--aht", "30"]
    res = CliRunner().invoke(
        main, [*args, "--senior-share", "0.5", "--seed", "1", "--json"], env=env
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.splitlines()[-1])["classes"]["all"]["answered"] == 6


@pytest.mark.parametrize("auto_answer, expected", [(True, 0.0), (False, 3.0)])
def test_an_agent_flagged_auto_answer_answers_at_once_in_the_offline_twilio(
    env: dict[str, str],
    r: RedisClient,
    auto_answer: bool,
    expected: float,
) -> None:
    engine = Engine(r, FixedClock(T0), load_settings({"redis.url": env["REDIS_URL"]}))
    engine.directory.save(Customer("c9", "欧阳奶奶", date(1940, 2, 29), "cantonese", (GRANNY,)))
    engine.agents.save(
        Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",), auto_answer)
    )
    args = ["call", GRANNY, "--patience", "60", "--json", "--answer-after", "3"]
    # the classic path, whose <Dial> transcript reads "ringing client:a01" on the caller's leg
    # (the conference path's auto-answer is tests/scenarios/test_time_to_human.py's)
    res = CliRunner().invoke(main, args, env={**env, "SILVERLINE__IVR__CONNECT": "dial"})
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.splitlines()[-1])
    assert "ringing client:a01" in [line["text"] for line in out["transcript"]]
    assert _ring_to_answer(out) == pytest.approx(expected)
