"""The agent's whisper and console card read well whatever is known about the caller."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
from twilio.twiml.voice_response import VoiceResponse

from dialects.packs import default_packs
from ivr.call.agent_leg import agent_twiml, whisper_into
from routing.queues.agents import Agent
from routing.queues.router import Offer
from tests.readable import reads_badly

PACKS = default_packs()
QUEUES = ("senior", "general", "policy", "claims", "payments", "complaints")


def _offer(
    language: str, senior: bool, name: str, age: int | None, dialect: str, queue: str
) -> Offer:
    agent = Agent("a1", "A", "client:a1", frozenset({"senior"}), (language,))
    when = datetime(2026, 11, 23, 2, tzinfo=UTC)
    return Offer(
        call_sid="CA1", agent=agent, queue=queue, senior=senior, caller_name=name,
        caller_number=None, caller_age=age, caller_dialect=dialect, entered_at=when,
        callback=False,
    )  # fmt: skip


def _whisper(offer: Offer, kind: str) -> str:
    vr = VoiceResponse()
    whisper_into(vr, offer, kind)
    return "".join(say.text or "" for say in ET.fromstring(str(vr)).iter("Say"))


@pytest.mark.parametrize(
    ("kind", "language"), list(itertools.product(("full", "short"), PACKS.codes))
)
def test_every_combination_of_known_fields_reads_well(kind: str, language: str) -> None:
    combos = itertools.product((True, False), ("陈伯", ""), (72, None), PACKS.codes, QUEUES)
    for senior, name, age, dialect, queue in combos:
        said = _whisper(_offer(language, senior, name, age, dialect, queue), kind)
        assert not reads_badly(said), (said, senior, name, age, dialect, queue)
        if kind == "full":
            assert (str(age) in said) == (age is not None and senior), said
            assert ("陈伯" in said) == bool(name), said


def test_an_unknown_age_leaves_no_empty_unit_behind() -> None:
    said = _whisper(_offer("mandarin", True, "", None, "mandarin", "senior"), "full")
    assert said == "老年来电，请放慢语速、耐心解答。来电人未登记客户，讲普通话。"
    said = _whisper(_offer("english", True, "", None, "cantonese", "senior"), "full")
    assert said == (
        "Elderly caller, please speak slowly and clearly. Caller not registered, speaks Cantonese."
    )
    said = _whisper(_offer("cantonese", True, "陈伯", 72, "cantonese", "senior"), "full")
    assert said == "長者來電，請講慢啲、耐心解答。來電人陈伯，72歲，講廣東話。"


def test_an_optional_part_is_dropped_only_when_a_field_in_it_is_unknown() -> None:
    text = PACKS.text("mandarin", "whisper_senior", name="王", age=0, dialect="")
    assert text == "老年来电，请放慢语速、耐心解答。来电人王，0岁。"


@pytest.mark.parametrize("language", PACKS.codes)
def test_the_agents_leg_twiml_holds_the_whisper_and_the_room_within_twilios_limit(
    language: str,
) -> None:
    """The agent's leg is placed with its TwiML inline (ivr/call/agent_leg.py): the whisper,
    then the caller's room, which the agent's arrival starts; Twilio takes at most 4,000
    characters (error 32018), so the longest whisper must fit with the URL of a long base."""
    offer = _offer(language, True, "欧阳" * 16, 104, "cantonese", "complaints")
    base = "https://" + "h" * 200 + ".example.com/silverline"
    twiml = agent_twiml(offer, base, "full")
    assert len(twiml) <= 4000
    root = ET.fromstring(twiml)
    assert [el.tag for el in root] == ["Say", "Dial"]
    assert root[0].text == _whisper(offer, "full")
    [room] = root.iter("Conference")
    assert room.text == "CA1"
    assert (room.get("startConferenceOnEnter"), room.get("endConferenceOnExit")) == ("true", "true")
    callback = room.get("statusCallback", "")
    assert callback.startswith(f"{base}/voice/room-status?") and "agent=a1" in callback
    assert "by=agent" in callback and room.get("statusCallbackEvent") == "start join"
    assert [el.tag for el in ET.fromstring(agent_twiml(offer, base, "none"))] == ["Dial"]
