"""The agent registry: profiles, validation, states and the missed-offer rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from routing.callers.caller import Caller
from routing.clock import FixedClock
from routing.keys import Keys
from routing.queues.agents import Agent, Agents
from routing.queues.router import Offer, Router
from routing.queues.routing_script import RoutingLua, RoutingScript
from routing.settings import load_engine_settings
from routing.store import RedisClient
from tests.conftest import T0


def _team(r: RedisClient, clock: FixedClock) -> tuple[Agents, Router]:
    settings = load_engine_settings()
    keys = Keys("sl")
    script = RoutingScript(r, RoutingLua(settings, keys))
    agents = Agents(r, clock, settings, keys, script)
    return agents, Router(agents, script)


def _agent(
    aid: str, skills: set[str] | None = None, dialects: tuple[str, ...] = ("mandarin",)
) -> Agent:
    return Agent(aid, f"Agent {aid}", f"client:{aid}", frozenset(skills or set()), dialects)


def test_saved_agents_read_back_and_start_offline(r: RedisClient, clock: FixedClock) -> None:
    agents, _ = _team(r, clock)
    wang = Agent("a01", "王丽", "+8613800138000", frozenset({"senior", "claims"}), ("cantonese",))
    agents.save(wang)
    agents.save(_agent("a02"))
    assert agents.get("a01") == wang
    assert [a.id for a in agents.all()] == ["a01", "a02"]
    status = agents.state("a01")
    assert (status.state, status.call_sid, status.missed) == ("offline", "", 0)
    assert agents.get("nobody") is None
    assert agents.state("nobody").state == "offline"


def test_bad_ids_and_contacts_are_refused(r: RedisClient, clock: FixedClock) -> None:
    agents, _ = _team(r, clock)
    with pytest.raises(ValueError, match="slug"):
        agents.save(_agent("A 01"))
    with pytest.raises(ValueError, match="E.164"):
        agents.save(Agent("a01", "x", "13800138000", frozenset(), ("mandarin",)))
    # ids and contacts are Twilio Client identities: letters, digits and underscore only
    with pytest.raises(ValueError, match="underscores"):
        agents.save(_agent("a-01"))
    with pytest.raises(ValueError, match="Client identity"):
        agents.save(Agent("a01", "x", "client:a-01", frozenset(), ("mandarin",)))
    # one identity per agent: the softphone registers as the agent's id (issue 32, point 8)
    with pytest.raises(ValueError, match="own identity, client:a_01"):
        agents.save(Agent("a_01", "x", "client:Desk_7", frozenset(), ("mandarin",)))
    assert agents.all() == []
    agents.save(Agent("a_01", "x", "client:a_01", frozenset(), ("mandarin",)))
    agents.save(Agent("a02", "x", "+8613800138000", frozenset(), ("mandarin",)))
    assert [a.id for a in agents.all()] == ["a02", "a_01"]


def test_update_keeps_state_and_moves_the_agent_between_skills(
    r: RedisClient, clock: FixedClock
) -> None:
    agents, router = _team(r, clock)
    agents.save(_agent("a01"))
    router.set_agent_state("a01", "available")
    agents.save(_agent("a01", {"senior"}))  # trained while signed in
    assert agents.state("a01").state == "available"
    offer = router.arrive("CA1", _senior(), "senior")
    assert isinstance(offer, Offer) and offer.agent.senior_trained


def test_remove_puts_an_offered_caller_back_in_line(r: RedisClient, clock: FixedClock) -> None:
    agents, router = _team(r, clock)
    agents.save(_agent("a01"))
    router.set_agent_state("a01", "available")
    first = router.arrive("CA1", _senior(), "general")
    assert isinstance(first, Offer)
    agents.remove("a01")
    assert agents.get("a01") is None
    info = router.call("CA1")
    assert info is not None and info.state == "waiting" and info.entered_at == T0
    agents.save(_agent("a02"))
    clock.advance(5)
    offers = router.set_agent_state("a02", "available")
    assert [(o.call_sid, o.agent.id, o.entered_at) for o in offers] == [("CA1", "a02", T0)]


def test_states_follow_a_call_and_wrap_up_ends_by_time(r: RedisClient, clock: FixedClock) -> None:
    agents, router = _team(r, clock)
    agents.save(_agent("a01"))
    router.set_agent_state("a01", "available")
    router.arrive("CA1", _senior(), "general")
    assert (agents.state("a01").state, agents.state("a01").call_sid) == ("offered", "CA1")
    router.answered("CA1", "a01")
    assert agents.state("a01").state == "on_call"
    clock.advance(100)
    router.dial_result("CA1", "a01", "completed", 100)
    assert agents.states()["a01"].state == "wrap_up"
    clock.advance(14.999)
    assert agents.state("a01").state == "wrap_up"
    clock.advance(0.001)
    status = agents.state("a01")
    assert status.state == "available"
    assert status.since == T0 + timedelta(seconds=115)


def test_missed_offers_in_a_row_set_the_agent_away(r: RedisClient, clock: FixedClock) -> None:
    agents, router = _team(r, clock)
    agents.save(_agent("a01"))
    router.set_agent_state("a01", "available")
    router.arrive("CA1", _senior(), "general")
    clock.advance(20)
    waiting = router.dial_result("CA1", "a01", "no-answer", 0)
    assert not isinstance(waiting, Offer)  # not rung again for the caller just missed
    assert router.dial_result("CA1", "a01", "no-answer", 0) == waiting  # a webhook retry
    assert agents.state("a01").missed == 1
    clock.advance(19.999)
    assert router.tick() == []
    clock.advance(0.001)  # a dial timeout later a01 is the one left to try
    assert [o.agent.id for o in router.tick()] == ["a01"]
    router.dial_result("CA1", "a01", "busy", 0)
    assert agents.state("a01").state == "away"  # max_missed_offers = 2
    router.set_agent_state("a01", "available")
    assert agents.state("a01").missed == 0


def test_an_answer_resets_the_missed_count(r: RedisClient, clock: FixedClock) -> None:
    agents, router = _team(r, clock)
    agents.save(_agent("a01"))
    router.set_agent_state("a01", "available")
    router.arrive("CA1", _senior(), "general")
    router.dial_result("CA1", "a01", "no-answer", 0)
    clock.advance(20)
    router.tick()
    assert router.answered("CA1", "a01") is not None
    assert agents.state("a01").missed == 0


def test_away_while_on_a_call_takes_effect_after_it(r: RedisClient, clock: FixedClock) -> None:
    agents, router = _team(r, clock)
    agents.save(_agent("a01"))
    router.set_agent_state("a01", "available")
    router.arrive("CA1", _senior(), "general")
    router.answered("CA1", "a01")
    router.set_agent_state("a01", "offline")
    assert agents.state("a01").state == "on_call"
    router.dial_result("CA1", "a01", "completed", 30)
    clock.advance(15)
    assert agents.state("a01").state == "offline"
    router.arrive("CA2", _senior(), "general")
    assert agents.state("a01").state == "offline"


def test_unknown_agent_state_changes_are_refused(r: RedisClient, clock: FixedClock) -> None:
    _, router = _team(r, clock)
    with pytest.raises(KeyError):
        router.set_agent_state("ghost", "available")
    with pytest.raises(ValueError):
        router.set_agent_state("ghost", "on_call")


def _senior() -> Caller:
    return Caller("", "+8613800138000", None, 72, "mandarin", True)
