"""What the real network does that the happy path hides: call-backs with CallSids of their own,
voicemail, busy lines, queue errors, a slow or failing REST API, a caller who leaves while the
agent's phone rings. Whole calls through the real app and the offline Twilio; each behaviour
relied on is cited where the offline Twilio models it (ivr/simulator/core/switch.py,
interpreter.py, rest.py).
"""

from __future__ import annotations

from datetime import date

import pytest

from dialects.packs import default_packs
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.ledger import Lossy
from ivr.simulator.offline import Offline
from routing.callers.caller import Customer
from routing.clock import FixedClock
from routing.reporting.queue_stats import Figures
from tests.helpers.hotline import ask_for_a_call_back, call_backs, events, heard, offline_hotline
from tests.helpers.people import SENIOR

PACKS = default_packs()
FALLBACK = "+861095500999"


# the classic path's network (the conference path's: tests/scenarios/test_time_to_human.py)
NETWORK = {"routing.callback_offer_after": 20, "ivr.connect": "dial"}


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    return offline_hotline(redis_url, clock, settings=NETWORK, seed=5)


def seniors_today(off: Offline) -> Figures:
    return off.engine.stats.day()["all"]["senior"]


# -- 1. a call-back the agent misses --------------------------------------------------------


def test_a_senior_whose_call_back_the_agent_misses_is_put_through_to_the_next(
    hotline: Offline,
) -> None:
    inbound = ask_for_a_call_back(
        hotline, VirtualCaller(SENIOR, hotline.sim.rng, accept_callback=True)
    )
    sleepy = hotline.add_agent("sleepy", {"senior"}, miss_probability=1.0)
    hotline.run(until=hotline.sim.now() + 1)  # the call-back is placed for sleepy
    awake = hotline.add_agent("awake", {"senior"}, aht_s=60.0)
    hotline.run()
    [back] = call_backs(hotline)
    assert back.sid != inbound.sid  # a call of its own, with its own CallSid
    assert "ringing client:sleepy" in events(back) and "connected to client:awake" in events(back)
    assert "<Hangup>" not in events(back)[: events(back).index("connected to client:awake")]
    assert PACKS.text("mandarin", "reroute") in heard(back)
    assert sleepy.calls == 0 and awake.calls == 1
    info = hotline.engine.router.call(inbound.sid)
    assert info is not None and info.state == "done" and info.agent_id == "awake"
    figures = seniors_today(hotline)
    assert (figures.answered, figures.abandoned, figures.cb_placed) == (1, 0, 1)
    assert not hotline.sim.faults


def test_a_missed_call_back_waits_on_the_line_and_is_pulled_out_by_rest(
    hotline: Offline,
) -> None:
    inbound = ask_for_a_call_back(
        hotline, VirtualCaller(SENIOR, hotline.sim.rng, accept_callback=True)
    )
    hotline.add_agent("sleepy", {"senior"}, miss_probability=1.0)
    hotline.run(until=hotline.sim.now() + 20)
    [back] = call_backs(hotline)
    for _ in range(120):  # rung, missed, the senior waits on the line (sleepy may ring again)
        if events(back)[-1].startswith("waiting in queue"):
            break
        hotline.run(until=hotline.sim.now() + 1)
    assert not back.ended and back.enqueued_at is not None and back.bridged_at is None
    awake = hotline.add_agent("awake", {"senior"}, aht_s=60.0)
    hotline.run()
    pulls = [r for r in hotline.rest.api.requests if "/Members/" in r[1]]
    assert pulls and pulls[0][1].endswith(f"/Members/{back.sid}.json")  # the leg in the queue
    assert "connected to client:awake" in events(back) and awake.calls == 1
    info = hotline.engine.router.call(inbound.sid)
    assert info is not None and info.state == "done"
    assert (seniors_today(hotline).answered, seniors_today(hotline).abandoned) == (1, 0)
    assert not hotline.sim.faults


def test_a_senior_who_hangs_up_while_waiting_on_the_call_back_leg_has_abandoned(
    hotline: Offline,
) -> None:
    caller = VirtualCaller(SENIOR, hotline.sim.rng, accept_callback=True)
    inbound = ask_for_a_call_back(hotline, caller)
    sleepy = hotline.add_agent("sleepy", {"senior"}, miss_probability=1.0)
    hotline.run(until=hotline.sim.now() + 60)
    [back] = call_backs(hotline)
    hotline.sim.hang_up(back.sid, "caller gave up")
    hotline.run()
    info = hotline.engine.router.call(inbound.sid)
    assert info is not None and info.state == "gone"
    assert hotline.engine.router.snapshot().queues["senior"].waiting == 0  # no ghost
    assert hotline.engine.agents.state("sleepy").call_sid == "" and sleepy.calls == 0
    # A call-back entry is not counted as abandoned (as Amazon Connect excludes call-backs
    # from its abandon rate: record_lib.lua); it is over, and no one is offered it again.
    assert (seniors_today(hotline).answered, seniors_today(hotline).cb_placed) == (0, 1)


# -- 2. voicemail answers a call-back ---------------------------------------------------------


def test_a_voicemail_that_answers_a_call_back_is_retried_not_put_through(
    redis_url: str, clock: FixedClock
) -> None:
    settings = {**NETWORK, "routing.callback_retry_seconds": 60}
    off = offline_hotline(redis_url, clock, settings=settings, seed=5)
    caller = VirtualCaller(SENIOR, off.sim.rng, accept_callback=True)
    inbound = ask_for_a_call_back(off, caller)
    caller.answers = "voicemail"
    agent = off.add_agent("elder", {"senior"}, aht_s=60.0)
    # asked once for a key or a word, then the short message (ivr/call/voice/machine.py)
    off.run(until=off.sim.now() + 50)
    [first] = call_backs(off)
    assert first.ended and agent.calls == 0 and first.bridged_at is None
    info = off.engine.router.call(inbound.sid)
    assert info is not None and info.state == "retry" and info.callback_attempts == 1
    assert off.engine.agents.state("elder").state == "available"  # released at once
    assert seniors_today(off).answered == 0
    caller.answers = "person"  # back home: the retry reaches them
    off.run()
    assert len(call_backs(off)) == 2 and agent.calls == 1
    assert (seniors_today(off).answered, seniors_today(off).abandoned) == (1, 0)
    placed = [r[2] for r in off.rest.api.requests if r[1].endswith("/Calls.json")]
    assert placed and all(form.get("MachineDetection") == "Enable" for form in placed)
    assert not off.sim.faults


# -- 3. busy last-resort lines ----------------------------------------------------------------


def test_a_busy_on_call_line_and_a_busy_fallback_line_lead_to_the_next_line(
    redis_url: str, clock: FixedClock
) -> None:
    settings = {
        **NETWORK,
        "business_hours.open": "22:00",  # closed at the test's 10:00 local time
        "business_hours.close": "23:00",
        "business_hours.on_call_senior_number": "+861095500100",
        "fallback.alternates": ["+861095500998"],
    }
    off = offline_hotline(redis_url, clock, settings=settings, seed=5)
    off.sim.people.add_agent("+861095500100", refuse="busy")
    off.sim.people.add_agent(FALLBACK, refuse="no-answer")
    spare = off.sim.people.add_agent("+861095500998", aht_s=30.0)
    leg = off.call(VirtualCaller(SENIOR, off.sim.rng))
    off.run()
    said = heard(leg)
    assert PACKS.text("mandarin", "out_of_hours_oncall") in said
    assert said.count(PACKS.text("mandarin", "fallback_retry")) == 2  # on-call, then fallback
    assert "connected to +861095500998" in events(leg) and spare.calls == 1
    assert not off.sim.faults


def test_when_every_line_is_busy_the_caller_hears_so_and_is_never_hung_up_on(
    redis_url: str, clock: FixedClock
) -> None:
    settings = {**NETWORK, "business_hours.open": "22:00", "business_hours.close": "23:00"}
    off = offline_hotline(redis_url, clock, settings=settings, seed=5)
    line = off.sim.people.add_agent(FALLBACK, refuse="busy")
    leg = off.call(VirtualCaller(SENIOR, off.sim.rng, inputs=[Input(digits="0")]))  # the duty line
    off.run(until=200)
    assert not leg.ended
    assert PACKS.text("mandarin", "fallback_all_busy") in heard(leg)
    line.refuse = ""  # a line frees up
    off.run()
    assert f"connected to {FALLBACK}" in events(leg) and line.calls == 1
    assert not off.sim.faults


# -- 4. a queue error leaves no ghost ---------------------------------------------------------


def test_a_caller_put_out_of_a_full_queue_is_never_offered_to_an_agent(hotline: Offline) -> None:
    hotline.engine.directory.save(
        Customer("c3", "王婆", date(1950, 1, 1), "mandarin", ("+8613800000003",))
    )
    hotline.sim.queues.named("senior", 0.0).max_size = 1  # queue-full for the second caller
    first = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    second = hotline.call(VirtualCaller("+8613800000003", hotline.sim.rng), delay=5)
    hotline.run(until=40)
    assert second.queue_results == ["queue-full"]
    assert f"connected to {FALLBACK}" in events(second)  # a person on the fallback line
    info = hotline.engine.router.call(second.sid)
    assert info is not None and info.state == "overflowed"
    agent = hotline.add_agent("elder", {"senior"}, aht_s=30.0)
    hotline.run()
    assert agent.calls == 1 and "connected to client:elder" in events(first)
    offered = [
        e
        for e in hotline.engine.redis.xrange(hotline.engine.keys.stats_events())
        if e[1].get(b"kind", e[1].get("kind")) in (b"offered", "offered")
    ]
    assert len(offered) == 1  # only the first caller was ever offered
    assert seniors_today(hotline).overflowed == 1


# -- 5. a slow or failing REST API ------------------------------------------------------------


@pytest.mark.parametrize("trouble", ["slow", "down"])
def test_a_slow_or_failing_rest_api_never_delays_a_webhook(
    redis_url: str, clock: FixedClock, trouble: str
) -> None:
    settings = {**NETWORK, "routing.wrap_up_seconds": 0}
    off = offline_hotline(redis_url, clock, settings=settings, seed=5)
    off.engine.directory.save(
        Customer("c3", "王婆", date(1950, 1, 1), "mandarin", ("+8613800000003",))
    )
    if trouble == "slow":
        off.sim.rest_latency_s = 20.0  # past Twilio's 15 s webhook budget
    else:
        off.sim.rest_down = True
    agent = off.add_agent("elder", {"senior"}, aht_s=40.0)
    first = off.call(VirtualCaller(SENIOR, off.sim.rng))
    second = off.call(VirtualCaller("+8613800000003", off.sim.rng), delay=5)
    off.run()
    # The first call's end frees the agent inside /voice/dial-result, which assigns the second
    # caller; the pull is REST work. Done inside the webhook, it made Twilio give up (11205)
    # and send the first caller to the fallback line.
    assert not [f for f in off.sim.faults if f.code == 11205]
    assert not off.sim.faults
    assert "connected to client:elder" in events(second) and agent.calls == 2
    assert f"connected to {FALLBACK}" not in events(first)
    assert second.queue_results and second.queue_results[0] == "leave"  # the next poll


# -- 6. the caller leaves while the agent's phone rings ---------------------------------------


@pytest.mark.parametrize("reported", ["no-answer", "canceled"])
def test_a_caller_who_hangs_up_while_the_agent_rings_abandoned_and_no_miss_is_counted(
    hotline: Offline, reported: str
) -> None:
    # Twilio's docs do not say which DialCallStatus a <Dial> reports then: the app must not
    # depend on it (canceled is for REST cancellation).
    hotline.sim.dial_status_when_caller_leaves = reported
    agent = hotline.add_agent("slow", {"senior"}, answer_delay_s=(15.0, 15.0))
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng, patience_s=3.0))
    hotline.run()
    assert leg.bridged_at is None and agent.calls == 0
    status = hotline.engine.agents.state("slow")
    assert (status.state, status.missed, status.call_sid) == ("available", 0, "")
    info = hotline.engine.router.call(leg.sid)
    assert info is not None and info.state == "gone"
    figures = seniors_today(hotline)
    assert (figures.missed, figures.abandoned + figures.short_abandoned) == (0, 1)
    assert hotline.engine.router.snapshot().queues["senior"].waiting == 0


# -- 7. speech end-pointing --------------------------------------------------------------------


def test_the_menu_sets_a_speech_timeout_twilio_accepts(hotline: Offline) -> None:
    hotline.add_agent("policy", {"policy"}, aht_s=30.0)
    leg = hotline.call(VirtualCaller("+8613800000002", hotline.sim.rng))  # unknown: the menu
    hotline.run()
    topic = PACKS.text("mandarin", "topic_policy")
    assert any(topic in text for text in heard(leg))  # the menu's Gather ran
    assert not [f for f in hotline.sim.faults if f.code == 13335]
    assert not hotline.sim.faults


# -- a placed call's first webhook fails ------------------------------------------------------


def test_a_call_back_whose_answer_webhook_fails_reaches_the_fallback_line(
    hotline: Offline,
) -> None:
    """Every call Silverline places carries /voice/fallback as its FallbackUrl: a senior whose
    call-back's first webhook fails hears a person, not Twilio's error message."""
    inbound = ask_for_a_call_back(
        hotline, VirtualCaller(SENIOR, hotline.sim.rng, accept_callback=True)
    )
    line = hotline.sim.people.add_agent(FALLBACK, aht_s=30.0)
    assert hotline.sim.webhooks is not None
    inner = hotline.sim.webhooks.transport
    hotline.sim.webhooks.transport = Lossy(inner, lambda url: "/voice/callback-answer" in url)
    hotline.add_agent("elder", {"senior"}, aht_s=60.0)
    hotline.run(until=hotline.sim.now() + 60)
    [back] = call_backs(hotline)
    placed = [r[2] for r in hotline.rest.api.requests if r[1].endswith("/Calls.json")]
    assert placed and placed[0].get("FallbackUrl", "").endswith("/voice/fallback")
    assert f"connected to {FALLBACK}" in events(back) and line.calls == 1
    assert not any("application error" in said.lower() for said in heard(back))
    assert inbound.sid != back.sid
