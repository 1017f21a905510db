"""The widening ladder: who may take a waiting caller, rung by rung, as their wait grows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from routing.clock import FixedClock
from routing.queues.router import Offer, Queued
from routing.settings import LadderStep, QueueSettings, SettingsError
from routing.store import RedisClient
from tests.conftest import T0
from tests.routing.conftest import Desk, build, caller

# senior-trained in the caller's dialect -> any senior-trained -> claims specialists -> anyone
LADDER = [
    {"after": 0, "skill": "senior", "dialect": True},
    {"after": 20, "skill": "senior"},
    {"after": 40, "skill": "claims"},
    {"after": 60, "skill": ""},
]


@pytest.fixture
def ladder_desk(r: RedisClient, clock: FixedClock) -> Desk:
    return build(
        r, clock, **{"queues.senior.ladder": LADDER, "queues.senior.widen_to_any_after": 0}
    )


def _staff_every_rung(desk: Desk) -> None:
    """A Cantonese senior-trained agent kept busy, then one free agent per lower rung."""
    desk.agent("yue", "senior", "cantonese")
    held = desk.router.arrive(
        "CA0", caller("cantonese", senior=True, number="+8613900000000"), "senior"
    )
    assert isinstance(held, Offer) and held.agent.id == "yue"
    desk.router.answered("CA0", "yue")
    desk.agent("anyone", "", "cantonese")  # speaks the dialect, but only the last rung has them
    desk.agent("claims", "claims", "mandarin")
    desk.agent("senior", "senior", "mandarin")


def test_each_rung_opens_at_its_own_time_in_order(ladder_desk: Desk) -> None:
    desk = ladder_desk
    _staff_every_rung(desk)
    senior = caller("cantonese", senior=True)
    assert isinstance(desk.router.arrive("CA1", senior, "senior"), Queued)  # dialect only
    assert desk.router.next_due() == T0 + timedelta(seconds=20)
    desk.clock.advance(19.999)
    assert desk.router.tick() == []
    desk.clock.advance(0.001)
    assert [o.agent.id for o in desk.router.tick()] == ["senior"]  # any senior-trained
    desk.router.answered("CA1", "senior")
    desk.router.arrive("CA2", caller("cantonese", senior=True, number="+8613900000002"), "senior")
    # CA2 entered at 20 s: its second rung opens at 40 s (no agent on it), its third at 60 s
    assert desk.router.next_due() == T0 + timedelta(seconds=40)
    desk.clock.advance(39.999)
    assert desk.router.tick() == []
    desk.clock.advance(0.001)
    assert [o.agent.id for o in desk.router.tick()] == ["claims"]  # the specialists' rung
    desk.router.answered("CA2", "claims")
    desk.router.arrive("CA3", caller("cantonese", senior=True, number="+8613900000003"), "senior")
    desk.clock.advance(59.999)
    assert desk.router.tick() == []
    desk.clock.advance(0.001)
    assert [o.agent.id for o in desk.router.tick()] == ["anyone"]


def test_a_dialect_rung_with_no_speaker_staffed_takes_the_rest_of_its_skill(
    ladder_desk: Desk,
) -> None:
    desk = ladder_desk
    desk.agent("senior", "senior", "mandarin")
    placed = desk.router.arrive("CA1", caller("minnan", senior=True), "senior")
    assert isinstance(placed, Offer) and placed.agent.id == "senior"


def test_within_a_reached_rung_the_callers_dialect_goes_first(ladder_desk: Desk) -> None:
    desk = ladder_desk
    desk.agent("m", "claims", "mandarin")
    desk.clock.advance(5)
    desk.agent("c", "claims", "cantonese")  # idle for less time, speaks the caller's dialect
    desk.clock.advance(-5)
    # no senior-trained agent at all: the caller waits until the claims rung opens
    assert isinstance(desk.router.arrive("CA1", caller("cantonese", senior=True), "senior"), Queued)
    desk.clock.advance(40)
    assert [o.agent.id for o in desk.router.tick()] == ["c"]


def test_the_implied_ladder_is_the_widening_times() -> None:
    q = QueueSettings(skill="senior", widen_to_any_after=45, drop_dialect_after=30)
    assert q.steps() == (
        LadderStep(0, "senior", True),
        LadderStep(30, "senior"),
        LadderStep(45, ""),
    )
    general = QueueSettings(skill="", drop_dialect_after=20)
    assert general.steps() == (LadderStep(0, "", True), LadderStep(20, ""))


@pytest.mark.parametrize(
    ("ladder", "key"),
    [
        ([{"after": 5, "skill": "senior"}], "queues.senior.ladder[0].after"),
        ([{"after": 0}, {"after": 30}, {"after": 10}], "queues.senior.ladder"),
        ([{"after": 0, "skill": "Senior!"}], "queues.senior.ladder[0].skill"),
        ([{"after": 0, "skil": "senior"}], "queues.senior.ladder[0].skil"),
    ],
)
def test_a_bad_ladder_stops_start_up_naming_the_key(
    r: RedisClient, clock: FixedClock, ladder: list[dict[str, object]], key: str
) -> None:
    overrides = {"queues.senior.ladder": ladder, "queues.senior.widen_to_any_after": 0}
    with pytest.raises(SettingsError, match=re.escape(f"'{key}'")):
        build(r, clock, **overrides)


def test_a_ladder_with_a_widening_time_too_is_refused(r: RedisClient, clock: FixedClock) -> None:
    with pytest.raises(SettingsError, match="queues.senior.ladder.*widen_to_any_after"):
        build(r, clock, **{"queues.senior.ladder": LADDER, "queues.senior.widen_to_any_after": 45})
