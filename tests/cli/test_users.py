"""`silverline users add|list|remove|demo` against the test Redis."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import cli as main
from ivr.runtime.demo import seed_demo
from ivr.runtime.server import banner
from ivr.settings import load_settings
from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance.users import Users
from routing.keys import Keys
from routing.queues.agents import Agent, Agents
from routing.queues.routing_script import RoutingLua, RoutingScript
from routing.store import RedisClient, connect


@pytest.fixture
def store(r: RedisClient, clock: FixedClock) -> Users:
    return Users(r, clock, Keys(load_settings().redis.key_prefix), 5)


@pytest.fixture
def agent(r: RedisClient, clock: FixedClock) -> Agent:
    settings = load_settings()
    found = Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))
    keys = Keys(settings.redis.key_prefix)
    Agents(r, clock, settings, keys, RoutingScript(r, RoutingLua(settings, keys))).save(found)
    return found


@pytest.mark.real_password_hashing
def test_a_password_is_kept_as_the_apps_scrypt_hash_and_checked_against_it(
    runner: CliRunner, store: Users, r: RedisClient
) -> None:
    result = runner.invoke(
        main, ["users", "add", "sue", "--role", "supervisor", "--password", "long-enough-1"]
    )
    assert result.exit_code == 0, result.output
    [kept] = [v for k, v in r.hgetall(store.keys.user("sue")).items() if "$" in v]
    assert kept.startswith("scrypt:32768:8:1$")  # werkzeug's default: N = 2**15
    assert "long-enough-1" not in kept
    assert store.sign_in("sue", "long-enough-1", "127.0.0.1").user is not None
    assert store.sign_in("sue", "long-enough-2", "127.0.0.1").user is None


def test_add_supervisor_then_sign_in(runner: CliRunner, store: Users) -> None:
    result = runner.invoke(
        main, ["users", "add", "Sue", "--role", "supervisor", "--password", "long-enough-1"]
    )
    assert result.exit_code == 0, result.output
    assert "added supervisor sue" in result.output
    signed = store.sign_in("sue", "long-enough-1", "127.0.0.1")
    assert signed.user is not None and signed.user.role == "supervisor"


def test_add_prompts_for_the_password(runner: CliRunner, store: Users) -> None:
    result = runner.invoke(
        main, ["users", "add", "sue", "--role", "supervisor"], input="pass-word-9\npass-word-9\n"
    )
    assert result.exit_code == 0, result.output
    assert "pass-word-9" not in result.output  # typed, never echoed
    assert store.sign_in("sue", "pass-word-9", "x").user is not None


def test_add_generate_prints_a_working_password(runner: CliRunner, store: Users) -> None:
    result = runner.invoke(main, ["users", "add", "sue", "--role", "supervisor", "--generate"])
    assert result.exit_code == 0, result.output
    password = result.output.split("password: ")[1].strip()
    assert store.sign_in("sue", password, "x").user is not None


def test_agent_user_must_name_an_existing_agent(runner: CliRunner, agent: Agent) -> None:
    missing = runner.invoke(
        main, ["users", "add", "bob", "--role", "agent", "--agent", "a99", "--generate"]
    )
    assert missing.exit_code == 1
    assert "no agent 'a99'" in missing.output
    ok = runner.invoke(main, ["users", "add", "a01", "--role", "agent", "--generate"])
    assert ok.exit_code == 0, ok.output
    assert "added agent a01 (agent a01)" in ok.output


def test_short_password_and_duplicate_are_refused(runner: CliRunner) -> None:
    short = runner.invoke(main, ["users", "add", "sue", "--role", "supervisor", "--password", "x"])
    assert short.exit_code == 1 and "at least 8" in short.output
    args = ["users", "add", "sue", "--role", "supervisor", "--password", "long-enough-1"]
    assert runner.invoke(main, args).exit_code == 0
    again = runner.invoke(main, args)
    assert again.exit_code == 1 and "already exists" in again.output


def test_list_and_remove(runner: CliRunner, store: Users, agent: Agent) -> None:
    store.add("sue", "long-enough-1", "supervisor")
    store.add("a01", "long-enough-1", "agent", "a01")
    listed = runner.invoke(main, ["users", "list"])
    lines = listed.output.splitlines()
    assert lines[0].split() == ["a01", "agent", "a01"]
    assert lines[1].split() == ["sue", "supervisor", "-"]
    assert runner.invoke(main, ["users", "remove", "SUE"]).exit_code == 0
    assert store.get("sue") is None
    gone = runner.invoke(main, ["users", "remove", "sue"])
    assert gone.exit_code == 1 and "no user 'sue'" in gone.output


def test_demo_seeds_and_keeps_printed_passwords(
    runner: CliRunner, store: Users, agent: Agent, tmp_path: Path
) -> None:
    path = tmp_path / "demo_users.json"
    first = runner.invoke(main, ["users", "demo", "--file", str(path)])
    assert first.exit_code == 0, first.output
    saved = json.loads(path.read_text())
    assert set(saved) == {"supervisor", "a01"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for name, password in saved.items():
        assert f"{name:<12} {password}" in first.output
        assert store.sign_in(name, password, "x").user is not None
    second = runner.invoke(main, ["users", "demo", "--file", str(path)])
    assert json.loads(path.read_text()) == saved
    assert second.exit_code == 0


def test_seed_demo_fills_an_empty_store_once_and_keeps_passwords(
    redis_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    settings = load_settings({"redis.url": redis_url})
    engine = Engine(connect(redis_url), clock, settings)
    path = tmp_path / "demo.json"
    first = seed_demo(engine, path)
    team = engine.agents.all()
    assert len(team) >= 2 and "supervisor" in first
    assert set(first) == {"supervisor", *(a.id for a in team)}
    assert seed_demo(engine, path) == first
    text = banner(settings, "http://127.0.0.1:5000", first)
    assert "http://127.0.0.1:5000/supervisor" in text and "http://127.0.0.1:5000/agent" in text
    assert f"supervisor   {first['supervisor']}" in text
    assert "agents set-state a01 available" in text  # nobody answers until an agent is
