"""`silverline simulate --json`: calls placed = calls accounted for, whether the run honours
business hours, and callers who hang up in the menu (issue 21, point 10)."""

from __future__ import annotations

import json
from typing import Any

from click.testing import CliRunner

from app import cli as main
from ivr.simulator.accounting import PATHS
from routing.store import RedisClient


def run(env: dict[str, str], *extra: str) -> dict[str, Any]:
    args = ["simulate", "--agents", "3", "--senior-share", "0.4", "--aht", "60", "--json"]
    res = CliRunner().invoke(main, [*args, *extra], env=env)
    assert res.exit_code == 0, res.output
    found: dict[str, Any] = json.loads(res.output.splitlines()[-1])
    return found


def check_accounted(out: dict[str, Any], placed: int) -> dict[str, int]:
    calls = out["calls"]
    assert calls["placed"] == calls["accounted"] == placed
    assert sum(calls["paths"].values()) == placed and set(calls["paths"]) == set(PATHS)
    offered = sum(calls["paths"][p] for p in ("agent", "abandoned_queue", "callback"))
    assert out["classes"]["all"]["offered"] == offered
    for klass in ("senior", "other"):
        assert out["classes"][klass]["offered"] == sum(
            calls["by_class"][klass][p] for p in ("agent", "abandoned_queue", "callback")
        )
    paths: dict[str, int] = calls["paths"]
    return paths


def test_a_run_past_closing_time_counts_the_after_hours_callers(
    env: dict[str, str], r: RedisClient
) -> None:
    # 40 calls 25 minutes apart on average from 09:00: about a third arrive after 20:00
    out = run(env, "--calls", "40", "--rate", str(1 / 1500), "--seed", "3", "--business-hours")
    assert out["business_hours"]["honoured"] is True
    assert (out["business_hours"]["open"], out["business_hours"]["close"]) == ("08:00", "20:00")
    paths = check_accounted(out, 40)
    after = paths["after_hours_duty"] + paths["booked_callback"]
    assert after >= 5, paths  # seniors booked a call-back, others pressed 0: the duty line
    assert paths["booked_callback"] >= 1 and paths["after_hours_duty"] >= 1, paths
    assert out["classes"]["all"]["offered"] == 40 - after
    assert r.dbsize() == 0


def test_by_default_a_run_is_open_round_the_clock_and_says_so(
    env: dict[str, str], r: RedisClient
) -> None:
    out = run(env, "--calls", "40", "--rate", str(1 / 1500), "--seed", "3")
    assert out["business_hours"]["honoured"] is False
    paths = check_accounted(out, 40)
    assert paths["agent"] + paths["abandoned_queue"] == 40


def test_callers_whose_patience_runs_from_the_start_may_hang_up_in_the_menu(
    env: dict[str, str], r: RedisClient
) -> None:
    extra = ["--calls", "60", "--rate", "0.2", "--patience", "4", "--seed", "5"]
    out = run(env, *extra, "--patience-from", "start")
    paths = check_accounted(out, 60)
    assert paths["abandoned_ivr"] >= 5, paths
    queued = run(env, *extra)  # patience in the queue: nobody hangs up in the menu
    assert check_accounted(queued, 60)["abandoned_ivr"] == 0


def test_a_run_longer_than_a_day_reports_every_call(env: dict[str, str], r: RedisClient) -> None:
    # 200 calls at one per 667 s: about 37 virtual hours (issue 31, point 4). The engine
    # forgets a call's record a day after its last change; the run's figures must not.
    out = run(env, "--calls", "200", "--rate", "0.0015", "--seed", "11", "--answer-after", "0")
    paths = check_accounted(out, 200)
    assert paths["agent"] == 200, paths  # patience without end: everyone reached an agent
    every = out["classes"]["all"]
    assert every["offered"] == every["answered"] == 200
    assert out["classes"]["senior"]["offered"] + out["classes"]["other"]["offered"] == 200
    assert r.dbsize() == 0
