"""Agents who cannot ring (issue 32, point 8): one identity per agent, and an agent whose
softphone is not registered offered nobody, the supervisor told why. Whole calls through the
real webhooks, the console's report and the offline Twilio, whose unregistered clients ring
out to no-answer (ivr/simulator/core/people.py)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import AgentPhone, VirtualCaller
from ivr.simulator.offline import Offline
from ivr.web.dashboard import agents as dashboard_agents
from routing.clock import FixedClock
from routing.queues.agents import Agent
from tests.helpers.hotline import offline_hotline
from tests.helpers.people import SENIOR

PASSWORD = "correct-horse-1"


@pytest.fixture(params=["conference", "dial"])
def hotline(request: pytest.FixtureRequest, redis_url: str, clock: FixedClock) -> Offline:
    return offline_hotline(redis_url, clock, settings={"ivr.connect": request.param})


def console(off: Offline, agent_id: str) -> tuple[FlaskClient, str]:
    """The agent's console, signed in: its client and CSRF token."""
    off.engine.users.add(agent_id, PASSWORD, "agent", agent_id)
    client = off.app.test_client()
    page = client.get("/login").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found
    form = {"name": agent_id, "password": PASSWORD, "csrf_token": found.group(1)}
    assert client.post("/login", data=form).status_code == 302
    with client.session_transaction() as session:
        return client, str(session["csrf"])


def report(client: FlaskClient, token: str, registered: bool) -> None:
    """The console's Device event, as phone.js reports it."""
    answer = client.post(
        "/agent/registration",
        data={"registered": "1" if registered else "0"},
        headers={"X-CSRF-Token": token},
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)


def rang(off: Offline, address: str) -> list[Leg]:
    return [leg for leg in off.sim.legs.values() if leg.to == address]


def _team(off: Offline) -> tuple[AgentPhone, AgentPhone]:
    first = off.add_agent("a1", {"senior"}, aht_s=60.0, answer_delay_s=(3.0, 3.0))
    off.run(until=off.sim.now() + 5)  # a1 idle longest: offered first
    second = off.add_agent("a2", {"senior"}, aht_s=60.0, answer_delay_s=(3.0, 3.0))
    return first, second


def _why(off: Offline, agent_id: str) -> tuple[str, str]:
    [row] = [a for a in dashboard_agents(off.engine) if a["id"] == agent_id]
    return row["state"], row["away_because"]


def test_an_agent_whose_softphone_unregistered_is_offered_nobody(hotline: Offline) -> None:
    # Before, a1 stayed available and was rung first: the offer rang nowhere until the dial
    # timeout, and the senior waited that long more for a2.
    a1, a2 = _team(hotline)
    client, token = console(hotline, "a1")
    report(client, token, True)
    a1.registered = False  # the tab's Device unregistered (a failed token refresh, say)
    report(client, token, False)
    assert _why(hotline, "a1") == ("away", "phone not registered")
    start = hotline.sim.now()
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    assert not hotline.sim.faults
    assert rang(hotline, "client:a1") == [] and a2.calls == 1
    assert leg.bridged_at is not None and leg.bridged_at - start < 12.0
    assert hotline.engine.agents.state("a1").missed == 0
    a1.registered = True  # registered again: offered again
    report(client, token, True)
    assert _why(hotline, "a1") == ("available", "")


def test_an_agent_whose_console_stopped_beating_is_put_away(hotline: Offline) -> None:
    a1, a2 = _team(hotline)
    client, token = console(hotline, "a1")
    report(client, token, True)
    a1.registered = False  # the tab was closed: no report, the beats stop
    hotline.run(until=hotline.sim.now() + 40)  # past the 30 s a beat keeps it registered
    assert _why(hotline, "a1") == ("away", "phone not registered")
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    assert rang(hotline, "client:a1") == [] and a2.calls == 1 and leg.bridged_at is not None


def test_a_softphone_contact_other_than_the_agents_own_identity_is_refused(
    hotline: Offline,
) -> None:
    with pytest.raises(ValueError, match="own identity, client:a3"):
        hotline.engine.agents.save(
            Agent("a3", "A3", "client:a1", frozenset({"senior"}), ("mandarin",))
        )
    assert hotline.engine.agents.get("a3") is None
