"""Open lines that fall, on the offline Twilio (issue 37): the ticker places a line again when
nothing else will, and callers offered to a dropped line still reach a human."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest
from click.testing import CliRunner

from app import cli as main
from app import create_app
from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import Plan
from routing.callers.caller import Customer
from routing.clock import FixedClock
from tests.conftest import CLUSTER

SENIOR = "+8613800138000"


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    off = Offline(create_app, {"redis.url": redis_url, "redis.cluster": CLUSTER}, clock=clock)
    off.engine.directory.save(Customer("c1", "陈伯", date(1954, 3, 1), "mandarin", (SENIOR,)))
    return off


def test_a_line_that_could_not_be_placed_is_placed_by_the_next_beats(hotline: Offline) -> None:
    hotline.sim.rest_down = True  # REST away when a01 signs in: their line is not placed
    hotline.add_agent("a01", {"senior"}, persistent=True, answer_delay_s=(1.0, 1.0))
    assert not hotline.engine.agents.state("a01").open_line
    hotline.sim.sched.call_later(3.0, lambda: setattr(hotline.sim, "rest_down", False))
    hotline.run(until=hotline.sim.now() + 8)  # the ticker beats every second
    line = hotline.engine.agents.state("a01").open_line
    assert line and hotline.sim.legs[line].status == "in-progress"
    assert not hotline.sim.faults
    hotline.close_lines()
    hotline.run(until=hotline.sim.now() + 2)


def test_with_lines_dropping_every_caller_is_accounted_for_and_lines_are_placed_again(
    hotline: Offline,
) -> None:
    # half of all joins followed by a drop: the drop-run's paths, many times over
    plan = Plan(
        calls=60,
        rate=0.1,
        agents=4,
        senior_share=0.6,
        aht_s=10.0,
        patience_s=math.inf,
        seed=11,
        answer_delay_s=(1.0, 1.0),
        open_lines=1.0,
        line_drops=0.5,
    )
    lived = simulate(hotline, plan)
    assert not hotline.sim.faults
    # nobody is lost: every caller heard a person (patience without end: none gives up)
    assert len(lived) == 60 and all(x.bridged is not None for x in lived), [
        (x.label, x.path) for x in lived if x.bridged is None
    ]
    lines = [leg for leg in hotline.sim.legs.values() if leg.to.startswith("client:")]
    dropped = [leg for leg in lines if any("the line dropped" in x.text for x in leg.transcript)]
    assert len(dropped) >= 10  # the lines did fall, and were placed again after each drop
    assert len(lines) >= 4 + len(dropped)
    # some callers were on their way to a line as it fell and went on to another agent
    moved = [
        leg
        for leg in hotline.sim.legs.values()
        if leg.direction == "inbound"
        and sum(1 for x in leg.transcript if x.text.startswith("joined conference agent-")) > 1
    ]
    assert moved
    senior = hotline.engine.stats.day()["all"]["senior"]
    assert senior.abandoned == 0


def test_simulate_line_drops_needs_open_lines(redis_url: str) -> None:
    res = CliRunner().invoke(
        main,
        ["simulate", "--calls", "5", "--rate", "0.1", "--agents", "2", "--senior-share", "0.3"]
        + ["--virtual", "--line-drops", "0.05", "--json"],
        env={"REDIS_URL": redis_url},
    )
    assert res.exit_code == 2 and "--open-lines" in res.output


def test_simulate_with_line_drops_reports_every_call(redis_url: str) -> None:
    args = ["simulate", "--calls", "40", "--rate", "0.1", "--agents", "4", "--aht", "30"]
    args += ["--senior-share", "0.5", "--seed", "3", "--virtual", "--json"]
    args += ["--open-lines", "1", "--line-drops", "0.3"]
    res = CliRunner().invoke(main, args, env={"REDIS_URL": redis_url})
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.splitlines()[-1])
    assert out["calls"]["placed"] == out["calls"]["accounted"] == 40
