"""Phones worked by hand (the console's demo phone) and agents' own auto-answer, offline."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import pytest
from click.testing import CliRunner
from twilio.rest import Client

from app import cli as main
from ivr.settings import load_settings
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.core.steps import HAND_POLL_S
from ivr.simulator.core.switch import Simulator
from routing.callers.caller import Customer
from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.store import RedisClient
from tests.conftest import T0
from tests.simulator import fakeapp
from tests.simulator.test_cli import GRANNY, _ring_to_answer, env  # noqa: F401  (fixture)
from tests.simulator.test_conference import AGENT, api, ring_agent  # noqa: F401  (fixture)
from tests.simulator.test_interpreter import call

NUMBER_FROM = "+14155550100"


def _hand(sim: Simulator, presses: list[tuple[float, str]]) -> Callable[[], str]:
    """Buttons a person presses at given seconds after the call started: the last one counts."""
    start = sim.now()

    def buttons() -> str:
        done = [b for at, b in presses if sim.now() - start >= at]
        return done[-1] if done else ""

    return buttons


def test_a_hand_worked_phone_rings_until_answer_and_talks_until_hang_up(sim: Simulator) -> None:
    sim.people.add_agent("client:alice", buttons=_hand(sim, [(6.0, "answer"), (40.0, "hangup")]))
    leg = sim.place_call(
        VirtualCaller(NUMBER_FROM, sim.rng, inputs=[Input(digits="2")]), fakeapp.SUPPORT
    )
    sim.run()
    agent_leg = next(x for x in sim.legs.values() if x.parent_sid == leg.sid)
    assert agent_leg.answered_at is not None and leg.bridged_at is not None
    # answered at the first look after the click, not after a drawn delay
    assert 6.0 <= agent_leg.answered_at - leg.created_at < 6.0 + HAND_POLL_S + 1e-9
    assert agent_leg.ended_at is not None
    assert 40.0 <= agent_leg.ended_at - leg.created_at < 40.0 + HAND_POLL_S + 1e-9
    assert any("Dial completed" in line.text for line in leg.transcript)


def test_decline_on_a_hand_worked_phone_is_a_no_answer(sim: Simulator) -> None:
    sim.people.add_agent("client:alice", buttons=_hand(sim, [(3.0, "decline")]))
    leg = sim.place_call(
        VirtualCaller(NUMBER_FROM, sim.rng, inputs=[Input(digits="2")]), fakeapp.SUPPORT
    )
    sim.run()
    assert leg.bridged_at is None
    assert any("Dial no-answer" in line.text for line in leg.transcript)
    assert leg.ended_at is not None and leg.ended_at - leg.created_at < 10.0  # not the timeout


def test_a_phone_nobody_works_rings_out_at_the_dial_timeout(sim: Simulator) -> None:
    sim.people.add_agent("client:alice", buttons=lambda: "")
    leg = sim.place_call(
        VirtualCaller(NUMBER_FROM, sim.rng, inputs=[Input(digits="2")]), fakeapp.SUPPORT
    )
    sim.run()
    assert leg.bridged_at is None
    assert any("Dial no-answer" in line.text for line in leg.transcript)


@pytest.mark.parametrize("auto_answer, expected", [(True, 0.0), (False, 3.0)])
def test_an_agent_flagged_auto_answer_answers_at_once_in_the_offline_twilio(
    env: dict[str, str],  # noqa: F811
    r: RedisClient,
    auto_answer: bool,
    expected: float,
) -> None:
    engine = Engine(r, FixedClock(T0), load_settings({"redis.url": env["REDIS_URL"]}))
    engine.directory.save(Customer("c9", "欧阳奶奶", date(1940, 2, 29), "cantonese", (GRANNY,)))
    engine.agents.save(
        Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",), auto_answer)
    )
    args = ["call", GRANNY, "--patience", "60", "--json", "--answer-after", "3"]
    # the classic path, whose <Dial> transcript reads "ringing client:a01" on the caller's leg
    # (the conference path's auto-answer is tests/simulator/test_time_to_human.py's)
    res = CliRunner().invoke(main, args, env={**env, "SILVERLINE__IVR__CONNECT": "dial"})
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.splitlines()[-1])
    assert "ringing client:a01" in [line["text"] for line in out["transcript"]]
    assert _ring_to_answer(out) == pytest.approx(expected)


def test_an_agent_leg_placed_through_rest_rings_and_hangs_up_by_hand(
    sim: Simulator,
    api: Client,  # noqa: F811
) -> None:
    """The conference path: the agent's own leg (calls.create) is answered and ended by hand."""
    sim.people.add_agent(AGENT, buttons=_hand(sim, [(4.0, "answer"), (25.0, "hangup")]))
    leg = call(sim, fakeapp.CONFERENCE)
    agent_sid = ring_agent(api, leg.sid)
    sim.run()
    agent_leg = sim.legs[agent_sid]
    assert agent_leg.answered_at is not None and leg.bridged_at is not None
    assert 4.0 <= agent_leg.answered_at - agent_leg.created_at < 4.0 + HAND_POLL_S + 1e-9
    assert agent_leg.ended_at is not None
    assert 25.0 <= agent_leg.ended_at - leg.created_at < 25.0 + HAND_POLL_S + 1e-9
    assert leg.status == "completed"
