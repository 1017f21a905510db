"""Open lines end to end on the offline Twilio: a persistent agent's leg waits in their own
room, the caller joins it with no ringing, the agent alone hears who is calling."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app import cli as main
from ivr.settings import load_settings
from routing.agents import Agent
from routing.clock import FixedClock
from routing.engine import Engine
from routing.store import RedisClient
from tests.conftest import T0

SENIOR = "+8613800138000"


@pytest.fixture
def env(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    return {"REDIS_URL": redis_url}


def _team(r: RedisClient, redis_url: str, persistent: bool) -> None:
    engine = Engine(r, FixedClock(T0), load_settings({"redis.url": redis_url}))
    skills = frozenset({"senior", "policy", "claims", "complaints"})
    engine.agents.save(Agent("a01", "王丽", "client:a01", skills, ("mandarin",), False, persistent))


def _call(env: dict[str, str]) -> dict[str, object]:
    res = CliRunner().invoke(main, ["call", SENIOR, "--patience", "60", "--json"], env=env)
    assert res.exit_code == 0, res.output
    out: dict[str, object] = json.loads(res.output.splitlines()[-1])
    return out


def test_a_senior_hears_the_agent_on_an_open_line_in_about_a_second(
    env: dict[str, str], r: RedisClient, redis_url: str
) -> None:
    _team(r, redis_url, persistent=True)
    out = _call(env)
    assert out["errors"] == [] and out["status"] == "completed"
    tth = out["time_to_human_s"]
    # the whisper (1 s) is what the caller waits for: no ringing, no greeting
    assert isinstance(tth, float) and 0.9 <= tth <= 1.5, out
    lines = out["transcript"]
    assert isinstance(lines, list)
    texts = [(x["party"], x["kind"], x["text"]) for x in lines]
    # the caller was never rung for: no agent's leg placed for this call, only the line
    assert sum(1 for p, k, t in texts if t.startswith("ringing client:a01")) == 1
    # the agent alone heard the announcement: the caller heard no whisper
    assert ("agent", "say", "老年来电。") in texts
    assert not any(p == "caller" and t == "老年来电。" for p, _, t in texts)


def test_without_an_open_line_the_same_call_rings_the_agent(
    env: dict[str, str], r: RedisClient, redis_url: str
) -> None:
    _team(r, redis_url, persistent=False)
    out = _call(env)
    tth = out["time_to_human_s"]
    assert isinstance(tth, float) and tth >= 3.0  # the phone rang for 3 s
