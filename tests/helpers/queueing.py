"""The engine against queueing theory: long runs on the virtual clock, and their checks.

Each figure must fall inside the simulation's 99% batch-means confidence interval, itself
narrower than +/-10% of its estimate (BENCHMARKS.md, section 7, has the numbers).
"""

from __future__ import annotations

from ivr.settings import load_settings
from ivr.simulator.core.scheduler import Scheduler
from ivr.simulator.direct import EngineTraffic
from ivr.simulator.traffic import LivedCall, Plan, batch_means
from routing.clock import FixedClock
from routing.engine import Engine
from routing.store import RedisClient
from tests.helpers import CLUSTER, T0

AGENTS, TRAFFIC, AHT_S = 2, 0.6, 100.0  # 2 agents, 0.6 Erlang: 30% occupancy
CALLS, WARM_UP = 60_000, 1_000


def run(
    r: RedisClient, redis_url: str, senior_share: float, seed: int, calls: int = CALLS
) -> list[LivedCall]:
    """A long run; the first calls (an empty system at the start) are dropped."""
    # Pure priority, as the theory assumes: no senior-trained agent held back for seniors, and
    # no aging (a long-waiting younger caller would go ahead of seniors: queues' age_after).
    settings = load_settings(
        {
            "redis.url": redis_url,
            "redis.cluster": CLUSTER,
            "routing.wrap_up_seconds": 0,
            "routing.senior_reserve": 0,
            "queues.general.age_after": 0,
        }
    )
    sched = Scheduler(FixedClock(T0))
    plan = Plan(calls, TRAFFIC / AHT_S, AGENTS, senior_share, AHT_S, seed=seed)
    outcomes = EngineTraffic(Engine(r, sched.clock, settings), sched, plan).run()
    assert all(o.answered is not None for o in outcomes)  # no abandons
    return outcomes[WARM_UP:]


def check(
    values: list[float], expected: float, what: str, width: float = 0.10
) -> tuple[float, float]:
    """Assert `values`' 99% interval is within `width` of its mean and holds `expected`."""
    mean, half = batch_means(values)
    assert half < width * mean, f"{what}: interval +/-{half / mean:.1%} is too wide"
    assert abs(mean - expected) <= half, (
        f"{what}: Erlang C {expected:.4f} outside {mean:.4f}+/-{half:.4f}"
    )
    return mean, half
