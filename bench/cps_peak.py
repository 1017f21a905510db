"""What the account's calls per second cost seniors at a peak: 3 calls a second through the
whole app on the virtual clock, with enough agents, on an account of 1 CPS (Twilio's default,
which the offline Twilio applies to created calls) and on an unlimited one, from one seed.

    .venv/bin/python -m bench.cps_peak [--calls 900] [--agents 220] [--rate 3]

On the conference path every answer with an agent free is a created call (the agent's leg);
at 3 arrivals a second a 1-CPS account can place one of them without a wait, and the others
are connected by <Dial> (not limited: https://www.twilio.com/docs/voice/api/call-resource).
The goal (issue 32, point 5): seniors' mean time to a human at most 1 s longer on the 1-CPS
account. Handle time 60 s (15 s wrap-up), 30 % seniors, agents answering after 3 s.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import create_app
from bench.directory import start_redis
from ivr.cli.runs import OPEN_ALL_DAY
from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import Plan, report
from routing.clock import FixedClock

START = datetime(2026, 11, 23, 1, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
WRAP_UP = 15


def run(calls: int, agents: int, rate: float, cps: float, seed: int) -> dict[str, Any]:
    """One run on a fresh Redis, the app and the offline Twilio both at `cps` (0: no limit)."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp))
        try:
            overrides = {
                "redis.url": server.url,
                "redis.socket_timeout": 10,  # a loaded machine; the default stays 0.5 s
                "routing.wrap_up_seconds": WRAP_UP,
                "twilio.calls_per_second": cps,
                **OPEN_ALL_DAY,
            }
            offline = Offline(create_app, overrides, clock=FixedClock(START), seed=seed)
            offline.sim.calls_per_second = cps
            plan = Plan(calls, rate, agents, 0.3, aht_s=60.0 - WRAP_UP, patience_s=300.0,
                        seed=seed, answer_delay_s=(3.0, 3.0), wrap_up_s=WRAP_UP)  # fmt: skip
            began = time.perf_counter()
            outcomes = simulate(offline, plan)
            wall = time.perf_counter() - began
            legs = [x for x in offline.sim.legs.values() if x.direction == "outbound-api"]
        finally:
            server.stop()
    classes = report(outcomes, plan.sl_seconds)["classes"]
    return {
        "cps": cps,
        "wall_s": round(wall, 1),
        "seniors": _tth(classes["senior"]),
        "others": _tth(classes["other"]),
        "agent_legs_created": len(legs),
    }


def _tth(figures: dict[str, Any]) -> dict[str, Any]:
    keys = ("offered", "answered", "abandoned", "time_to_human_s", "time_to_human_p90_s")
    return {k: figures.get(k) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=900)
    parser.add_argument("--agents", type=int, default=220)
    parser.add_argument("--rate", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    unlimited = run(args.calls, args.agents, args.rate, 0.0, args.seed)
    limited = run(args.calls, args.agents, args.rate, 1.0, args.seed)
    before, after = (
        unlimited["seniors"]["time_to_human_s"],
        limited["seniors"]["time_to_human_s"],
    )
    delta = None if before is None or after is None else round(after - before, 2)
    print(json.dumps({"unlimited": unlimited, "one_cps": limited, "seniors_tth_delta_s": delta},
                     ensure_ascii=False, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
