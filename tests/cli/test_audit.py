"""What the command line records in the audit trail, and `silverline audit` reading it."""

from __future__ import annotations

import json
import os
import pwd
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from app import cli as main
from ivr.settings import load_settings
from routing.clock import FixedClock, SystemClock
from routing.engine import Engine
from routing.store import RedisClient
from tests.cli.conftest import run

ME = pwd.getpwuid(os.geteuid()).pw_name


@pytest.fixture
def eng(r: RedisClient) -> Engine:
    return Engine(r, SystemClock(), load_settings())


def test_user_and_agent_changes_are_recorded_as_the_os_user(runner: CliRunner, eng: Engine) -> None:
    run(runner, "agents", "add", "a07", "--name", "赵强", "--skill", "senior")
    run(runner, "users", "add", "a07", "--role", "agent", "--password", "long-enough-1")
    run(runner, "agents", "set-state", "a07", "away")
    run(runner, "agents", "set-state", "a07", "offline", "--force")
    run(runner, "users", "remove", "a07")
    run(runner, "agents", "remove", "a07")
    entries = eng.audit.entries()
    assert [(e.action, e.target) for e in entries] == [
        ("agent_removed", "a07"),
        ("user_removed", "a07"),
        ("agent_state_forced", "a07"),
        ("agent_state_set", "a07"),
        ("user_added", "a07"),
        ("agent_saved", "a07"),
    ]
    assert {(e.by, e.via, e.address) for e in entries} == {(ME, "cli", "local")}
    assert entries[2].detail["to_state"] == "offline"
    assert entries[4].detail == {"role": "agent", "agent_id": "a07"}
    assert "long-enough-1" not in json.dumps([e.as_dict() for e in entries])


def test_audit_prints_lines_or_json_and_filters_by_since(runner: CliRunner, r: RedisClient) -> None:
    now = datetime.now(UTC)
    clock = FixedClock(now - timedelta(days=2))
    past = Engine(r, clock, load_settings())
    past.audit.record("sign_in_failed", "mallory", "web", "203.0.113.9", throttled=True)
    clock.set(now)
    past.audit.record("export", "sue", "web", "10.0.0.7", "silverline-all.csv")

    lines = run(runner, "audit").splitlines()
    assert len(lines) == 2
    assert "export" in lines[0] and "sue" in lines[0] and "10.0.0.7" in lines[0]
    assert "mallory" in lines[1] and "throttled=True" in lines[1]

    since = (now - timedelta(days=1)).isoformat()
    as_json = json.loads(run(runner, "audit", "--since", since, "--json"))
    assert [e["action"] for e in as_json] == ["export"]
    assert as_json[0]["address"] == "10.0.0.7" and as_json[0]["target"] == "silverline-all.csv"


def test_a_bad_since_is_refused(runner: CliRunner) -> None:
    result = runner.invoke(main, ["audit", "--since", "last week"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output
