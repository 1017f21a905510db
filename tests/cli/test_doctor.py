"""`silverline doctor` against the test Redis and an account on the offline Twilio."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from app import cli
from ivr.simulator.core.switch import Simulator
from routing.keys import Keys
from routing.store import RedisClient
from tests.cli.conftest import HOTLINE, run

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart

PUBLIC = "https://hotline.example"


def doctor(runner: CliRunner, exit_code: int) -> dict[str, dict[str, Any]]:
    result = runner.invoke(cli, ["doctor", "--json"])
    assert result.exit_code == exit_code, (result.output, result.exception)
    found = json.loads(result.output)
    return {c["name"]: c for c in found["checks"]}


@pytest.fixture
def set_up(
    runner: CliRunner, twilio_account: Simulator, monkeypatch: pytest.MonkeyPatch, r: RedisClient
) -> Simulator:
    """The account set up by `silverline twilio setup`, its lines exported, a ticker beating."""
    out = run(runner, "twilio", "setup", "--number", HOTLINE, "--public-url", PUBLIC)
    for name, value in re.findall(r"^export (\w+)=(\S+)$", out, re.M):
        monkeypatch.setenv(name, value)
    r.set(Keys().ticker(), int(time.time() * 1000))  # the wall's time: the doctor reads the wall
    return twilio_account


def test_every_check_has_a_status_and_a_set_up_account_has_no_failure(
    runner: CliRunner, set_up: Simulator
) -> None:
    checks = doctor(runner, 0)
    assert set(checks) >= {
        "settings", "public URL", "credentials", "clock", "number", "API key", "redis",
        "redis persistence", "redis eviction", "redis hashes", "ticker", "hours", "dialects",
        "fallback line", "agents",
    }  # fmt: skip
    assert {c["status"] for c in checks.values()} <= {"ok", "warn"}
    assert checks["number"]["status"] == "ok" and checks["API key"]["status"] == "ok"
    assert checks["credentials"]["detail"] == "account 'Offline Twilio' is active"
    # the session's test server runs without an append-only file, with default hash settings
    assert checks["redis persistence"]["status"] == "warn"
    assert checks["hours"]["detail"].startswith(("open now", "closed now; opens"))


def test_a_number_pointing_elsewhere_fails_and_names_the_command(
    runner: CliRunner, set_up: Simulator
) -> None:
    number = set_up.numbers[HOTLINE]
    set_up.numbers[HOTLINE] = type(number)("http://old.example/voice")
    checks = doctor(runner, 1)
    assert checks["number"]["status"] == "fail"
    assert "voice_url is http://old.example/voice" in checks["number"]["detail"]
    assert checks["number"]["fix"] == "run `silverline twilio setup`"


@pytest.fixture
def evicting(redis_url: str) -> Iterator[None]:
    with redis.Redis.from_url(redis_url) as server:
        server.config_set("maxmemory-policy", "allkeys-lru")
        try:
            yield
        finally:
            server.config_set("maxmemory-policy", "noeviction")


def test_an_evicting_redis_fails_its_check(
    runner: CliRunner, set_up: Simulator, evicting: None
) -> None:
    checks = doctor(runner, 1)
    assert checks["redis eviction"]["status"] == "fail"
    assert "noeviction" in checks["redis eviction"]["fix"]
    assert [n for n, c in checks.items() if c["status"] == "fail"] == ["redis eviction"]


def test_a_wrong_api_key_secret_fails_the_key_check(
    runner: CliRunner, set_up: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_API_KEY_SECRET", "x" * 32)  # a real secret's length
    assert doctor(runner, 1)["API key"]["status"] == "fail"


def test_a_silent_ticker_fails(runner: CliRunner, set_up: Simulator, r: RedisClient) -> None:
    r.set(Keys().ticker(), int(time.time() * 1000) - 60_000)
    assert doctor(runner, 1)["ticker"]["detail"] == "last beat 60 s ago"
    r.delete(Keys().ticker())
    assert doctor(runner, 1)["ticker"]["status"] == "fail"


def test_credentials_without_a_public_url_fail(
    runner: CliRunner, twilio_account: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twilio's cloud (no local api_base_url) and no SILVERLINE_PUBLIC_URL. A proxy that
    refuses keeps the test off the network: the account check fails to connect."""
    monkeypatch.delenv("SILVERLINE__TWILIO__API_BASE_URL")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    checks = doctor(runner, 1)
    failed = {n: c for n, c in checks.items() if c["status"] == "fail"}
    # start-up itself may refuse it (the settings check), or the public URL check does
    named = failed.get("public URL") or failed["settings"]
    assert "SILVERLINE_PUBLIC_URL" in named["fix"] + named["detail"]


def test_agent_share_that_rounds_to_nothing_with_the_team_is_named(
    runner: CliRunner, set_up: Simulator
) -> None:
    run(runner, "agents", "add", "a01", "--name", "A")
    check = doctor(runner, 0)["campaigns.agent_share"]
    assert check["status"] == "warn" and "rounds down to no return visit" in check["detail"]
