"""The softphone's own open line on the offline Twilio: the console's Device calls the TwiML App
(an outgoing client call), the app answers it into the agent's room, and a senior joins it."""

from __future__ import annotations

import dataclasses

import pytest

from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import AgentPhone, VirtualCaller
from ivr.simulator.offline import Offline
from routing.clock import FixedClock
from tests.helpers.hotline import events, heard, offline_hotline
from tests.helpers.people import SENIOR

OPEN_LINE = {"purpose": "open-line"}
REFUSED = "这条线路不是为您开的：请在坐席控制台打开常开线路后再试。"


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    return offline_hotline(redis_url, clock, seed=0)


def _softphone_agent(hotline: Offline, agent_id: str, *, persistent: bool = True) -> AgentPhone:
    """A client agent signed in with no line placed yet: the console will connect it."""
    phone = hotline.add_agent(agent_id, {"senior"}, answer_delay_s=(1.0, 1.0), aht_s=20.0)
    phone.open_line = persistent  # the virtual agent ends calls by taking the caller off
    agent = hotline.engine.agents.get(agent_id)
    assert agent is not None
    hotline.engine.agents.save(dataclasses.replace(agent, persistent=persistent))
    return phone


def _device_connects(hotline: Offline, identity: str, params: dict[str, str]) -> Leg:
    hotline.engine.router.open_line(identity, "device")  # what POST /agent/open-line does
    leg = hotline.sim.client_call(identity, hotline.softphone_app(), params)
    hotline.run(until=hotline.sim.now() + 1)
    return leg


def test_the_softphone_connects_the_line_and_a_senior_joins_it_with_no_ringing(
    hotline: Offline,
) -> None:
    _softphone_agent(hotline, "a01")
    line = _device_connects(hotline, "a01", OPEN_LINE)
    # the engine records the Device's own call as a01's line, connected in their room
    state = hotline.engine.agents.state("a01")
    assert state.open_line == line.sid and state.line_placed == line.sid
    assert line.status == "in-progress" and line.from_ == "client:a01"
    assert hotline.engine.router.lines().to_open == []  # nothing for REST to place

    caller = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.close_lines_after(lambda: caller.ended, every_s=1.0)
    hotline.run()
    assert not hotline.sim.faults
    assert caller.bridged_at is not None and caller.bridged_at - caller.created_at <= 1.5
    # no leg rang for the caller or for the line: the Device called out, nobody was rung
    assert not any(e.startswith("ringing client:a01") for e in events(caller))
    # a01 alone heard who is calling, announced on the Device's leg; the caller heard no whisper
    assert "老年来电。" in heard(line, "agent") and "老年来电。" not in heard(caller)
    day = hotline.engine.stats.day()["all"]["senior"]
    assert (day.answered, day.abandoned) == (1, 0)


def test_the_softphone_line_ending_marks_the_agent_not_connected_and_rest_takes_over(
    hotline: Offline,
) -> None:
    _softphone_agent(hotline, "a01")
    line = _device_connects(hotline, "a01", OPEN_LINE)
    assert hotline.engine.agents.state("a01").open_line == line.sid
    hotline.sim.hang_up(line.sid, "the tab was closed")
    hotline.run(until=hotline.sim.now() + 5)
    # its end came through the TwiML App's StatusCallback: not connected; the line placed
    # again through REST (the fallback), ringing client:a01
    state = hotline.engine.agents.state("a01")
    assert state.line_placed not in ("", "?", line.sid)
    placed = hotline.sim.legs[state.line_placed]
    assert placed.direction == "outbound-api" and placed.to == "client:a01"


@pytest.mark.parametrize(
    ("identity", "persistent", "params"),
    [
        ("a01", False, OPEN_LINE),  # the agent does not want an open line
        ("a01", True, {"purpose": "dial-out"}),  # not what this app is for
        ("nobody", True, OPEN_LINE),  # no such agent
    ],
)
def test_anything_else_on_the_twiml_app_is_refused_aloud_and_hung_up(
    hotline: Offline, identity: str, persistent: bool, params: dict[str, str]
) -> None:
    _softphone_agent(hotline, "a01", persistent=persistent)
    leg = hotline.sim.client_call(identity, hotline.softphone_app(), params)
    hotline.run(until=hotline.sim.now() + 20)
    assert leg.ended and REFUSED in heard(leg, "agent")
    assert not any(e.startswith("connected to") for e in events(leg))
    # the refused leg is no one's line (a persistent a01 gets one placed through REST)
    assert hotline.engine.agents.state("a01").line_placed != leg.sid


def test_a_second_device_call_while_the_line_is_up_is_refused(hotline: Offline) -> None:
    _softphone_agent(hotline, "a01")
    line = _device_connects(hotline, "a01", OPEN_LINE)
    again = hotline.sim.client_call("a01", hotline.softphone_app(), OPEN_LINE)
    hotline.run(until=hotline.sim.now() + 20)
    assert again.ended and REFUSED in heard(again, "agent")
    assert hotline.engine.agents.state("a01").open_line == line.sid and not line.ended
