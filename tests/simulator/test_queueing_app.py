"""The whole app against Erlang C: one class through webhooks, TwiML and the offline Twilio.

A long run on the virtual clock with a fixed seed; a file of its own so that the suite's
workers run it beside the engine's long runs (test_queueing_theory.py, _priority.py).
"""

from __future__ import annotations

import pytest

from ivr.simulator import erlang
from ivr.simulator.offline import simulate
from ivr.simulator.traffic import Plan, arrival_span
from tests.helpers.hotline import offline_hotline
from tests.helpers.queueing import check

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
    # No connection overhead includes the callbacks' delivery delay: the agent is held until
    # the app hears of the hang-up, up to callback_jitter_s late (0.5 s on average, an eighth
    # of this handle time, measured 0.543 occupancy for 0.5 with it on)
    offline.sim.callback_jitter_s = 0.0
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
