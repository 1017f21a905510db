"""Phones worked by hand (the console's demo phone), offline."""

from __future__ import annotations

from collections.abc import Callable

from twilio.rest import Client

from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.core.steps import HAND_POLL_S
from ivr.simulator.core.switch import Simulator
from tests.helpers import fakeapp
from tests.helpers.emulator import AGENT, call, ring_agent

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


def test_an_agent_leg_placed_through_rest_rings_and_hangs_up_by_hand(
    sim: Simulator,
    api: Client,
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
