"""`silverline agents add|list|remove|set-state` and the demo team, against the test Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app import cli as main
from ivr.settings import load_settings
from routing.callers.caller import Caller
from routing.clock import SystemClock
from routing.demo import seed_agents
from routing.engine import Engine
from routing.governance.users import Users
from routing.queues.agents import Agent
from routing.queues.router import Offer
from routing.store import RedisClient
from tests.cli.conftest import run


@pytest.fixture
def eng(r: RedisClient) -> Engine:
    """The engine the CLI sees (same store, same key prefix)."""
    return Engine(r, SystemClock(), load_settings())


def test_add_then_list(runner: CliRunner, eng: Engine) -> None:
    out = run(
        runner,
        *("agents", "add", "a01", "--name", "王丽", "--skill", "senior,claims"),
        *("--dialect", "cantonese", "--dialect", "mandarin", "--contact", "13800138000"),
    )
    assert out.startswith("added a01")
    assert eng.agents.get("a01") == Agent(
        "a01", "王丽", "+8613800138000", frozenset({"senior", "claims"}), ("cantonese", "mandarin")
    )
    run(runner, "agents", "add", "a02", "--name", "Li")
    assert eng.agents.get("a02") == Agent("a02", "Li", "client:a02", frozenset(), ("mandarin",))
    listed = run(runner, "agents", "list").splitlines()
    assert len(listed) == 2
    assert "a01" in listed[0] and "skills=claims,senior" in listed[0]
    assert "dialects=cantonese,mandarin" in listed[0] and "offline since" in listed[0]


def test_add_refuses_bad_input_and_an_existing_id_without_update(
    runner: CliRunner, eng: Engine
) -> None:
    bad = [
        ["--name", "X", "--skill", "cooking"],
        ["--name", "X", "--dialect", "klingon"],
        ["--name", "X", "--contact", "12"],
        ["--name", " "],
    ]
    for extra in bad:
        result = runner.invoke(main, ["agents", "add", "a01", *extra])
        assert result.exit_code != 0, extra
    result = runner.invoke(main, ["agents", "add", "A 1", "--name", "X"])
    assert result.exit_code == 1 and "slug" in result.output
    assert eng.agents.all() == []
    run(runner, "agents", "add", "a01", "--name", "X")
    again = runner.invoke(main, ["agents", "add", "a01", "--name", "Y"])
    assert again.exit_code == 1 and "--update" in again.output
    assert run(runner, "agents", "add", "a01", "--name", "Y", "--update").startswith("updated")
    agent = eng.agents.get("a01")
    assert agent is not None and agent.name == "Y"


def test_set_state_and_remove(runner: CliRunner, eng: Engine) -> None:
    run(runner, "agents", "add", "a01", "--name", "X", "--skill", "senior")
    assert run(runner, "agents", "set-state", "a01", "available").startswith("a01 is available")
    assert eng.agents.state("a01").state == "available"
    run(runner, "agents", "set-state", "a01", "away")
    assert eng.agents.state("a01").state == "away"
    run(runner, "agents", "set-state", "a01", "ready")
    assert eng.agents.state("a01").state == "available"
    missing = runner.invoke(main, ["agents", "set-state", "zz", "available"])
    assert missing.exit_code == 1 and "no agent 'zz'" in missing.output
    wrong = runner.invoke(main, ["agents", "set-state", "a01", "on_call"])
    assert wrong.exit_code == 2
    assert run(runner, "agents", "remove", "a01") == "removed a01\n"
    assert eng.agents.get("a01") is None
    gone = runner.invoke(main, ["agents", "remove", "a01"])
    assert gone.exit_code == 1 and "no agent" in gone.output


def test_set_state_available_offers_a_waiting_caller(runner: CliRunner, eng: Engine) -> None:
    run(runner, "agents", "add", "a01", "--name", "X", "--skill", "senior")
    senior = Caller("+8613800000001", "+8613800000001", None, 72, "mandarin", True)
    eng.router.arrive("CA" + "1" * 32, senior, "senior")
    out = run(runner, "agents", "set-state", "a01", "available")
    assert "a01 is offered" in out and "senior queue" in out
    status = eng.agents.state("a01")
    assert (status.state, status.call_sid) == ("offered", "CA" + "1" * 32)
    # busy agents leave after the call, not during it
    assert "then away after the call" in run(runner, "agents", "set-state", "a01", "away")


def test_set_state_needs_no_page_secret_outside_demo_mode(
    runner: CliRunner, eng: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(runner, "agents", "add", "a01", "--name", "X")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "a-real-token")  # and no SILVERLINE_SECRET_KEY
    monkeypatch.delenv("SILVERLINE_SECRET_KEY", raising=False)
    assert run(runner, "agents", "set-state", "a01", "available") == "a01 is available\n"


def test_demo_seed_adds_a_realistic_team_and_their_sign_ins(
    runner: CliRunner, eng: Engine, tmp_path: Path
) -> None:
    out = run(runner, "demo", "seed", "--count", "5")
    team = eng.agents.all()
    assert len(team) >= 10
    seniors = [a for a in team if a.senior_trained]
    assert 3 <= len(seniors) < len(team)
    assert any("cantonese" in a.dialects for a in seniors)
    assert {"shanghainese", "sichuanese", "minnan", "english"} <= {
        d for a in team for d in a.dialects
    }
    assert all(eng.agents.state(a.id).state == "offline" for a in team)
    users = Users(eng.redis, eng.clock, eng.keys, 5)
    by_name = {u.name: u for u in users.all()}
    assert by_name["supervisor"].role == "supervisor"
    assert {by_name[a.id].agent_id for a in team} == {a.id for a in team}
    sign_ins = out.split("demo users")[1].splitlines()
    password = next(ln.split()[1] for ln in sign_ins if ln.split()[:1] == ["a01"])
    assert by_name["a01"].check(password)
    # a second seed keeps the passwords it printed, and the agents' states
    eng.router.set_agent_state("a01", "available")
    again = run(runner, "demo", "seed", "--count", "5")
    assert f"a01          {password}" in again
    assert eng.agents.state("a01").state == "available"


def test_demo_team_serves_a_cantonese_senior_in_cantonese(eng: Engine) -> None:
    for agent in seed_agents(eng.agents):
        eng.router.set_agent_state(agent.id, "available")
    caller = Caller("+8613902200060", "+8613902200060", None, 72, "cantonese", True)
    offer = eng.router.arrive("CA" + "2" * 32, caller, "senior")
    assert isinstance(offer, Offer)
    assert offer.agent.senior_trained and "cantonese" in offer.agent.dialects


def test_add_with_auto_answer_is_kept_and_listed(runner: CliRunner, eng: Engine) -> None:
    run(runner, "agents", "add", "a07", "--name", "Zhou", "--auto-answer")
    assert eng.agents.get("a07") == Agent(
        "a07", "Zhou", "client:a07", frozenset(), ("mandarin",), auto_answer=True
    )
    assert "auto-answer" in run(runner, "agents", "list")
    run(runner, "agents", "add", "a07", "--name", "Zhou", "--update")  # off unless given
    agent = eng.agents.get("a07")
    assert agent is not None and not agent.auto_answer


def test_add_refuses_a_softphone_identity_other_than_the_agents_own(
    runner: CliRunner, eng: Engine
) -> None:
    # the console's softphone registers as the agent's id: client:a01 would ring a01's phone
    result = runner.invoke(main, ["agents", "add", "a03", "--name", "X", "--contact", "client:a01"])
    assert result.exit_code != 0 and "own identity, client:a03" in result.output, result.output
    assert eng.agents.get("a03") is None
