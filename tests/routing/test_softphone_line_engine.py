"""The softphone's own open line in the engine: the console claims the line for its Device,
the Device's call becomes the line, and a REST leg placed meanwhile is not a second line."""

from __future__ import annotations

from routing.clock import FixedClock
from routing.queues.agents import Agent
from routing.store import RedisClient
from tests.routing.conftest import Desk, build

SKILLS = frozenset({"senior", "policy"})


def _softphone(desk: Desk, persistent: bool = True) -> None:
    desk.agents.save(Agent("a01", "A01", "client:a01", SKILLS, ("mandarin",), False, persistent))
    desk.router.set_agent_state("a01", "available")


def test_the_device_claim_keeps_rest_away_for_thirty_seconds_then_rest_places_it(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = build(r, clock)
    _softphone(desk)
    desk.router.open_line("a01", "device")
    assert desk.router.lines().to_open == []  # the console's Device is connecting it
    clock.advance(29)
    assert desk.router.lines().to_open == []
    clock.advance(1)  # it never arrived: the REST-placed line is the fallback
    assert [a.id for a in desk.router.lines().to_open] == ["a01"]


def test_the_devices_call_becomes_the_line_once_and_a_rest_leg_after_it_is_closed(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = build(r, clock)
    _softphone(desk)
    [claimed] = desk.router.lines().to_open  # REST is placing a leg ...
    assert claimed.id == "a01"
    assert desk.router.open_line("a01", "dialled", "CAdevice").accepted  # ... the Device won
    assert not desk.router.open_line("a01", "dialled", "CAagain").accepted
    assert desk.router.open_line("a01", "placed", "CArest").close == "CArest"
    assert desk.agents.state("a01").line_placed == "CAdevice"
    desk.router.open_room("a01", "join", "CAdevice", "CFroom")
    assert desk.agents.state("a01").open_line == "CAdevice"


def test_an_agent_who_wants_no_line_or_is_offline_gets_none_from_the_device(
    r: RedisClient, clock: FixedClock
) -> None:
    desk = build(r, clock)
    _softphone(desk, persistent=False)
    assert not desk.router.open_line("a01", "dialled", "CAdevice").accepted
    _softphone(desk)
    desk.router.set_agent_state("a01", "offline")
    assert not desk.router.open_line("a01", "dialled", "CAdevice").accepted
    assert desk.agents.state("a01").line_placed == ""


def test_a_device_claim_made_before_the_line_is_wanted_keeps_rest_away(
    r: RedisClient, clock: FixedClock
) -> None:
    """The console claims the line, then saves the profile that wants it (or signs in): a
    ticker looking for lines to place in between must not ring the agent through REST."""
    desk = build(r, clock)
    _softphone(desk, persistent=False)
    desk.router.open_line("a01", "device")
    _softphone(desk)  # the toggle's save: the line is wanted now
    assert desk.router.lines().to_open == []
    desk.router.set_agent_state("a01", "offline")
    desk.router.open_line("a01", "device")  # signing in again with the console
    desk.router.set_agent_state("a01", "available")
    assert desk.router.lines().to_open == []
    assert desk.router.open_line("a01", "dialled", "CAdevice").accepted
