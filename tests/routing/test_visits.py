"""Progressive dialling of return visits (route.lua OPS.visit): an idle agent is reserved for a
visit only when no inbound caller needs them, within the campaigns' share of the agents."""

from __future__ import annotations

import pytest

from routing.exceptions import SettingsError
from routing.queues.router import Visit
from routing.settings import load_engine_settings
from routing.store import RedisClient
from tests.conftest import FixedClock
from tests.routing.conftest import Desk, build, caller

REASON = "保单贷款确认 policy loan confirmation"


def desk_of(r: RedisClient, clock: FixedClock, share: float = 0.5, reserve: int = 0) -> Desk:
    return build(r, clock, **{"campaigns.agent_share": share, "routing.senior_reserve": reserve})


def visit(d: Desk, n: int, dialect: str = "mandarin") -> Visit:
    who = caller(dialect, senior=True, number=f"+86138001380{n:02d}")
    return d.router.visit(f"visit:loan:{n}", who, "senior", "loan", REASON)


def test_an_idle_agent_is_reserved_and_offered_the_visit_with_its_reason(
    r: RedisClient, clock: FixedClock
) -> None:
    d = desk_of(r, clock)
    d.agent("m", "senior", "mandarin")
    clock.advance(5)
    d.agent("c", "senior", "cantonese")  # idle for less time, but speaks the customer's dialect
    v = visit(d, 1, "cantonese")
    assert v.why == "" and v.offer is not None
    assert (v.offer.agent.id, v.offer.campaign, v.offer.reason) == ("c", "loan", REASON)
    assert v.offer.to_place and v.offer.senior  # the call is placed now, the banner shown
    assert d.agents.state("c").state == "offered" and d.agents.state("m").state == "available"
    [offered] = d.events("offered")
    assert (offered["queue"], offered["agent"]) == ("visits", "c")  # apart from inbound
    assert d.events("callback_placed") == []
    assert visit(d, 1, "cantonese").why == "exists"  # a repeat reserves nobody


def test_a_waiting_caller_the_agent_could_serve_keeps_them_from_visits(
    r: RedisClient, clock: FixedClock
) -> None:
    d = desk_of(r, clock, share=1.0)
    d.agent("s", "senior")
    # a policy caller waits: no policy agent now, but the queue widens to any agent later
    d.router.arrive("CA1", caller(), "policy")
    assert visit(d, 1).why == "no_agent"
    assert d.agents.state("s").state == "available"
    d.router.hangup("CA1")
    assert visit(d, 1).offer is not None


def test_at_most_the_share_of_staffed_agents_is_on_visits(
    r: RedisClient, clock: FixedClock
) -> None:
    d = desk_of(r, clock, share=0.3)
    for aid in "abc":
        d.agent(aid, "senior")
    assert visit(d, 1).why == "share"  # 0.3 x 3 agents: none
    d.agent("d", "senior")
    first = visit(d, 1)
    assert first.offer is not None  # 0.3 x 4: one
    assert visit(d, 2).why == "share"
    d.router.callback_result("visit:loan:1", "machine")  # a voicemail: the agent is free again
    info = d.router.call("visit:loan:1")
    assert info is not None and info.state == "unreached"
    assert d.agents.state(first.offer.agent.id).state == "available"
    assert visit(d, 2).offer is not None


def test_the_last_free_senior_trained_agents_stay_kept_for_seniors_who_call(
    r: RedisClient, clock: FixedClock
) -> None:
    d = desk_of(r, clock, share=1.0, reserve=1)
    d.agent("a", "senior")
    assert visit(d, 1).why == "no_agent"  # the reserve's one agent
    d.agent("b", "senior")
    assert visit(d, 1).offer is not None
    assert visit(d, 2).why == "no_agent"


def test_an_inbound_senior_is_assigned_before_a_visit(r: RedisClient, clock: FixedClock) -> None:
    d = desk_of(r, clock, share=1.0)
    d.agent("a", "senior")
    d.router.set_agent_state("a", "away")
    d.router.arrive("CA1", caller(senior=True), "senior")
    d.router.set_agent_state("a", "available")  # the senior takes them
    assert visit(d, 1).why == "no_agent"
    info = d.router.call("CA1")
    assert info is not None and info.agent_id == "a"


def test_keep_idle_leaves_agents_free_for_whoever_calls_next(
    r: RedisClient, clock: FixedClock
) -> None:
    d = build(r, clock, **{"campaigns.agent_share": 1.0, "routing.senior_reserve": 0,
                           "campaigns.keep_idle": 2})  # fmt: skip
    for aid in "ab":
        d.agent(aid, "senior")
    assert visit(d, 1).why == "no_agent"  # two idle: both kept
    d.agent("c", "senior")
    assert visit(d, 1).offer is not None
    assert visit(d, 2).why == "no_agent"


def test_the_share_is_checked_at_start_up() -> None:
    with pytest.raises(SettingsError, match="campaigns.agent_share"):
        load_engine_settings({"campaigns.agent_share": 1.5})
    with pytest.raises(SettingsError, match="campaigns.keep_idle"):
        load_engine_settings({"campaigns.keep_idle": -1})
