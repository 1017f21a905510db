"""The engine against Erlang C: Poisson arrivals, exponential talk, no abandons.

Each check is a long run through the real routing engine (Redis, Lua) on the virtual clock,
with fixed seeds. The figures must fall inside the simulation's 99% batch-means confidence
intervals, each narrower than +/-10% of its estimate. See BENCHMARKS.md for the numbers.
"""

from __future__ import annotations

import pytest

from ivr.simulator import erlang
from routing.store import RedisClient
from tests.helpers.queueing import AGENTS, AHT_S, TRAFFIC, check, run


@pytest.mark.slow
def test_one_class_waits_as_erlang_c_predicts(r: RedisClient, redis_url: str) -> None:
    outcomes = run(r, redis_url, senior_share=0.0, seed=2026)
    check([float(o.waited) for o in outcomes], erlang.p_wait(TRAFFIC, AGENTS), "P(wait)")
    waits = [o.wait_s or 0.0 for o in outcomes]
    check(waits, erlang.mean_wait(TRAFFIC / AHT_S, AHT_S, AGENTS), "mean wait")
