"""Open lines end to end on the offline Twilio: a persistent agent's leg waits in their own
room, the caller joins it with no ringing, the agent alone hears who is calling."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from app import cli as main
from ivr.settings import load_settings
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.offline import Offline
from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.store import RedisClient
from tests.conftest import T0
from tests.helpers.hotline import offline_hotline
from tests.helpers.people import DEMO_SENIOR, SENIOR


def _team(r: RedisClient, redis_url: str, persistent: bool) -> None:
    engine = Engine(r, FixedClock(T0), load_settings({"redis.url": redis_url}))
    skills = frozenset({"senior", "policy", "claims", "complaints"})
    engine.agents.save(Agent("a01", "王丽", "client:a01", skills, ("mandarin",), False, persistent))


def _call(env: dict[str, str]) -> dict[str, object]:
    res = CliRunner().invoke(main, ["call", DEMO_SENIOR, "--patience", "60", "--json"], env=env)
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


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    return offline_hotline(redis_url, clock, seed=0)


def test_a_line_dropping_as_the_caller_joins_sends_them_to_the_next_agent(
    hotline: Offline,
) -> None:
    a01 = hotline.add_agent("a01", {"senior"}, persistent=True, answer_delay_s=(1.0, 1.0))
    hotline.run(until=hotline.sim.now() + 2)
    line = hotline.engine.agents.state("a01").open_line
    assert line and hotline.engine.agents.state("a01").state == "available"
    hotline.add_agent("a02", {"senior"}, answer_delay_s=(3.0, 3.0), aht_s=20.0)
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    # the line drops while a01 hears who is calling, the caller already in a01's room
    hotline.sim.sched.call_later(0.5, hotline.sim.hang_up, line, "network")
    hotline.close_lines_after(lambda: leg.ended, every_s=1.0)
    hotline.run()
    assert not hotline.sim.faults
    assert any(x.text == "connected to client:a02" for x in leg.transcript)
    assert a01.calls == 0
    day = hotline.engine.stats.day()["all"]["senior"]
    assert (day.answered, day.abandoned) == (1, 0)
    assert hotline.engine.agents.state("a01").missed == 0
    assert leg.bridged_at is not None and leg.bridged_at - leg.created_at <= 5.0
