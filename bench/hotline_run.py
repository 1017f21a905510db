"""One whole-app run of the reference traffic on the virtual clock, on a Redis of its own: what
the benchmarks that compare two configurations of the hotline share (bench.cps_peak,
bench.visits)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import create_app
from bench.common import tth_figures
from bench.directory import start_redis
from ivr.cli.runs import OPEN_ALL_DAY
from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import Plan, report
from routing.clock import FixedClock

START = datetime(2026, 11, 23, 1, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
WRAP_UP = 15


def reference_plan(calls: int, rate: float, agents: int, seed: int) -> Plan:
    """30 % seniors, 60 s per call of which 15 s wrap-up, agents answering after 3 s."""
    return Plan(calls, rate, agents, 0.3, aht_s=60.0 - WRAP_UP, patience_s=300.0, seed=seed,
                answer_delay_s=(3.0, 3.0), wrap_up_s=WRAP_UP)  # fmt: skip


def run_hotline(
    settings: dict[str, Any],
    plan: Plan,
    setup: Callable[[Offline, Path], None] | None = None,
    measure: Callable[[Offline], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`plan` through the whole app with `settings`, after `setup`: the run's wall time, each
    class's time to a human, and what `measure` reads of the hotline (before Redis stops)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp))
        try:
            overrides = {
                "redis.url": server.url,
                "redis.socket_timeout": 10,  # a loaded machine; the default stays 0.5 s
                "routing.wrap_up_seconds": WRAP_UP,
                **settings,
                **OPEN_ALL_DAY,
            }
            offline = Offline(create_app, overrides, clock=FixedClock(START), seed=plan.seed)
            if setup is not None:
                setup(offline, Path(tmp))
            began = time.perf_counter()
            outcomes = simulate(offline, plan)
            wall = time.perf_counter() - began
            measured = measure(offline) if measure is not None else {}
        finally:
            server.stop()
    classes = report(outcomes, plan.sl_seconds)["classes"]
    figures = {
        "wall_s": round(wall, 1),
        "seniors": tth_figures(classes["senior"]),
        "others": tth_figures(classes["other"]),
    }
    return figures | measured
