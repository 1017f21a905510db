"""The engine makes one routing script and hands it to everything that routes."""

from __future__ import annotations

from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.routing_script import ScriptReport
from routing.settings import load_engine_settings
from routing.store import RedisClient


def test_agents_router_and_recorder_run_the_engines_one_script(
    r: RedisClient, clock: FixedClock
) -> None:
    engine = Engine(r, clock, load_engine_settings())
    assert engine.agents.script is engine.script
    assert engine.router.script is engine.script
    assert engine.recorder.script is engine.script
    assert not engine.script.report.enabled  # nothing asked for the simulator's report


def test_a_report_handed_to_the_engine_hears_every_routing_call(
    r: RedisClient, clock: FixedClock
) -> None:
    report = ScriptReport(enabled=True)
    engine = Engine(r, clock, load_engine_settings(), script_report=report)
    assert report.last is None
    engine.router.tick()
    assert report.last is not None and report.last[1]["settled"]
