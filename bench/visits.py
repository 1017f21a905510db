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
from pathlib import Path
from typing import Any

from bench.common import seniors_tth_delta
from bench.hotline_run import reference_plan, run_hotline
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.offline import Offline
from routing.outbound.campaigns import Campaign

ANSWERS = ("person",) * 6 + ("voicemail",) * 2 + ("busy", "nobody")


def run(calls: int, customers: int, share: float, seed: int, keep_idle: int = 0) -> dict[str, Any]:
    """One run on a fresh Redis; `customers` = 0: no campaign."""

    def campaign(offline: Offline, tmp: Path) -> None:
        if customers:
            _campaign(offline, customers, tmp, seed)

    def visits(offline: Offline) -> dict[str, Any]:
        progress = offline.engine.campaigns.progress("bench") if customers else None
        placed = sum(1 for leg in offline.sim.legs.values() if leg.to.startswith("+86139"))
        return {"visits_placed": placed, "campaign": progress}

    settings = {"campaigns.agent_share": share, "campaigns.keep_idle": keep_idle}
    plan = reference_plan(calls, 0.1333, 10, seed)
    return {"customers": customers} | run_hotline(settings, plan, campaign, visits)


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
    delta = seniors_tth_delta(without, with_campaign)
    print(json.dumps({"without": without, "with": with_campaign, "seniors_tth_delta_s": delta},
                     ensure_ascii=False, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
