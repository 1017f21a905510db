"""Every path a caller can take, whole calls through the real app and the offline Twilio:
the whisper for callers of whom little is known, one word anywhere a key is accepted, hours,
the complaint channel, and every caller counted (issue 21)."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from app import create_app
from dialects.packs import default_packs
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import Caller, Input
from ivr.simulator.offline import Offline
from routing.caller import Customer
from routing.clock import FixedClock
from tests.conftest import CLUSTER
from tests.readable import reads_badly

SENIOR = "+8613800000001"  # born 1954: 72 on the test date
YOUNG = "+8613800000002"  # born 1991
STRANGER = "+8613800000099"  # no record
WITHHELD = "+266696687"  # Twilio's "anonymous"
PACKS = default_packs()


def hotline_for(redis_url: str, clock: FixedClock, **overrides: object) -> Offline:
    off = Offline(
        create_app,
        {"redis.url": redis_url, "redis.cluster": CLUSTER, **overrides},
        clock=clock,
        seed=21,
    )
    directory = off.engine.directory
    directory.save(Customer("c1", "陈伯", date(1954, 3, 1), "mandarin", (SENIOR,)))
    directory.save(Customer("c2", "李娜", date(1991, 6, 1), "cantonese", (YOUNG,)))
    return off


def heard(leg: Leg, party: str = "caller") -> list[str]:
    return [line.text for line in leg.transcript if line.party == party and line.kind == "say"]


def agents_heard(off: Offline) -> list[str]:
    """What agents heard on their own legs (a <Dial>'s child, or the conference path's)."""
    legs = [leg for leg in off.sim.legs.values() if leg.to.startswith("client:")]
    return [text for leg in legs for text in heard(leg, "agent")]


# -- the whisper (issue 21, point 7) ---------------------------------------------------------

CALLERS = {
    "known senior": (SENIOR, []),
    "known younger": (YOUNG, [Input(digits="0")]),
    "stranger": (STRANGER, [Input(digits="0")]),
    "stranger who says they are a senior": (STRANGER, [Input(digits="9")]),
    "withheld number": (WITHHELD, [Input(digits="0")]),
}


@pytest.mark.parametrize(
    ("who", "language", "connect"),
    list(itertools.product(CALLERS, ("mandarin", "cantonese", "english"), ("dial", "conference"))),
)
def test_the_full_whisper_reads_well_whatever_is_known_of_the_caller(
    redis_url: str, clock: FixedClock, who: str, language: str, connect: str
) -> None:
    off = hotline_for(redis_url, clock, **{"ivr.whisper": "full", "ivr.connect": connect})
    agent = off.add_agent("a1", {"senior"}, (language,), aht_s=30.0)
    number, inputs = CALLERS[who]
    leg = off.call(Caller(number, off.sim.rng, inputs=list(inputs)))
    off.run()
    assert not off.sim.faults
    assert leg.bridged_at is not None and agent.calls == 1
    [whisper] = agents_heard(off)
    assert not reads_badly(whisper), whisper
    known = number in (SENIOR, YOUNG)
    unknown_name = PACKS.text(language, "caller_unknown")
    assert (unknown_name in whisper) != known, whisper
    if who == "known senior":
        assert "72" in whisper and "陈伯" in whisper
