"""A whole call's cost: every webhook of typical calls, driven by the simulator, live server.

    .venv/bin/python -m bench.call [--calls 300] [--agents 4] [--rounds 3]

Starts a redis-server and Silverline under gunicorn with the production settings
(bench/target.py; wrap-up 0 so agents take the next call at once), registers `--agents` agents
(every queue, every dialect) and gives each a simulator phone. The offline Twilio simulator
(ivr/simulator) then places `--calls` calls over real HTTP (HttpTransport): 30% seniors in the
directory (straight to a senior agent), the rest press the agent key at the menu. Calls arrive
at 80% of what the agents can take (mean talk 60 s), so some callers wait in the queue and poll
the wait URL. Every webhook the server receives is Twilio's: incoming, menu, wait polls, the
dial and its whisper, the dial action, the enqueue action and the status callback. The
simulator runs on virtual time: it never sleeps, so the figure is what one simulator thread
gets out of the server. Reports webhooks per call by kind, webhooks/s, calls/s, and the
server's CPU per webhook and per call (from /proc of the gunicorn processes).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import median
from bench.directory import start_redis
from bench.http import start_server
from dialects.packs import default_packs
from ivr.simulator.core.people import Caller
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import HttpTransport, Reply
from ivr.simulator.traffic import Plan, Population, arrivals, caller_for
from routing.agents import Agent
from routing.clock import FixedClock, SystemClock
from routing.engine import Engine
from routing.settings import load_settings
from routing.store import connect


class Counting:
    """HttpTransport that counts webhooks by path."""

    def __init__(self) -> None:
        self.inner = HttpTransport()
        self.paths: Counter[str] = Counter()
        self.errors = 0

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        reply = self.inner.send(method, url, form, headers)
        self.paths[urlsplit(url).path.rsplit("/", 1)[-1]] += 1
        self.errors += reply.status >= 400
        return reply


def one(url: str, calls: int, agents: int, seed: int) -> dict[str, object]:
    server = start_server("silverline", url, json.dumps({"routing.wrap_up_seconds": 0}))
    try:
        settings = load_settings({"redis.url": url, "routing.wrap_up_seconds": 0})
        eng = Engine(connect(url), SystemClock(), settings)
        sim = Simulator(clock=FixedClock(datetime.now(UTC)), speed=None, seed=seed,
                        auth_token=settings.secrets.auth_token,
                        account_sid=settings.secrets.account_sid)  # fmt: skip
        transport = Counting()
        sim.connect(transport)
        number = settings.twilio.caller_id
        base = server.base
        sim.add_number(number, f"{base}/voice/incoming", status_callback=f"{base}/voice/status",
                       fallback_url=f"{base}/voice/fallback")  # fmt: skip
        skills = frozenset({"senior", "complaints"} | {t.queue for t in settings.ivr.topics})
        rate = 0.8 * agents / 60.0  # 80% occupancy at a 60 s mean talk time
        plan = Plan(calls, rate=rate, agents=agents, senior_share=0.3, aht_s=60.0, seed=seed,
                    answer_delay_s=(1.0, 4.0))  # fmt: skip
        for n in range(agents):
            agent_id = f"b{seed}x{n:03d}"
            eng.agents.save(Agent(agent_id, f"Bench {n}", f"client:{agent_id}", skills,
                                  default_packs().codes))  # fmt: skip
            eng.router.set_agent_state(agent_id, "available")
            sim.people.add_agent(f"client:{agent_id}", aht_s=plan.aht_s,
                                 answer_delay_s=plan.answer_delay_s)  # fmt: skip
        population = Population(random.Random(seed + 2))
        agent_key = settings.ivr.agent_key

        def callers(i: int, rng: random.Random) -> Caller:
            caller = caller_for(i + seed * 100_000, rng, plan, population, agent_key)
            if caller.senior:
                eng.directory.save(population.seniors[-1])
            return caller

        legs: list[tuple[object, str]] = []
        sim.sched.spawn(
            arrivals(sim, plan, lambda c: sim.place_call(c, number), callers, legs)  # type: ignore[arg-type]
        )
        cpu0 = server.cpu_seconds()
        start = time.perf_counter()
        sim.run()
        wall = time.perf_counter() - start
        cpu = server.cpu_seconds() - cpu0
    finally:
        server.stop()
    hooks = sum(transport.paths.values())
    done = sum(1 for leg, _ in legs if getattr(leg, "status", "") == "completed")
    return {
        "calls": calls,
        "completed": done,
        "webhooks": hooks,
        "by_kind": dict(transport.paths),
        "errors": transport.errors,
        "faults": len(sim.faults),
        "wall_s": wall,
        "webhooks_per_s": hooks / wall,
        "calls_per_s": calls / wall,
        "server_cpu_s": cpu,
        "cpu_us_per_webhook": cpu / hooks * 1e6,
        "cpu_ms_per_call": cpu / calls * 1000,
    }


def measure(calls: int, agents: int, rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_redis(Path(tmp))
        try:
            runs = [one(url, calls, agents, seed) for seed in range(1, rounds + 1)]
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    keys = ["webhooks_per_s", "calls_per_s", "cpu_us_per_webhook", "cpu_ms_per_call"]
    med = {k: median([float(r[k]) for r in runs]) for k in keys}  # type: ignore[arg-type]
    med["webhooks_per_call"] = median([r["webhooks"] / r["calls"] for r in runs])  # type: ignore[operator]
    return {"runs": runs, "median": med}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    f = measure(args.calls, args.agents, args.rounds)
    for run in f["runs"]:  # type: ignore[attr-defined]
        print(json.dumps(run))
    m = f["median"]
    print(
        f"median of {args.rounds}: {m['webhooks_per_call']:.1f} webhooks/call, "  # type: ignore[index]
        f"{m['webhooks_per_s']:.0f} webhooks/s, {m['calls_per_s']:.1f} calls/s (one simulator "  # type: ignore[index]
        f"thread), server CPU {m['cpu_us_per_webhook']:.0f} us/webhook, "  # type: ignore[index]
        f"{m['cpu_ms_per_call']:.1f} ms/call"  # type: ignore[index]
    )


if __name__ == "__main__":
    main()
