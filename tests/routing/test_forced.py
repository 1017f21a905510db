"""Forced agent states: a supervisor frees an agent held by an offer or call whose end was lost."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from routing.clock import FixedClock
from routing.queues import routing_script as route
from routing.queues.router import ForcedChange, Offer, Queued
from routing.store import RedisClient
from tests.conftest import T0
from tests.helpers import router_model as props
from tests.profiles import examples
from tests.routing.conftest import Desk, build, caller


@pytest.fixture
def desk(r: RedisClient, clock: FixedClock) -> Desk:
    return build(r, clock)


def staffed(desk: Desk) -> int:
    """Agents counted as staffed (any skill): what estimated waits divide by."""
    return int(desk.r.hget(desk.keys.routing_staffed(), "*|") or 0)


def indexed(desk: Desk) -> list[str]:
    """Agents in the any-skill availability index: whom the next caller can be given to."""
    return list(desk.r.zrange(desk.keys.routing_available("*"), 0, -1))


def total(desk: Desk, queue: str, field: str) -> int:
    return int(desk.r.hget(desk.keys.stats_total(queue), field) or 0)


# -- a stale offer -----------------------------------------------------------------------------


def test_forcing_an_offered_agent_puts_the_caller_back_in_their_place_without_a_miss(
    desk: Desk,
) -> None:
    desk.agent("a01")
    assert isinstance(desk.router.arrive("CA0", caller(), "general"), Offer)  # a01 rings
    desk.clock.advance(5)
    assert isinstance(desk.router.arrive("CA1", caller(), "general"), Queued)
    desk.clock.advance(600)  # the dial result never came

    change, offers = desk.router.force_agent_state("a01", "away", "sue", "web")

    assert offers == []
    assert change == ForcedChange(
        at=T0 + timedelta(seconds=605),
        by="sue",
        via="web",
        agent_id="a01",
        from_state="offered",
        to_state="away",
        call_sid="CA0",
        ended="offer",
        line="CA0",  # no agent's leg: a classic <Dial> may ring a01, the caller's line ends it
    )
    status = desk.agents.state("a01")
    assert (status.state, status.call_sid, status.missed) == ("away", "", 0)
    back = desk.router.poll("CA0")
    assert back.offer is None and back.position == 1  # still ahead of CA1
    info = desk.router.call("CA0")
    assert info is not None and (info.state, info.entered_at) == ("waiting", T0)
    assert desk.events("missed") == []  # not counted against the agent
    assert (staffed(desk), indexed(desk)) == (0, [])
    desk.agent("a02")  # the next free agent takes the caller who came first
    assert desk.router.offer_for("CA0") is not None
    assert desk.router.offer_for("CA0").agent.id == "a02"  # type: ignore[union-attr]


def test_an_agent_forced_available_is_not_rung_again_at_once_for_the_caller_they_held(
    desk: Desk,
) -> None:
    desk.agent("a01")
    desk.router.arrive("CA0", caller(), "general")
    desk.clock.advance(60)
    _, offers = desk.router.force_agent_state("a01", "available", "sue", "web")
    assert offers == []  # the same stale leg would be rung again: the next agent is tried
    assert desk.agents.state("a01").state == "available"
    desk.clock.advance(20)  # routing.dial_timeout later nobody else came: a01 takes them
    assert [(o.call_sid, o.agent.id) for o in desk.router.tick()] == [("CA0", "a01")]


def test_an_agent_who_arrived_in_the_room_before_a_forced_end_does_not_connect_the_next(
    desk: Desk,
) -> None:
    """The room flag belongs to one offer: the next agent, still ringing, is not recorded as
    answered and connected the moment the caller joins their room (issue 31, point 2)."""
    desk.agent("a01")
    desk.agent("a02")
    assert desk.router.arrive("CA0", caller(), "general").agent.id == "a01"  # type: ignore[union-attr]
    desk.router.room_event("CA0", "start")  # a01 arrived in the room first
    desk.clock.advance(2)
    _, offers = desk.router.force_agent_state("a01", "away", "sue", "web")
    assert [(o.call_sid, o.agent.id) for o in offers] == [("CA0", "a02")]

    desk.router.room_event("CA0", "caller")  # the caller is in the room; a02 still rings

    info = desk.router.call("CA0")
    assert info is not None and (info.state, info.agent_id) == ("offered", "a02")
    assert desk.events("answered") == [] and desk.events("connected") == []
    assert desk.agents.state("a02").state == "offered"
    desk.clock.advance(20)  # a02 lets it ring out: a miss, heard (not ignored as after a talk)
    desk.router.dial_result("CA0", "a02", "no-answer", 0)
    assert [e["agent"] for e in desk.events("missed")] == ["a02"]
    assert desk.agents.state("a02").state == "available"
    desk.router.room_event("CA0", "start")  # a01, available again later, takes them
    assert desk.events("connected") == []  # nobody offered: nobody connected


def test_two_forced_ends_in_one_instant_ring_neither_agent_again_at_once(desk: Desk) -> None:
    """Every agent whose offer of a caller just ended is excluded, not only the last one."""
    desk.agent("a01")
    desk.agent("a02")
    desk.router.arrive("CA0", caller(), "general")  # a01 rings
    _, offers = desk.router.force_agent_state("a01", "available", "sue", "web")
    assert [(o.call_sid, o.agent.id) for o in offers] == [("CA0", "a02")]
    _, offers = desk.router.force_agent_state("a02", "available", "sue", "web")
    assert offers == []  # a01 was excluded a moment ago: not rung again at once
    assert desk.router.call("CA0").state == "waiting"  # type: ignore[union-attr]
    desk.agent("a03")  # a third agent takes them at once
    assert desk.router.offer_for("CA0").agent.id == "a03"  # type: ignore[union-attr]


def test_an_offer_withdrawn_by_removing_the_agent_needs_the_next_agent_in_the_room(
    desk: Desk,
) -> None:
    desk.agent("a01")
    desk.agent("a02")
    desk.router.arrive("CA0", caller(), "general")
    desk.router.room_event("CA0", "start")
    desk.agents.remove("a01")  # the caller goes back to their place, then to a02
    desk.router.tick()
    assert desk.router.call("CA0").agent_id == "a02"  # type: ignore[union-attr]
    desk.router.room_event("CA0", "caller")
    assert desk.events("connected") == [] and desk.router.call("CA0").state == "offered"  # type: ignore[union-attr]


# -- a stale call ------------------------------------------------------------------------------


def test_forcing_an_agent_on_a_lost_call_completes_it_once_and_skips_wrap_up(desk: Desk) -> None:
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.clock.advance(4)
    desk.router.answered("CA1", "a01")
    desk.router.dial_result("CA1", "a01", "completed", 60)  # an earlier call: some history
    handle = desk.r.hget(desk.keys.routing_ewt(), "general:h")
    desk.clock.advance(15)
    desk.router.arrive("CA2", caller(), "general")
    desk.router.answered("CA2", "a01")
    desk.clock.advance(3 * 3600)  # its end was never reported
    desk.router.arrive("CA3", caller(), "general")  # waits: a01 is still "on call"

    change, offers = desk.router.force_agent_state("a01", "available", "sue", "web")

    assert (change.from_state, change.call_sid, change.ended) == ("on_call", "CA2", "call")
    assert [(o.call_sid, o.agent.id) for o in offers] == [("CA3", "a01")]  # no wrap-up first
    info = desk.router.call("CA2")
    assert info is not None and info.state == "done"
    assert [e["kind"] for e in desk.events() if e["call"] == "CA2"] == [
        "entered",
        "offered",
        "answered",
        "completed",
    ]
    assert desk.r.hget(desk.keys.routing_ewt(), "general:h") == handle  # 3 h left out

    # The lost reports arrive after all: nothing is counted twice, a01 keeps CA3.
    desk.router.dial_result("CA2", "a01", "completed", 3 * 3600)
    desk.router.hangup("CA2")
    assert len(desk.events("completed")) == 2
    assert total(desk, "general", "o:completed") == 2
    assert total(desk, "general", "o:answered") == 2
    assert desk.agents.state("a01").call_sid == "CA3"


def test_forcing_an_agent_offline_from_a_call_leaves_nobody_staffed(desk: Desk) -> None:
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.router.answered("CA1", "a01")
    desk.router.set_agent_state("a01", "away")  # only a wish while on the call
    desk.clock.advance(7200)
    change, _ = desk.router.force_agent_state("a01", "offline", "sue", "web")
    assert (change.from_state, change.to_state, change.ended) == ("on_call", "offline", "call")
    status = desk.agents.state("a01")
    assert (status.state, status.since, status.call_sid) == ("offline", desk.clock.now(), "")
    assert (staffed(desk), indexed(desk)) == (0, [])
    assert desk.r.zscore(desk.keys.routing_wrap_up(), "a01") is None
    desk.clock.advance(60)  # the old wish ("away") does not come back with a wrap-up's end
    desk.router.tick()
    assert desk.agents.state("a01").state == "offline"


def test_an_agent_whose_call_record_is_gone_is_freed_all_the_same(desk: Desk) -> None:
    desk.agent("a01")
    desk.router.arrive("CA1", caller(), "general")
    desk.router.answered("CA1", "a01")
    # As a store from before calls released their agent on expiry has it: the record went.
    desk.r.hdel(desk.keys.routing_calls(), "CA1")
    change, _ = desk.router.force_agent_state("a01", "available", "sue", "web")
    assert (change.from_state, change.call_sid, change.ended) == ("on_call", "CA1", "")
    assert desk.agents.state("a01").state == "available"
    assert (staffed(desk), indexed(desk)) == (1, ["a01"])
    placed = desk.router.arrive("CA2", caller(), "general")
    assert isinstance(placed, Offer) and placed.agent.id == "a01"


def test_forcing_an_idle_agent_is_a_plain_change_and_still_recorded(desk: Desk) -> None:
    desk.agent("a01")
    desk.clock.advance(30)
    change, _ = desk.router.force_agent_state("a01", "available", "sue", "web")
    assert (change.from_state, change.to_state, change.call_sid, change.ended) == (
        "available",
        "available",
        "",
        "",
    )
    assert desk.agents.state("a01").since == T0  # already available: the idle time is kept
    change, _ = desk.router.force_agent_state("a01", "away", "ops", "cli")
    assert (change.from_state, change.via) == ("available", "cli")
    assert [c.to_state for c in desk.router.forced_changes()] == ["away", "available"]


# -- the audit list ----------------------------------------------------------------------------


def test_forced_changes_are_kept_newest_first_bounded_in_number(
    r: RedisClient, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(route, "FORCED_KEEP", 3)
    desk = build(r, clock, prefix="few")
    desk.agent("a01")
    for i, state in enumerate(["away", "available", "offline", "available", "away"]):
        desk.clock.advance(1)
        desk.router.force_agent_state("a01", state, f"sup{i}", "web")
    kept = desk.router.forced_changes()
    assert [(c.by, c.to_state) for c in kept] == [
        ("sup4", "away"),
        ("sup3", "available"),
        ("sup2", "offline"),
    ]
    assert [c.by for c in desk.router.forced_changes(limit=1)] == ["sup4"]
    stored = json.loads(desk.r.lindex(desk.keys.routing_forced(), 0) or "{}")
    assert set(stored) == {"at", "by", "via", "agent", "from", "to", "call", "ended"}


def test_forced_changes_older_than_the_statistics_retention_go(desk: Desk) -> None:
    retention = desk.router.settings.stats.retention_days
    desk.agent("a01")
    desk.router.force_agent_state("a01", "away", "old", "web")
    key = desk.keys.routing_forced()
    assert 0 < desk.r.pttl(key) <= retention * 86_400_000
    desk.clock.advance(retention * 86_400 - 1)
    desk.router.force_agent_state("a01", "available", "new", "web")
    assert [c.by for c in desk.router.forced_changes()] == ["new", "old"]
    desk.clock.advance(2)  # "old" is now past the retention: not shown, dropped on write
    assert [c.by for c in desk.router.forced_changes()] == ["new"]
    desk.router.force_agent_state("a01", "away", "newer", "web")
    assert desk.r.llen(key) == 2


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "by", "via", "message"),
    [
        ("wrap_up", "sue", "web", "available, away or offline"),
        ("on_call", "sue", "web", "available, away or offline"),
        ("away", "", "web", "1-64 characters"),
        ("away", "   ", "web", "1-64 characters"),
        ("away", "x" * 65, "web", "1-64 characters"),
        ("away", "sue\n", "web", None),  # stripped: allowed
        ("away", "s\x00ue", "web", "1-64 characters"),
        ("away", "sue", "phone", "web or cli"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    desk: Desk, state: str, by: str, via: str, message: str | None
) -> None:
    desk.agent("a01")
    if message is None:
        change, _ = desk.router.force_agent_state("a01", state, by, via)
        assert change.by == "sue"
        return
    with pytest.raises(ValueError, match=message):
        desk.router.force_agent_state("a01", state, by, via)
    assert desk.agents.state("a01").state == "available"
    assert desk.router.forced_changes() == []


def test_an_unknown_agent_is_refused(desk: Desk) -> None:
    with pytest.raises(KeyError, match="unknown agent a99"):
        desk.router.force_agent_state("a99", "away", "sue", "web")
    assert desk.router.forced_changes() == []


# -- the routing rules still hold --------------------------------------------------------------

force_op = st.tuples(
    st.just("force"), st.integers(0, 4), st.sampled_from(["available", "away", "offline"])
)


@settings(
    max_examples=examples(40),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(team=props.agents_st, ops=st.lists(st.one_of(force_op, props.one_op), max_size=30))
# Both agents freed, a third caller offered to a0, then a0's and a1's offers of them ended in
# one instant: a0 may not be rung again at once (issue 31; the model also lost a0's direct
# ticket when that offer ended).
@example(
    team=[(set(), ["mandarin"]), (set(), ["mandarin"])],
    ops=[("force", 0, "available")] * 2
    + [("arrive", "general", "mandarin", False)]
    + [("force", 0, "available")] * 2,
)
# Found by the thorough profile: the same, with senior-trained agents and a senior.
@example(
    team=[({"senior"}, ["mandarin"]), ({"senior"}, ["mandarin"]), (set(), ["mandarin"])],
    ops=[("force", 0, "available"), ("arrive", "senior", "mandarin", False)]
    + [("force", 0, "available")] * 3,
)
# Found by the thorough profile (a model fault): a repeated return visit is answered
# "exists", which the model did not expect of a repeat.
@example(
    team=[(set(), ["mandarin"])] * 2 + [({"senior"}, ["mandarin"])] * 2,
    ops=[("visit", "senior", "mandarin"), ("dup",)],
)
def test_routing_rules_hold_when_supervisors_force_busy_agents(
    r: RedisClient, team: list[tuple[set[str], list[str]]], ops: list[tuple[Any, ...]]
) -> None:
    """The routing property test, with every agent available and two callers answered first
    (so that agents are held), and half the steps a forced change (on a held agent if any)."""
    start = [("agent", i, "available") for i in range(len(team))]
    start += [("arrive", "general", "mandarin", False)] * 2 + [("answer", 0), ("answer", 1)]
    props.run_steps(r, team, start + ops, None, None)
