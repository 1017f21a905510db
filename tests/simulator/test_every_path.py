"""Every path a caller can take, whole calls through the real app and the offline Twilio:
the whisper for callers of whom little is known, one word anywhere a key is accepted, hours,
the complaint channel, and every caller counted (issue 21)."""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import create_app
from dialects.packs import default_packs
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import Caller, Input
from ivr.simulator.offline import Offline
from routing.caller import Customer
from routing.clock import FixedClock
from routing.importer import import_csv
from tests.cli.conftest import run
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


@pytest.fixture
def runner(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """`silverline ...` on the test Redis (as tests/cli/conftest.py's runner)."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SILVERLINE__REDIS__SOCKET_TIMEOUT", "5")
    return CliRunner()


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


# -- dialects as records spell them (issue 21, point 9) ----------------------------------------


@pytest.mark.parametrize(
    ("record_says", "agent_says", "code"),
    [("廣東話", "yue", "cantonese"), ("eng", "English", "english"), ("國語", "cmn", "mandarin")],
)
def test_a_dialect_spelt_as_the_crm_spells_it_reaches_an_agent_who_speaks_it(
    redis_url: str,
    clock: FixedClock,
    runner: CliRunner,
    tmp_path: Path,
    record_says: str,
    agent_says: str,
    code: str,
) -> None:
    off = hotline_for(redis_url, clock, **{"ivr.connect": "dial"})
    crm = tmp_path / "crm.csv"
    header = "name,phones,birth_date,id_number,dialect\n"
    crm.write_text(f"{header}黄伯,13900000077,1950-01-01,,{record_says}\n")
    assert not import_csv(off.engine.directory, crm).problems
    # the other agent speaks Mandarin only and has been idle longer
    if code != "mandarin":
        off.add_agent("cmn1", {"senior"}, ("mandarin",))
    run(runner, "agents", "add", "own", "--name", "X", "--skill", "senior", "--dialect", agent_says)
    run(runner, "agents", "set-state", "own", "available")
    leg = off.call(Caller("+8613900000077", off.sim.rng))
    off.run()
    assert not off.sim.faults
    greeting = PACKS.text(code, "senior_greeting", hotline=off.engine.settings.hotline.name)
    assert heard(leg)[0] == greeting
    assert "connected to client:own" in [line.text for line in leg.transcript]
