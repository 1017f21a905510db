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
from pathlib import Path
from typing import Any

from bench.common import seniors_tth_delta
from bench.hotline_run import reference_plan, run_hotline
from ivr.simulator.offline import Offline


def run(calls: int, agents: int, rate: float, cps: float, seed: int) -> dict[str, Any]:
    """One run on a fresh Redis, the app and the offline Twilio both at `cps` (0: no limit)."""

    def account(offline: Offline, _: Path) -> None:
        offline.sim.calls_per_second = cps

    def legs(offline: Offline) -> dict[str, Any]:
        placed = [x for x in offline.sim.legs.values() if x.direction == "outbound-api"]
        return {"agent_legs_created": len(placed)}

    plan = reference_plan(calls, rate, agents, seed)
    return {"cps": cps} | run_hotline({"twilio.calls_per_second": cps}, plan, account, legs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=900)
    parser.add_argument("--agents", type=int, default=220)
    parser.add_argument("--rate", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    unlimited = run(args.calls, args.agents, args.rate, 0.0, args.seed)
    limited = run(args.calls, args.agents, args.rate, 1.0, args.seed)
    delta = seniors_tth_delta(unlimited, limited)
    print(json.dumps({"unlimited": unlimited, "one_cps": limited, "seniors_tth_delta_s": delta},
                     ensure_ascii=False, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
