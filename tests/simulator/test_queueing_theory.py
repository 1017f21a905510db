"""The engine against Erlang C: Poisson arrivals, exponential talk, no abandons.

Each check is a long run through the real routing engine (Redis, Lua) on the virtual clock,
with fixed seeds. The figures must fall inside the simulation's 99% batch-means confidence
intervals, each narrower than +/-10% of its estimate. See BENCHMARKS.md for the numbers.
"""

from __future__ import annotations

import pytest

from ivr.settings import load_settings
from ivr.simulator import erlang
from ivr.simulator.core.scheduler import Scheduler
from ivr.simulator.direct import EngineTraffic
from ivr.simulator.offline import simulate
from ivr.simulator.traffic import LivedCall, Plan, arrival_span, batch_means
from routing.clock import FixedClock
from routing.engine import Engine
from routing.store import RedisClient
from tests.conftest import CLUSTER, T0
from tests.helpers.hotline import offline_hotline

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
    mean, half = batch_means(values)
    assert half < width * mean, f"{what}: interval +/-{half / mean:.1%} is too wide"
    assert abs(mean - expected) <= half, (
        f"{what}: Erlang C {expected:.4f} outside {mean:.4f}+/-{half:.4f}"
    )
    return mean, half


@pytest.mark.slow
def test_one_class_waits_as_erlang_c_predicts(r: RedisClient, redis_url: str) -> None:
    outcomes = run(r, redis_url, senior_share=0.0, seed=2026)
    check([float(o.waited) for o in outcomes], erlang.p_wait(TRAFFIC, AGENTS), "P(wait)")
    waits = [o.wait_s or 0.0 for o in outcomes]
    check(waits, erlang.mean_wait(TRAFFIC / AHT_S, AHT_S, AGENTS), "mean wait")


@pytest.mark.slow
def test_seniors_wait_less_as_priority_theory_predicts_while_the_mean_stays_at_erlang_c(
    r: RedisClient, redis_url: str
) -> None:
    """Seniors are served first: each class waits as Cobham's priority formula says.

    At 30% occupancy priority can only cut the seniors' wait to (1 - load) = 70% of the
    others'; the figures for busier hotlines follow from the same formula (BENCHMARKS.md).
    Work conservation shows in the overall mean, which priority must not change.
    """
    outcomes = run(r, redis_url, senior_share=0.4, seed=60, calls=90_000)
    waits = [o.wait_s or 0.0 for o in outcomes]
    check(waits, erlang.mean_wait(TRAFFIC / AHT_S, AHT_S, AGENTS), "overall mean wait")
    rate = TRAFFIC / AHT_S
    senior_w, other_w = erlang.priority_mean_waits([0.4 * rate, 0.6 * rate], AHT_S, AGENTS)
    seniors, _ = check(
        [o.wait_s or 0.0 for o in outcomes if o.label == "senior"], senior_w, "senior mean wait"
    )
    others, _ = check(
        [o.wait_s or 0.0 for o in outcomes if o.label == "other"], other_w, "other mean wait"
    )
    assert seniors < 0.8 * others


# The whole app (webhooks, TwiML, REST pulls, the offline Twilio) costs ~25 ms a call, so this
# run is shorter: one agent at 50 % (M/M/1) is where a short run's estimates are tightest.
APP_CALLS, APP_AHT_S, APP_TRAFFIC = 5_000, 4.0, 0.5


@pytest.mark.slow
def test_one_class_through_the_whole_app_waits_as_erlang_c_predicts(redis_url: str) -> None:
    """Seniors through the app with no connection overhead: auto-answer, no wrap-up, and
    speech that takes no time (so the whisper takes none); what is left is Erlang C's queue.
    The agent's occupancy, rebuilt from the engine's states, must be the offered load."""
    settings = {"routing.wrap_up_seconds": 0}
    settings |= {"business_hours.open": "00:00", "business_hours.close": "00:00"}
    offline = offline_hotline(
        redis_url, settings=settings, customers=(), seed=2, seconds_per_char=0.0
    )
    plan = Plan(APP_CALLS, APP_TRAFFIC / APP_AHT_S, 1, 1.0, APP_AHT_S, seed=2, wrap_up_s=0)
    outcomes = simulate(offline, plan)
    assert all(o.answered is not None for o in outcomes)  # no abandons, nobody turned away
    steady = outcomes[APP_CALLS // 20 :]
    check([float(o.waited) for o in steady], erlang.p_wait(APP_TRAFFIC, 1), "P(wait)")
    expected = erlang.mean_wait(APP_TRAFFIC / APP_AHT_S, APP_AHT_S, 1)
    check([o.wait_s or 0.0 for o in steady], expected, "mean wait", width=0.25)
    start, stop = arrival_span(outcomes)
    occupancy = offline.occupancy.share(start, stop)
    assert occupancy == pytest.approx(APP_TRAFFIC, rel=0.05)
