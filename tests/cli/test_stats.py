"""`silverline stats`: the day's figures per queue, per agent and per dialect."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app import cli as main
from ivr.settings import load_settings
from routing.callers.caller import Caller
from routing.clock import SystemClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.queues.router import Offer
from routing.store import RedisClient
from tests.cli.conftest import run


@pytest.fixture
def eng(r: RedisClient) -> Engine:
    """On the wall clock, as the command is: what it counts lands on the command's today."""
    return Engine(r, SystemClock(), load_settings())


def answered_senior(eng: Engine) -> None:
    agent = Agent("a01", "王芳", "client:a01", frozenset({"senior"}), ("mandarin", "cantonese"))
    eng.agents.save(agent)
    eng.router.set_agent_state("a01", "available")
    senior = Caller("陈伯", "+8613800138000", None, 75, "cantonese", True)
    offer = eng.router.arrive("CA1", senior, "senior")
    assert isinstance(offer, Offer)
    eng.router.answered("CA1", "a01")
    eng.router.connected("CA1", "a01")
    eng.router.dial_result("CA1", "a01", "completed", 60)


def test_stats_json_has_the_queue_the_agent_and_the_dialect(runner: CliRunner, eng: Engine) -> None:
    answered_senior(eng)
    out = json.loads(run(runner, "stats", "--json"))
    assert out["start"] == out["end"] == eng.stats.today().isoformat()
    assert out["queues"]["senior"]["senior"]["answered"] == 1
    assert out["queues"]["general"]["all"]["offered"] == 0
    [agent] = out["agents"]
    assert (agent["agent"], agent["name"], agent["answered"], agent["seniors_answered"]) == (
        "a01", "王芳", 1, 1,
    )  # fmt: skip
    [dialect] = out["dialects"]
    assert (dialect["dialect"], dialect["answered_in_dialect"]) == ("cantonese", 1)


def test_stats_prints_tables_and_refuses_a_backward_range(runner: CliRunner, eng: Engine) -> None:
    answered_senior(eng)
    text = run(runner, "stats")
    assert "a01" in text and "王芳" in text and "cantonese" in text
    bad = runner.invoke(main, ["stats", "--from", "2026-11-02", "--to", "2026-11-01"])
    assert bad.exit_code == 2 and "--to must not be before --from" in bad.output
