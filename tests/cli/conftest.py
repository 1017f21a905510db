"""Command-line tests' helpers, defined once: a runner on the test Redis, and `run`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from app import cli


@pytest.fixture
def runner(redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    """Commands on the test Redis; `demo seed` and `users demo` keep the passwords they print
    in a temporary file, not in the real var/."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    # A command may wait 5 s for Redis, not the webhook's 0.5 s: on a loaded two-core machine a
    # routing call has taken longer, and these tests check what commands do, not latency.
    monkeypatch.setenv("SILVERLINE__REDIS__SOCKET_TIMEOUT", "5")
    monkeypatch.setattr("ivr.runtime.demo.DEMO_FILE", tmp_path / "demo_users.json")
    return CliRunner()


def run(runner: CliRunner, *args: str) -> str:
    """Run `silverline ARGS...`; it must succeed. Returns what it printed."""
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output
