"""The account's calls per second shared through Redis (routing/outbound/pacing.py): agent
legs first, call-backs next, visits last; a REST failure holds every create off."""

from __future__ import annotations

import pytest

from routing.clock import FixedClock
from routing.keys import Keys
from routing.outbound.pacing import Pacing
from routing.store import RedisClient


@pytest.fixture
def pacing(r: RedisClient, clock: FixedClock) -> Pacing:
    return Pacing(r, clock, Keys("sl"))


def test_one_agent_leg_a_second_at_one_call_per_second(pacing: Pacing, clock: FixedClock) -> None:
    assert pacing.take("senior", 1.0)
    assert not pacing.take("senior", 1.0)  # it would wait in Twilio's queue
    clock.advance(999 / 1000)
    assert not pacing.take("senior", 1.0)
    clock.advance(1 / 1000)
    assert pacing.take("senior", 1.0)
    clock.advance(1)
    assert pacing.take("senior", 4.0)  # the gap follows the setting: a quarter second
    clock.advance(250 / 1000)
    assert pacing.take("senior", 4.0)


def test_others_call_backs_and_visits_take_only_the_seconds_seniors_legs_leave(
    pacing: Pacing, clock: FixedClock
) -> None:
    assert pacing.take("senior", 1.0)
    clock.advance(1)
    assert not pacing.take("agent", 1.0)  # a senior's leg may need this second
    assert not pacing.take("callback", 1.0) and not pacing.take("visit", 1.0)
    clock.advance(1)
    assert not pacing.take("callback", 1.0) and not pacing.take("visit", 1.0)
    assert pacing.take("agent", 1.0)
    clock.advance(3)
    assert not pacing.take("visit", 1.0)
    assert pacing.take("callback", 1.0)
    clock.advance(5)
    assert pacing.take("visit", 1.0)


def test_a_rest_failure_holds_every_create_off_even_unlimited(
    pacing: Pacing, clock: FixedClock
) -> None:
    assert pacing.take("senior", 0)  # no limit
    pacing.hold_off(3.0, 0)
    assert not pacing.take("senior", 0) and not pacing.take("senior", 1.0)
    clock.advance(3)
    assert pacing.take("senior", 0) and pacing.take("senior", 1.0)


def test_an_unknown_kind_is_refused(pacing: Pacing) -> None:
    with pytest.raises(ValueError, match="created call"):
        pacing.take("fax", 1.0)
