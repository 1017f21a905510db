"""Overflow, whole calls through the real app and the offline Twilio: a queue's wait bound or
length limit sends callers to its overflow line, another queue or a call-back offer, and
Twilio's queue-full is routed the same way (issue 21, point 5; docs/routing.md, "Overflow")."""

from __future__ import annotations

import pytest

from dialects.packs import default_packs
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.offline import Offline
from routing.clock import FixedClock
from tests.helpers.hotline import connected, heard, offline_hotline
from tests.helpers.people import BY_LANGUAGE, EVERYONE, LANGUAGES, STRANGER

PACKS = default_packs()
LINE = "+861095500777"  # the overflow line: a partner centre
PERSON = [Input(digits="0")]  # younger callers: "0" at the menu, a person


def _younger(language: str) -> str:
    return BY_LANGUAGE[language][0][1]


def kinds(off: Offline, sid: str) -> list[str]:
    """The statistics events of call `sid`, oldest first."""
    stream = off.engine.redis.xrange(off.engine.keys.stats_events())
    return [fields["kind"] for _, fields in stream if fields.get("call") == sid]


def _queue_holds_one(off: Offline, queue: str) -> None:
    """Twilio's queue of that name takes one caller (its maxSize): the next finds it full."""
    off.sim.queues.named(queue, 0.0).max_size = 1


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_caller_past_the_wait_bound_hears_why_and_reaches_the_overflow_line(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    off = offline_hotline(
        redis_url,
        clock,
        settings={"queues.general.overflow_after": 90, "queues.general.overflow_to": LINE},
        customers=EVERYONE,
        seed=21,
    )
    partner = off.sim.people.add_agent(LINE)
    leg = off.call(VirtualCaller(_younger(language), off.sim.rng, inputs=list(PERSON)))
    off.run(until=400)
    assert not off.sim.faults
    assert connected(leg) == [f"connected to {LINE}"] and partner.calls == 1
    assert PACKS.text(language, "overflow_line") in heard(leg)
    info = off.engine.router.call(leg.sid)
    assert info is not None and info.state == "overflowed"
    today = off.engine.stats.day()["general"]["all"]
    assert (today.offered, today.overflowed, today.answered, today.abandoned) == (1, 1, 0, 0)


def test_an_arrival_finding_the_queue_too_long_goes_to_the_line_without_waiting(
    redis_url: str, clock: FixedClock
) -> None:
    off = offline_hotline(
        redis_url,
        clock,
        settings={"queues.general.overflow_length": 1, "queues.general.overflow_to": LINE},
        customers=EVERYONE,
        seed=21,
    )
    off.sim.people.add_agent(LINE)
    first = off.call(VirtualCaller(_younger("mandarin"), off.sim.rng, inputs=list(PERSON)))
    second = off.call(VirtualCaller(_younger("english"), off.sim.rng, inputs=list(PERSON)), 5)
    off.run(until=120)
    assert not off.sim.faults
    assert connected(second) == [f"connected to {LINE}"]
    assert second.queue_results == []  # never queued
    assert not connected(first) and not first.ended  # still waiting for an agent


def test_a_senior_twilio_finds_the_queue_full_for_moves_to_the_overflow_queue(
    redis_url: str, clock: FixedClock
) -> None:
    off = offline_hotline(
        redis_url,
        clock,
        settings={"queues.senior.overflow_to": "general"},
        customers=EVERYONE,
        seed=21,
    )
    _queue_holds_one(off, "senior")
    first = off.call(VirtualCaller(BY_LANGUAGE["mandarin"][0][0], off.sim.rng))
    second = off.call(VirtualCaller(BY_LANGUAGE["cantonese"][0][0], off.sim.rng), 5)
    off.run(until=30)
    assert second.queue_results == ["queue-full"]
    info = off.engine.router.call(second.sid)
    assert info is not None and (info.queue, info.state) == ("general", "waiting")
    hotline = off.engine.settings.hotline.name
    greeting = PACKS.text("cantonese", "senior_greeting", hotline=hotline)
    assert greeting in heard(second)  # heard in the queue they overflowed to
    # an agent without senior training: only the general queue's callers are theirs yet
    off.add_agent("gen", set(), ("cantonese",), aht_s=30.0)
    off.run(until=40)
    assert connected(second) == ["connected to client:gen"]
    assert not connected(first)  # the senior queue's ladder needs senior training until 45 s
    assert not off.sim.faults


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_full_queue_with_a_call_back_overflow_books_one_by_word(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    off = offline_hotline(
        redis_url,
        clock,
        settings={"queues.general.overflow_to": "callback"},
        customers=EVERYONE,
        seed=21,
    )
    _queue_holds_one(off, "general")
    (_, yes, _) = BY_LANGUAGE[language][1]
    off.call(VirtualCaller(STRANGER, off.sim.rng, inputs=list(PERSON)))  # fills the queue
    caller = VirtualCaller(_younger(language), off.sim.rng, inputs=[*PERSON, Input(speech=yes)])
    leg = off.call(caller, 5)
    off.run(until=60)
    assert not off.sim.faults
    assert leg.queue_results == ["queue-full"]
    assert f"said {yes}" in [line.text for line in leg.transcript]
    assert leg.ended and not connected(leg)
    info = off.engine.router.call(leg.sid)
    assert info is not None and info.state == "waiting"  # their place kept, as a call-back
    assert "callback_requested" in kinds(off, leg.sid)
    assert heard(leg)[-1] == PACKS.text(language, "callback_confirmed")


def test_a_full_queue_call_back_offer_met_with_silence_reaches_a_person(
    redis_url: str, clock: FixedClock
) -> None:
    off = offline_hotline(
        redis_url,
        clock,
        settings={"queues.general.overflow_to": "callback"},
        customers=EVERYONE,
        seed=21,
    )
    _queue_holds_one(off, "general")
    off.call(VirtualCaller(_younger("mandarin"), off.sim.rng, inputs=list(PERSON)))
    leg = off.call(VirtualCaller(_younger("english"), off.sim.rng, inputs=list(PERSON)), 5)
    off.run(until=90)
    assert not off.sim.faults
    assert leg.queue_results == ["queue-full"]
    assert PACKS.text("english", "wait_callback_offer") in heard(leg)
    assert connected(leg) == [f"connected to {off.engine.settings.fallback.number}"]


def test_a_senior_climbs_the_ladder_to_a_topic_specialist_at_its_time(
    redis_url: str, clock: FixedClock
) -> None:
    ladder = [
        {"after": 0, "skill": "senior", "dialect": True},
        {"after": 20, "skill": "senior"},
        {"after": 40, "skill": "claims"},
        {"after": 60, "skill": ""},
    ]
    off = offline_hotline(
        redis_url,
        clock,
        settings={"queues.senior.ladder": ladder, "queues.senior.widen_to_any_after": 0},
        customers=EVERYONE,
        seed=21,
    )
    off.add_agent("anyone", set(), ("cantonese",), aht_s=30.0)  # the last rung's
    off.add_agent("specialist", {"claims"}, ("mandarin",), aht_s=30.0)
    leg = off.call(VirtualCaller(BY_LANGUAGE["cantonese"][0][0], off.sim.rng))
    off.run(until=39)
    assert not connected(leg)  # no senior-trained agent: nobody before the claims rung
    off.run(until=80)
    assert connected(leg) == ["connected to client:specialist"]
    joined = next(line.at for line in leg.transcript if line.text.startswith("connected to"))
    assert 40 <= joined < 60  # rung 3 opened at 40 s (ringing and whisper after it)
    assert not off.sim.faults


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_younger_caller_past_the_bound_is_offered_a_call_back_and_takes_it_by_word(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    off = offline_hotline(
        redis_url,
        clock,
        settings={"queues.general.overflow_after": 30, "queues.general.overflow_to": "callback"},
        customers=EVERYONE,
        seed=21,
    )
    (_, yes, _) = BY_LANGUAGE[language][1]
    caller = VirtualCaller(
        _younger(language), off.sim.rng, inputs=list(PERSON), wait_inputs=[Input(speech=yes)]
    )
    leg = off.call(caller)
    off.run(until=25)
    assert PACKS.text(language, "wait_callback_offer") not in heard(leg)  # not before 30 s
    off.run(until=200)
    assert not off.sim.faults
    assert PACKS.text(language, "wait_callback_offer") in heard(leg)
    assert "callback_requested" in kinds(off, leg.sid)
    assert leg.ended and not connected(leg)
