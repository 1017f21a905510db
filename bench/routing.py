"""Routing stays flat: decisions per second and p99 at 10, 1,000 and 10,000 agents.

    .venv/bin/python -m bench.routing [--agents 10,1000,10000] [--waiting 1000]
                                      [--decisions 2000] [--passes 3]

Every size is set up first, each on its own redis-server: N agents (every queue's skill,
half of them senior-trained, Mandarin and Cantonese) sign in, N general callers (whom every
agent may take) arrive and are answered, so every agent is busy, then 1,000 more callers
arrive and wait (30% seniors). Then, `--decisions` times, on the virtual clock: an agent's
call ends (`Router.dial_result`) and the engine hands out the next assignment
(`Router.tick`), which picks among the 1,000 waiting callers; the agent answers; a new caller
arrives (`Router.arrive`) and is queued, so 1,000 keep waiting. Timed, one client over
a Unix socket: the freed agent's decision (dial_result + tick) and the arrival. The sizes take
turns, `--passes` passes of `--decisions` each after a short warm-up pass, so the machine's
drift falls on every size alike; each figure is the median over the passes, and the p99
ratio is the median of the passes' ratios (as bench.stats does).
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
from ivr.settings import load_settings
from routing.callers.caller import Caller
from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.queues.router import Offer
from routing.store import connect


class Hotline:
    """One size: its own redis-server, N busy agents, `waiting` callers queued."""

    def __init__(self, tmp: Path, n_agents: int, waiting: int) -> None:
        self.server = start_redis(tmp)
        url = self.server.url
        # No senior reserve: the set-up fills every agent with general callers.
        overrides = {"redis.url": url, "routing.wrap_up_seconds": 0, "routing.senior_reserve": 0}
        settings = load_settings(overrides)
        self.clock = FixedClock(NOW)
        self.eng = Engine(connect(url), self.clock, settings)
        self.router = self.eng.router
        self.n_agents, self.waiting = n_agents, waiting
        self.rng = random.Random(4)
        self.calls = 0
        self.on_call: deque[tuple[str, str]] = deque()
        topics = {t.queue for t in settings.ivr.topics} | {"general", "complaints"}
        for i in range(n_agents):
            skills = frozenset(topics | ({"senior"} if i % 2 == 0 else set()))
            self.eng.agents.save(Agent(f"a{i:05d}", f"Agent {i}", f"client:a{i:05d}", skills,
                                       ("mandarin", "cantonese")))  # fmt: skip
            self.router.set_agent_state(f"a{i:05d}", "available")
        while len(self.on_call) < n_agents:  # every agent busy
            offer = self.arrive(0.0)  # general callers: every agent may take them
            assert offer is not None, "an agent should be free"
            self.answer(offer)
        for _ in range(waiting):
            self.clock.advance(0.01)
            assert self.arrive() is None

    def arrive(self, senior_share: float = 0.3) -> Offer | None:
        self.calls += 1
        senior = self.rng.random() < senior_share
        caller = Caller("", None, None, 70 if senior else 40, "mandarin", senior)
        queue = "senior" if senior else "general"
        placement = self.router.arrive(f"CA{self.calls:032d}", caller, queue)
        return placement if isinstance(placement, Offer) else None

    def answer(self, offer: Offer) -> None:
        assert self.router.answered(offer.call_sid, offer.agent.id) is not None
        self.on_call.append((offer.call_sid, offer.agent.id))

    def run(self, decisions: int) -> tuple[list[float], list[float]]:
        """`decisions` times: an agent frees and takes the next caller; a caller arrives."""
        frees, arrivals = [], []
        for _ in range(decisions):
            self.clock.advance(1)
            sid, agent = self.on_call.popleft()
            t0 = time.perf_counter()
            self.router.dial_result(sid, agent, "completed", 60)
            offers = self.router.tick()
            t1 = time.perf_counter()
            assert len(offers) == 1 and offers[0].agent.id == agent, offers
            self.answer(offers[0])
            t2 = time.perf_counter()
            assert self.arrive() is None
            t3 = time.perf_counter()
            frees.append(t1 - t0)
            arrivals.append(t3 - t2)
        return frees, arrivals

    def stop(self) -> None:
        self.server.stop()


def measure(
    sizes: list[int], waiting: int, decisions: int, passes: int
) -> tuple[list[dict[str, float]], list[float]]:
    """Every size set up at once, then `passes` passes taking turns, so the machine's drift
    falls on every size alike; figures are medians over the passes (after a warm-up pass).
    Also returns each pass's p99 ratio, the largest size's over the smallest's."""
    with tempfile.TemporaryDirectory() as tmp:
        hotlines: list[Hotline] = []
        try:
            for n in sizes:
                hotlines.append(Hotline(Path(tmp) / str(n), n, waiting))
            runs: list[list[dict[str, float]]] = [[] for _ in sizes]
            for n_pass in range(passes + 1):
                for i, hotline in enumerate(hotlines):
                    frees, arrivals = hotline.run(decisions if n_pass else decisions // 10)
                    if n_pass:
                        runs[i].append(_figures(frees, arrivals))
        finally:
            for hotline in hotlines:
                hotline.stop()
    rows = []
    for n, passes_of_n in zip(sizes, runs, strict=True):
        row: dict[str, float] = {"agents": n, "waiting": waiting, "decisions": decisions}
        for key in passes_of_n[0]:
            row[key] = median([p[key] for p in passes_of_n])
        rows.append(row)
    pairs = zip(runs[0], runs[-1], strict=True)
    return rows, [last["free_p99_ms"] / first["free_p99_ms"] for first, last in pairs]


def _figures(frees: list[float], arrivals: list[float]) -> dict[str, float]:
    return {
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
    parser.add_argument("--decisions", type=int, default=2000, help="per pass and size")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(n) for n in args.agents.split(",")]
    rows, ratios = measure(sizes, args.waiting, args.decisions, args.passes)
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
    per_pass = ", ".join(f"{r:.2f}" for r in ratios)
    print(
        f"p99 ratio, {rows[-1]['agents']:,} vs {rows[0]['agents']:,} agents: "
        f"{median(ratios):.2f} (median of the passes: {per_pass})"
    )


if __name__ == "__main__":
    main()
