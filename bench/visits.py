"""What a return-visit campaign costs inbound seniors: the reference scenario's traffic through
the whole app on the virtual clock, without and then with a campaign of 5,000 customers being
dialled progressively (docs/campaigns.md), from the same seed.

    .venv/bin/python -m bench.visits [--calls 500] [--customers 5000] [--share 0.3] [--keep-idle 0]

The reference scenario (BENCHMARKS.md, section 8): 0.1333 calls/s, 10 agents taking every
queue, 30 % seniors, handle time 60 s (15 s of it wrap-up), patience 300 s, agents answering
after 3 s, the shipped configuration otherwise. The campaign's customers answer in person
(60 %), by voicemail (20 %), busy (10 %) or not at all (10 %), after 3-15 s; the campaign
calls from 09:00 to 21:00. Reports, for each run, seniors' and others' time to a human (mean
and p90) and the visits placed; the goal (issue 23) is seniors' mean time to a human longer
by less than 0.5 s with the campaign.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import create_app
from bench.directory import start_redis
from ivr.cli.runs import OPEN_ALL_DAY
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import Plan, report
from routing.clock import FixedClock
from routing.outbound.campaigns import Campaign

START = datetime(2026, 11, 23, 1, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
WRAP_UP = 15
ANSWERS = ("person",) * 6 + ("voicemail",) * 2 + ("busy", "nobody")


def run(calls: int, customers: int, share: float, seed: int, keep_idle: int = 0) -> dict[str, Any]:
    """One run on a fresh Redis; `customers` = 0: no campaign."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp))
        try:
            overrides = {
                "redis.url": server.url,
                "redis.socket_timeout": 10,  # a loaded machine; the default stays 0.5 s
                "routing.wrap_up_seconds": WRAP_UP,
                "campaigns.agent_share": share,
                "campaigns.keep_idle": keep_idle,
                **OPEN_ALL_DAY,
            }
            offline = Offline(create_app, overrides, clock=FixedClock(START), seed=seed)
            if customers:
                _campaign(offline, customers, Path(tmp), seed)
            plan = Plan(calls, 0.1333, 10, 0.3, aht_s=60.0 - WRAP_UP, patience_s=300.0,
                        seed=seed, answer_delay_s=(3.0, 3.0), wrap_up_s=WRAP_UP)  # fmt: skip
            began = time.perf_counter()
            outcomes = simulate(offline, plan)
            wall = time.perf_counter() - began
            progress = offline.engine.campaigns.progress("bench") if customers else None
            visits = sum(1 for leg in offline.sim.legs.values() if leg.to.startswith("+86139"))
        finally:
            server.stop()
    classes = report(outcomes, plan.sl_seconds)["classes"]
    return {
        "customers": customers,
        "wall_s": round(wall, 1),
        "seniors": _tth(classes["senior"]),
        "others": _tth(classes["other"]),
        "visits_placed": visits,
        "campaign": progress,
    }


def _campaign(offline: Offline, customers: int, tmp: Path, seed: int) -> None:
    rng = random.Random(seed + 23)
    numbers = [f"+86139{n:08d}" for n in range(customers)]
    for number in numbers:
        who = VirtualCaller(number, rng, answers=rng.choice(ANSWERS))
        who.answer_delay_s = rng.uniform(3.0, 15.0)
        offline.sim.people.add_caller(who)
    path = tmp / "list.csv"
    path.write_text("number\n" + "\n".join(numbers) + "\n", encoding="utf-8")
    offline.engine.campaigns.add(Campaign("bench", "保单贷款确认", "09:00-21:00"), path)


def _tth(figures: dict[str, Any]) -> dict[str, Any]:
    keys = ("offered", "answered", "abandoned", "time_to_human_s", "time_to_human_p90_s")
    return {k: figures.get(k) for k in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--share", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep-idle", type=int, default=0)
    args = parser.parse_args()
    without = run(args.calls, 0, args.share, args.seed)
    with_campaign = run(args.calls, args.customers, args.share, args.seed, args.keep_idle)
    before, after = (
        without["seniors"]["time_to_human_s"],
        with_campaign["seniors"]["time_to_human_s"],
    )
    delta = None if before is None or after is None else round(after - before, 2)
    print(json.dumps({"without": without, "with": with_campaign, "seniors_tth_delta_s": delta},
                     ensure_ascii=False, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
