"""`simulate`'s time to a human per class: from the transcripts' bridges, as the product records
it (the `connected` event), and every offered call answered or abandoned."""

from __future__ import annotations

import pytest

from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import LivedCall, Plan, figures, p90, report
from routing.clock import FixedClock
from tests.helpers.hotline import offline_hotline


def _run(redis_url: str, clock: FixedClock, connect: str, whisper: str) -> Offline:
    settings = {"ivr.connect": connect, "ivr.whisper": whisper, "routing.wrap_up_seconds": 5}
    return offline_hotline(redis_url, clock, settings=settings, customers=(), seed=5)


# Both paths record the caller connected when they are bridged: on the classic path once the
# whisper has played (its closing Redirect), not at the agent's pick-up (docs/time-to-human.md);
# on the conference path a caller assigned by their own wait-URL poll still goes the classic way.
@pytest.mark.parametrize(
    ("connect", "whisper"), [("conference", "none"), ("dial", "none"), ("dial", "short")]
)
def test_simulate_reports_each_class_time_to_human_as_the_product_records_it(
    redis_url: str, clock: FixedClock, connect: str, whisper: str
) -> None:
    off = _run(redis_url, clock, connect, whisper)
    # The conference path records the connection when the room's start event arrives; Twilio
    # sends it asynchronously, so later than the caller heard by its delivery delay (the
    # offline Twilio's callback_jitter_s: 0.46 s more on average here, docs/real-network.md).
    # This compares the two clocks, so the events arrive the moment they happen.
    off.sim.callback_jitter_s = 0.0
    plan = Plan(
        calls=120, rate=0.06, agents=3, senior_share=0.4, aht_s=40.0, patience_s=90.0,
        seed=11, answer_delay_s=(2.0, 2.0), wrap_up_s=5,
    )  # fmt: skip
    outcomes = simulate(off, plan)
    assert not off.sim.faults
    classes = report(outcomes, plan.sl_seconds)["classes"]
    recorded = off.engine.stats.totals()["all"]
    for name in ("senior", "other"):
        mine, product = classes[name], recorded[name]
        assert mine["offered"] == mine["answered"] + mine["abandoned"] > 0
        assert mine["time_to_human_s"] is not None and product.tth_s is not None
        assert mine["time_to_human_s"] == pytest.approx(product.tth_s, abs=0.01)
        assert product.connected == sum(
            1 for o in outcomes if o.label == name and o.bridged is not None
        )
        # the product's p90 is a bucket's bound, "at most": the exact p90 lies at or under it
        assert product.tth_p90_s is not None
        assert mine["time_to_human_p90_s"] <= product.tth_p90_s
    assert classes["senior"]["time_to_human_s"] < classes["other"]["time_to_human_s"]


def _outcome(label: str, arrived: float, bridged: float | None, ended: float) -> LivedCall:
    answered = None if bridged is None else bridged - 1.0
    return LivedCall(label, arrived, arrived + 2.0, False, answered, ended, bridged)


def test_time_to_human_is_the_mean_and_p90_of_the_bridged_calls_only() -> None:
    outcomes = [_outcome("senior", 10.0 * i, 10.0 * i + 1.0 + i, 10.0 * i + 9) for i in range(10)]
    outcomes.append(_outcome("senior", 200.0, None, 230.0))  # abandoned: no time to a human
    f = figures(outcomes, 20.0)
    assert (f.offered, f.answered, f.abandoned) == (11, 10, 1)
    assert f.tth_s == pytest.approx(sum(1.0 + i for i in range(10)) / 10)  # 5.5
    assert f.tth_p90_s == pytest.approx(9.0)  # nine of the ten took 9 s or less
    assert figures([_outcome("other", 0.0, None, 5.0)], 20.0).tth_s is None


def test_p90_by_nearest_rank() -> None:
    assert p90([]) is None
    assert p90([4.0]) == 4.0
    assert p90([float(x) for x in range(1, 21)]) == 18.0
    assert p90([float(x) for x in range(100, 0, -1)]) == 90.0
