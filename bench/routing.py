"""Routing stays flat: decisions per second and p99 at 10, 1,000 and 10,000 agents.

    .venv/bin/python -m bench.routing [--agents 10,1000,10000] [--waiting 1000] [--decisions 2000]

For each size, against a fresh redis-server: N agents (every queue's skill, half of them
senior-trained, Mandarin and Cantonese) sign in, N general callers (whom every agent may take)
arrive and are answered, so every agent is busy, then 1,000 more callers arrive and wait (30%
seniors). Then, `--decisions` times, on the virtual clock: an agent's call ends
(`Router.dial_result`) and the engine hands out the next assignment (`Router.tick`), which
picks among the 1,000 waiting callers; the agent answers; a new caller arrives
(`Router.arrive`) and is queued, so 1,000 keep waiting. Timed, one client over loopback: the
freed agent's decision (dial_result + tick) and the arrival.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import deque
from pathlib import Path

from bench.common import median, percentile
from bench.directory import NOW, start_redis
from routing.agents import Agent
from routing.caller import Caller
from routing.clock import FixedClock
from routing.engine import Engine
from routing.router import Offer
from routing.settings import load_settings
from routing.store import connect


def measure(agents: int, waiting: int, decisions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_redis(Path(tmp))
        try:
            return _run(url, agents, waiting, decisions)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def _run(url: str, n_agents: int, waiting: int, decisions: int) -> dict[str, float]:
    settings = load_settings({"redis.url": url, "routing.wrap_up_seconds": 0})
    clock = FixedClock(NOW)
    eng = Engine(connect(url), clock, settings)
    router = eng.router
    rng = random.Random(4)
    topics = {t.queue for t in settings.ivr.topics} | {"general", "complaints"}
    for i in range(n_agents):
        skills = frozenset(topics | ({"senior"} if i % 2 == 0 else set()))
        eng.agents.save(Agent(f"a{i:05d}", f"Agent {i}", f"client:a{i:05d}", skills,
                              ("mandarin", "cantonese")))  # fmt: skip
        router.set_agent_state(f"a{i:05d}", "available")
    calls = 0
    on_call: deque[tuple[str, str]] = deque()

    def arrive(senior_share: float = 0.3) -> Offer | None:
        nonlocal calls
        calls += 1
        senior = rng.random() < senior_share
        caller = Caller("", None, None, 70 if senior else 40, "mandarin", senior)
        placement = router.arrive(f"CA{calls:032d}", caller, "senior" if senior else "general")
        return placement if isinstance(placement, Offer) else None

    def answer(offer: Offer) -> None:
        assert router.answered(offer.call_sid, offer.agent.id) is not None
        on_call.append((offer.call_sid, offer.agent.id))

    while len(on_call) < n_agents:  # every agent busy
        offer = arrive(0.0)  # general callers: every agent may take them
        assert offer is not None, "an agent should be free"
        answer(offer)
    for _ in range(waiting):
        clock.advance(0.01)
        assert arrive() is None
    frees, arrivals = [], []
    for _ in range(decisions):
        clock.advance(1)
        sid, agent = on_call.popleft()
        t0 = time.perf_counter()
        router.dial_result(sid, agent, "completed", 60)
        offers = router.tick()
        t1 = time.perf_counter()
        assert len(offers) == 1 and offers[0].agent.id == agent, offers
        answer(offers[0])
        t2 = time.perf_counter()
        assert arrive() is None
        t3 = time.perf_counter()
        frees.append(t1 - t0)
        arrivals.append(t3 - t2)
    return {
        "agents": n_agents,
        "waiting": waiting,
        "decisions": decisions,
        "free_per_s": 1 / (sum(frees) / len(frees)),
        "free_p50_ms": median(frees) * 1000,
        "free_p99_ms": percentile(frees, 99) * 1000,
        "arrive_per_s": 1 / (sum(arrivals) / len(arrivals)),
        "arrive_p50_ms": median(arrivals) * 1000,
        "arrive_p99_ms": percentile(arrivals, 99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", default="10,1000,10000")
    parser.add_argument("--waiting", type=int, default=1000)
    parser.add_argument("--decisions", type=int, default=2000)
    args = parser.parse_args()
    rows = [measure(int(n), args.waiting, args.decisions) for n in args.agents.split(",")]
    for row in rows:
        print(json.dumps(row))
    print("| agents | agent frees: decisions/s | p50 ms | p99 ms | arrival: /s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['agents']:,} | {r['free_per_s']:,.0f} | {r['free_p50_ms']:.3f} | "
            f"{r['free_p99_ms']:.3f} | {r['arrive_per_s']:,.0f} | {r['arrive_p50_ms']:.3f} | "
            f"{r['arrive_p99_ms']:.3f} |"
        )
    ratio = rows[-1]["free_p99_ms"] / rows[0]["free_p99_ms"]
    print(f"p99 ratio, {rows[-1]['agents']:,} vs {rows[0]['agents']:,} agents: {ratio:.2f}")


if __name__ == "__main__":
    main()
