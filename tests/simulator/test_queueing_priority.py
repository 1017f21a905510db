"""The engine against priority queueing theory: seniors first, each class as Cobham predicts.

A long run through the real routing engine (Redis, Lua) on the virtual clock, with a fixed
seed; a file of its own so that the suite's workers run it beside the other long runs.
"""

from __future__ import annotations

import pytest

from ivr.simulator import erlang
from routing.store import RedisClient
from tests.helpers.queueing import AGENTS, AHT_S, TRAFFIC, check, run


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
