"""The simulator hears what each routing call says of itself through a report it hands to the
app it builds (create_app's `script_report`), not by switching on the engine's script."""

from __future__ import annotations

from app import create_app
from ivr.simulator.offline import Offline
from routing.clock import FixedClock
from tests.conftest import CLUSTER


def test_the_offline_app_routes_with_the_simulators_own_report(
    redis_url: str, clock: FixedClock
) -> None:
    off = Offline(create_app, {"redis.url": redis_url, "redis.cluster": CLUSTER}, clock=clock)
    assert off.engine.script.report is off.script_report
    assert not off.script_report.enabled  # a traffic run (simulate()) enables it
    off.script_report.enabled = True
    off.engine.router.tick()
    assert off.script_report.last is not None
    assert off.engine.router.last_call()[0]  # that tick settled, at this very instant
    off.restart()  # a new app on the same store: still the simulator's report
    assert off.engine.script.report is off.script_report
