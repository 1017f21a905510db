"""Every path a caller can take, whole calls through the real app and the offline Twilio:
the whisper for callers of whom little is known, one word anywhere a key is accepted, hours,
the complaint channel, and every caller counted (issue 21)."""

from __future__ import annotations

import csv
import io
import itertools
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dialects.packs import default_packs
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.offline import Offline
from routing.callers.importer import import_csv
from routing.clock import FixedClock
from tests.cli.conftest import run
from tests.helpers.hotline import connected, heard, offline_hotline
from tests.helpers.people import BY_LANGUAGE, EVERYONE, LANGUAGES, SENIOR, STRANGER, YOUNG
from tests.readable import reads_badly
from tests.web.conftest import PASSWORD, sign_in

WITHHELD = "+266696687"  # Twilio's "anonymous"
PACKS = default_packs()


@pytest.fixture
def runner(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """`silverline ...` on the test Redis (as tests/cli/conftest.py's runner)."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SILVERLINE__REDIS__SOCKET_TIMEOUT", "5")
    return CliRunner()


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
    off = offline_hotline(
        redis_url,
        clock,
        settings={"ivr.whisper": "full", "ivr.connect": connect},
        customers=EVERYONE,
        seed=21,
    )
    agent = off.add_agent("a1", {"senior"}, (language,), aht_s=30.0)
    number, inputs = CALLERS[who]
    leg = off.call(VirtualCaller(number, off.sim.rng, inputs=list(inputs)))
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
    off = offline_hotline(
        redis_url, clock, settings={"ivr.connect": "dial"}, customers=EVERYONE, seed=21
    )
    crm = tmp_path / "crm.csv"
    header = "name,phones,birth_date,id_number,dialect\n"
    crm.write_text(f"{header}黄伯,13900000077,1950-01-01,,{record_says}\n")
    assert not import_csv(off.engine.directory, crm).problems
    # the other agent speaks Mandarin only and has been idle longer
    if code != "mandarin":
        off.add_agent("cmn1", {"senior"}, ("mandarin",))
    run(runner, "agents", "add", "own", "--name", "X", "--skill", "senior", "--dialect", agent_says)
    run(runner, "agents", "set-state", "own", "available")
    leg = off.call(VirtualCaller("+8613900000077", off.sim.rng))
    off.run()
    assert not off.sim.faults
    greeting = PACKS.text(code, "senior_greeting", hotline=off.engine.settings.hotline.name)
    assert heard(leg)[0] == greeting
    assert "connected to client:own" in [line.text for line in leg.transcript]


# -- one word anywhere a key is accepted (issue 21, point 1) ------------------------------------

NIGHT = 13 * 3600  # from the test's 10:00 to 23:00 in Shanghai: closed


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("senior", [True, False])
def test_after_hours_a_word_for_a_person_reaches_the_duty_line(
    redis_url: str, clock: FixedClock, language: str, senior: bool
) -> None:
    off = offline_hotline(
        redis_url, clock, settings={"ivr.connect": "dial"}, customers=EVERYONE, seed=21
    )
    clock.advance(NIGHT)
    (numbers, (person, _, _)) = BY_LANGUAGE[language]
    said = Input(speech=person, after=2.0)
    leg = off.call(VirtualCaller(numbers[0 if senior else 1], off.sim.rng, inputs=[said]))
    off.run()
    assert not off.sim.faults
    assert f"said {person}" in [line.text for line in leg.transcript]
    fallback = off.engine.settings.fallback.number
    assert connected(leg) == [f"connected to {fallback}"]
    assert off.engine.callbacks.count() == 0


@pytest.mark.parametrize("language", LANGUAGES)
def test_after_hours_a_word_for_yes_books_a_call_back_and_no_does_not(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    off = offline_hotline(
        redis_url, clock, settings={"ivr.connect": "dial"}, customers=EVERYONE, seed=21
    )
    clock.advance(NIGHT)
    ((_, younger), (_, yes, no)) = BY_LANGUAGE[language]
    refused = off.call(VirtualCaller(younger, off.sim.rng, inputs=[Input(speech=no)] * 2))
    off.run()
    assert off.engine.callbacks.count() == 0  # twice "no": the duty line, never a hang-up
    assert connected(refused) == [f"connected to {off.engine.settings.fallback.number}"]
    leg = off.call(VirtualCaller(younger, off.sim.rng, inputs=[Input(speech=yes)]))
    off.run()
    assert not off.sim.faults
    assert off.engine.callbacks.count() == 1
    assert heard(leg)[-1] == PACKS.text(language, "callback_recorded")
    assert not connected(leg)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_waiting_senior_books_a_call_back_by_word(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    off = offline_hotline(
        redis_url, clock, settings={"routing.callback_offer_after": 20}, customers=EVERYONE, seed=21
    )
    ((senior, _), (_, yes, _)) = BY_LANGUAGE[language]
    caller = VirtualCaller(senior, off.sim.rng, wait_inputs=[Input(speech=yes)])
    leg = off.call(caller)
    off.run(until=120)
    assert not off.sim.faults
    assert f"said {yes}" in [line.text for line in leg.transcript]
    assert PACKS.text(language, "callback_confirmed") in heard(leg)
    info = off.engine.router.call(leg.sid)
    assert info is not None and info.callback and leg.ended


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_waiting_senior_who_asks_for_a_person_keeps_their_place_and_reaches_one(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    off = offline_hotline(
        redis_url, clock, settings={"routing.callback_offer_after": 20}, customers=EVERYONE, seed=21
    )
    ((senior, _), (person, _, no)) = BY_LANGUAGE[language]
    words = [Input(speech=person), Input(speech=no)]
    leg = off.call(VirtualCaller(senior, off.sim.rng, wait_inputs=words))
    off.run(until=200)
    assert PACKS.text(language, "wait_person") in heard(leg)
    assert not leg.ended and off.engine.callbacks.count() == 0
    off.add_agent("elder", {"senior"}, (language,), aht_s=30.0)
    off.run()
    assert not off.sim.faults
    assert leg.bridged_at is not None and connected(leg) == ["connected to client:elder"]
    info = off.engine.router.call(leg.sid)
    assert info is not None and not info.callback


# -- days with hours of their own (issue 21, point 8) -------------------------------------------
# The test clock starts on Monday 2026-11-23, 10:00 in Shanghai.


@pytest.mark.parametrize("language", LANGUAGES)
def test_after_a_half_day_closes_the_caller_hears_today_s_hours(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    half_day = {"2026-11-23": "08:00-09:30"}
    off = offline_hotline(
        redis_url,
        clock,
        settings={"business_hours.special_days": half_day},
        customers=EVERYONE,
        seed=21,
    )
    off.add_agent("a1", {"senior"}, (language,))
    ((_, younger), _) = BY_LANGUAGE[language]
    leg = off.call(VirtualCaller(younger, off.sim.rng, inputs=[Input(digits="1")]))
    off.run()
    assert not off.sim.faults
    said = heard(leg)
    assert said[0] == PACKS.text(language, "out_of_hours_special", open="08:00", close="09:30")
    assert PACKS.text(language, "callback_recorded") in said and not connected(leg)
    assert off.engine.callbacks.count() == 1


def test_within_a_special_day_s_hours_the_day_flow_runs(redis_url: str, clock: FixedClock) -> None:
    off = offline_hotline(
        redis_url,
        clock,
        settings={"business_hours.special_days": {"2026-11-23": "08:00-12:00"}},
        customers=EVERYONE,
        seed=21,
    )
    off.add_agent("a1", {"senior"})
    leg = off.call(VirtualCaller(SENIOR, off.sim.rng))
    off.run()
    assert not off.sim.faults and connected(leg) == ["connected to client:a1"]


def test_a_call_back_booked_at_night_waits_for_the_special_day_s_opening(
    redis_url: str, clock: FixedClock
) -> None:
    later = {"2026-11-24": "13:00-17:00"}  # Tuesday opens at 13:00, not 08:00
    off = offline_hotline(
        redis_url,
        clock,
        settings={"business_hours.special_days": later},
        customers=EVERYONE,
        seed=21,
    )
    clock.advance(NIGHT)  # Monday 23:00
    night = off.call(VirtualCaller(SENIOR, off.sim.rng))  # a senior is booked a call-back
    off.run()
    assert night.ended and off.engine.callbacks.count() == 1
    clock.advance(10 * 3600)  # Tuesday 09:00: regular hours would be open
    off.add_agent("elder", {"senior"}, aht_s=60.0)
    off.run()
    assert off.engine.callbacks.count() == 1
    assert not [x for x in off.sim.legs.values() if x.direction == "outbound-api"]
    clock.advance(4 * 3600)  # 13:00: the special day opens
    off.beat_soon()
    off.run()
    assert off.engine.callbacks.count() == 0
    back = [x for x in off.sim.legs.values() if x.direction == "outbound-api" and x.to == SENIOR]
    assert len(back) == 1 and back[0].bridged_at is not None


# -- the complaint channel for seniors, and the complaint queue's own hours (point 3) -----------

EVENING = 9 * 3600  # 19:00: the hotline is open (to 20:00), the complaint queue (09-18) is not
MESSAGE = {"mandarin": "我要留言", "cantonese": "留言", "english": "leave a message"}
CALL_BACK = {"mandarin": "回电", "cantonese": "回電", "english": "call me back"}


def channel(off: Offline, language: str) -> str:
    ivr = off.engine.settings.ivr
    return PACKS.text(language, "complaint_channel", hours=ivr.complaint_hours, key="8")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_waiting_senior_hears_the_complaint_channel_once(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    off = offline_hotline(redis_url, clock, customers=EVERYONE, seed=21)
    ((senior, _), _) = BY_LANGUAGE[language]
    leg = off.call(VirtualCaller(senior, off.sim.rng))
    off.run(until=150)
    assert heard(leg).count(channel(off, language)) == 1
    off.add_agent("elder", {"senior"}, (language,), aht_s=30.0)
    off.run()
    assert not off.sim.faults and connected(leg) == ["connected to client:elder"]


@pytest.mark.parametrize("path", ["dial", "conference"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_senior_put_through_at_once_hears_the_complaint_channel_after_the_call(
    redis_url: str, clock: FixedClock, language: str, path: str
) -> None:
    off = offline_hotline(
        redis_url, clock, settings={"ivr.connect": path}, customers=EVERYONE, seed=21
    )
    off.add_agent("elder", {"senior"}, (language,), aht_s=30.0)
    ((senior, _), _) = BY_LANGUAGE[language]
    leg = off.call(VirtualCaller(senior, off.sim.rng))
    off.run()
    assert not off.sim.faults
    said = heard(leg)
    assert said[-1] == channel(off, language)  # after the agent, before the call ends
    talk = [line.at for line in leg.transcript if line.text.startswith("connected to ")]
    assert [line.at for line in leg.transcript if line.text == said[-1]][0] > talk[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_out_of_complaint_hours_a_complaint_is_recorded_by_key_or_word(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    off = offline_hotline(redis_url, clock, customers=EVERYONE, seed=21)
    off.add_agent("c1", {"complaints", "senior"}, (language,))
    clock.advance(EVENING)
    ((_, younger), _) = BY_LANGUAGE[language]
    for answer in (Input(digits="1"), Input(speech=MESSAGE[language])):
        caller = VirtualCaller(
            younger, off.sim.rng, inputs=[Input(digits="8"), answer], message_s=20
        )
        leg = off.call(caller)
        off.run()
        assert not off.sim.faults
        hours = off.engine.settings.ivr.complaint_hours
        assert PACKS.text(language, "complaint_closed", hours=hours) in heard(leg)
        assert heard(leg)[-1] == PACKS.text(language, "complaint_recorded")
        assert not connected(leg) and off.engine.router.call(leg.sid) is None
    box = off.engine.complaints.latest()
    assert len(box) == 2 and all(
        c.seconds == 20 and "/Recordings/RE" in c.recording_url for c in box
    )


def test_a_complaint_left_silent_reaches_a_person(redis_url: str, clock: FixedClock) -> None:
    off = offline_hotline(redis_url, clock, customers=EVERYONE, seed=21)
    off.add_agent("g1", set())
    clock.advance(EVENING)
    leg = off.call(VirtualCaller(YOUNG, off.sim.rng, inputs=[Input(digits="8"), Input(digits="1")]))
    off.run()
    assert not off.sim.faults and off.engine.complaints.count() == 0
    assert connected(leg) == ["connected to client:g1"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_complaint_call_back_waits_for_the_complaint_queue_s_hours(
    redis_url: str, clock: FixedClock, language: str
) -> None:
    off = offline_hotline(
        redis_url, clock, settings={"ivr.connect": "dial"}, customers=EVERYONE, seed=21
    )
    clock.advance(EVENING)
    ((_, younger), _) = BY_LANGUAGE[language]
    inputs = [Input(digits="8"), Input(speech=CALL_BACK[language])]
    leg = off.call(VirtualCaller(younger, off.sim.rng, inputs=inputs))
    off.run()
    assert heard(leg)[-1] == PACKS.text(language, "complaint_callback")
    assert off.engine.callbacks.count() == 1
    clock.advance(13 * 3600 + 1800)  # Tuesday 08:30: the hotline is open, complaints are not
    off.add_agent("c1", {"complaints"}, (language,), aht_s=30.0)
    off.beat_soon()
    off.run()
    assert not off.sim.faults and off.engine.callbacks.count() == 0
    back = [x for x in off.sim.legs.values() if x.direction == "outbound-api" and x.to == younger]
    assert len(back) == 1 and connected(back[0]) == ["connected to client:c1"]
    info = off.engine.router.call(leg.sid)
    assert info is not None and info.queue == "complaints" and info.callback
    opened = datetime(2026, 11, 24, 9, tzinfo=off.engine.settings.tz)
    assert info.entered_at == opened  # queued when the complaint queue opened, not at 08:30


# -- every caller counted (point 10) -----------------------------------------------------------

UNROUTED = ("ivr_abandoned", "booked_callback", "ah_duty", "ah_hangup", "complaint_recorded")


def test_every_caller_is_counted_on_the_api_the_dashboard_and_the_csv(
    redis_url: str, clock: FixedClock
) -> None:
    off = offline_hotline(
        redis_url, clock, settings={"ivr.connect": "dial"}, customers=EVERYONE, seed=21
    )
    off.add_agent("a1", {"senior"}, aht_s=30.0)
    impatient = {"patience_s": 3.0, "patience_from": "start"}
    calls = [
        off.call(VirtualCaller(STRANGER, off.sim.rng, **impatient)),  # hangs up in the menu
        off.call(
            VirtualCaller(YOUNG, off.sim.rng, inputs=[Input(digits="0")]), delay=60
        ),  # an agent
    ]
    off.run()
    clock.advance(NIGHT)  # 23:00: closed
    ((senior, _), _) = BY_LANGUAGE["mandarin"]
    calls += [
        off.call(
            VirtualCaller(
                BY_LANGUAGE["english"][0][1], off.sim.rng, inputs=[Input(speech="call back")]
            )
        ),
        off.call(
            VirtualCaller(
                BY_LANGUAGE["mandarin"][0][1], off.sim.rng, inputs=[Input(speech="转人工")]
            ),
            delay=60,
        ),
        off.call(
            VirtualCaller(senior, off.sim.rng, **impatient), delay=120
        ),  # hangs up after hours
    ]
    off.run()
    assert not off.sim.faults and all(leg.ended for leg in calls)
    day = off.engine.stats.day()["all"]
    expect = {"other": (1, 1, 1, 0, 0), "senior": (0, 0, 0, 1, 0)}
    for klass, counts in expect.items():
        assert tuple(getattr(day[klass], k) for k in UNROUTED) == counts, klass
    assert day["all"].offered == 1 and day["all"].answered == 1
    placed = day["all"].offered + sum(getattr(day["all"], k) for k in UNROUTED)
    assert placed == len(calls)  # every call placed is accounted for, once
    client = off.app.test_client()
    off.engine.users.add("sue", PASSWORD, "supervisor")
    sign_in(client, "sue")
    api = client.get("/api/v1/queues").get_json()["all"]["today"]["all"]
    assert [api[k] for k in UNROUTED] == [1, 1, 1, 1, 0]
    page = client.get("/supervisor").get_data(as_text=True)
    assert 'id="u-all-ivr_abandoned"' in page
    text = client.get("/supervisor/export.csv?start=2026-11-23&end=2026-11-23").get_data(
        as_text=True
    )
    rows = [r for r in csv.DictReader(io.StringIO(text)) if r["class"] == "all"]
    columns = ("ivr_abandoned", "callbacks_booked", "after_hours_duty", "after_hours_hangup")
    assert [sum(int(r[c]) for r in rows) for c in columns] == [1, 1, 1, 1]
