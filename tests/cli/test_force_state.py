"""`silverline agents set-state ID STATE --force` and `agents forced`, against the test Redis."""

from __future__ import annotations

import os
import pwd

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

CALLER = Caller("", "+8613800138035", None, 35, "mandarin", False)
ME = pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def eng(r: RedisClient) -> Engine:
    """The engine the CLI sees (same store, same key prefix), with one agent available."""
    engine = Engine(r, SystemClock(), load_settings())
    engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset(), ("mandarin",)))
    engine.router.set_agent_state("a01", "available")
    return engine


def test_force_closes_a_lost_call_and_records_the_os_user(runner: CliRunner, eng: Engine) -> None:
    eng.router.arrive("CA1", CALLER, "general")
    eng.router.answered("CA1", "a01")
    without = run(runner, "agents", "set-state", "a01", "available")
    assert without == "a01 is on_call (then available after the call; --force ends it now)\n"

    out = run(runner, "agents", "set-state", "a01", "available", "--force")

    assert out.splitlines() == [
        f"a01 forced from on_call to available by {ME}; call CA1 was closed as completed",
        "a01 is available",
    ]
    info = eng.router.call("CA1")
    assert info is not None and info.state == "done"
    [change] = eng.router.forced_changes()
    assert (change.by, change.via, change.agent_id, change.ended) == (ME, "cli", "a01", "call")


def test_force_puts_an_offered_caller_back_in_line(runner: CliRunner, eng: Engine) -> None:
    assert isinstance(eng.router.arrive("CA1", CALLER, "general"), Offer)
    out = run(runner, "agents", "set-state", "a01", "away", "--force")
    assert out.splitlines() == [
        f"a01 forced from offered to away by {ME}; caller CA1 went back to their place in line",
        "a01 is away",
    ]
    info = eng.router.call("CA1")
    assert info is not None and (info.state, info.agent_id) == ("waiting", "")


def test_who_is_the_login_of_the_uid_not_what_the_environment_says(
    runner: CliRunner, eng: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("USER", "LOGNAME", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "someone-else")
    run(runner, "agents", "set-state", "a01", "ready", "--force")
    assert [c.by for c in eng.router.forced_changes()] == [ME]
    assert ME != "someone-else"


def test_force_refuses_an_unknown_agent_or_state(runner: CliRunner, eng: Engine) -> None:
    missing = runner.invoke(main, ["agents", "set-state", "zz", "away", "--force"])
    assert missing.exit_code == 1 and "no agent 'zz'" in missing.output
    wrong = runner.invoke(main, ["agents", "set-state", "a01", "on_call", "--force"])
    assert wrong.exit_code == 2
    assert eng.router.forced_changes() == []


def test_forced_lists_the_newest_first(runner: CliRunner, eng: Engine) -> None:
    assert run(runner, "agents", "forced") == "no forced state changes\n"
    eng.router.arrive("CA1", CALLER, "general")
    eng.router.answered("CA1", "a01")
    eng.router.force_agent_state("a01", "offline", "sue", "web")
    run(runner, "agents", "set-state", "a01", "away", "--force")
    lines = run(runner, "agents", "forced").splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(f"a01      offline -> away  by {ME} (cli)")
    assert lines[1].endswith("a01      on_call -> offline  by sue (web)  ended call CA1")
    assert len(run(runner, "agents", "forced", "--limit", "1").splitlines()) == 1
    assert runner.invoke(main, ["agents", "forced", "--limit", "0"]).exit_code == 2
