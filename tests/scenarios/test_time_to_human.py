"""The conference connection path (ivr/call/connect.py) through the real webhooks and the offline
Twilio's conferences: the agent rings while the senior is greeted, and every failure of the
path still reaches a person."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path

import pytest

from dialects.packs import default_packs
from ivr import services
from ivr.call import dispatch
from ivr.call.dispatch import Dispatcher
from ivr.runtime.redis_process import RedisProcess
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.core.transport import Reply, Transport
from ivr.simulator.ledger import Lossy
from ivr.simulator.offline import Offline
from routing.callers.caller import Customer
from routing.clock import FixedClock
from routing.reporting.queue_stats import Figures
from tests.helpers.hotline import offline_hotline
from tests.helpers.people import SENIOR, SENIOR_CUSTOMER

OTHER_SENIOR = "+8613800000003"
# A redis-server of the test's own, standalone even in a cluster run.
OWN_REDIS_CONFERENCE = {"redis.cluster": False, "ivr.connect": "conference"}
PACKS = default_packs()


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    other = Customer("c3", "王婆", date(1950, 1, 1), "mandarin", (OTHER_SENIOR,))
    settings = {"ivr.connect": "conference"}
    return offline_hotline(redis_url, clock, settings=settings, customers=(SENIOR_CUSTOMER, other))


def no_delivery_delay(off: Offline) -> None:
    """Callbacks delivered the moment they happen: for a test of the call path's own timing.

    Twilio delivers status and conference callbacks asynchronously, up to
    `callback_jitter_s` late in the offline Twilio (docs/real-network.md); the connection is
    recorded when its callback arrives, so by up to that much more than the caller heard.
    """
    off.sim.callback_jitter_s = 0.0


def events(leg: Leg) -> list[str]:
    return [line.text for line in leg.transcript if line.kind == "event"]


def said(leg: Leg, party: str = "caller") -> list[tuple[float, str]]:
    return [(x.at, x.text) for x in leg.transcript if x.party == party and x.kind == "say"]


def seniors(off: Offline) -> Figures:
    return off.engine.stats.day()["all"]["senior"]


def agent_legs(off: Offline) -> list[Leg]:
    return [
        leg
        for leg in off.sim.legs.values()
        if leg.direction == "outbound-api" and leg.to.startswith("client:")
    ]


def test_the_agent_rings_while_the_senior_is_greeted_and_the_greeting_stops_for_them(
    hotline: Offline,
) -> None:
    no_delivery_delay(hotline)
    agent = hotline.add_agent("elder", {"senior"}, aht_s=60.0, answer_delay_s=(3.0, 3.0))
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    assert not hotline.sim.faults
    [ring] = agent_legs(hotline)
    assert ring.created_at == leg.created_at  # rung from the first webhook, not after it
    assert leg.bridged_at is not None and agent.calls == 1
    tth = leg.bridged_at - leg.created_at
    greeting = PACKS.text(
        "mandarin", "senior_greeting", hotline=hotline.engine.settings.hotline.name
    )
    heard = [text for _, text in said(leg)]
    # its first words at the room's door while the agent's leg is placed, the rest in the room
    assert heard[0] == "您好，" and "".join(heard[:2]) == greeting, heard
    # the greeting (~9 s at the senior pace) is cut by the agent's arrival: ringing (3 s),
    # then a whisper of a second
    assert tth < 5.0, tth
    assert [text for _, text in said(ring, "agent")] == ["老年来电。"]  # the agent's own leg
    day = seniors(hotline)
    assert day.connected == 1 and day.tth_s is not None and abs(day.tth_s - tth) < 0.01
    assert (day.answered, day.abandoned) == (1, 0)
    info = hotline.engine.router.call(leg.sid)
    assert info is not None and info.state == "done"


def test_an_agent_who_does_not_answer_is_followed_by_the_next_while_the_senior_waits(
    hotline: Offline,
) -> None:
    sleepy = hotline.add_agent("sleepy", {"senior"}, miss_probability=1.0)
    hotline.run(until=30)  # sleepy has been idle longest, so is rung first
    awake = hotline.add_agent("awake", {"senior"}, aht_s=60.0, answer_delay_s=(2.0, 2.0))
    hotline.run(until=31)
    awake_calls_before = awake.calls
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    assert not hotline.sim.faults
    assert [x.to for x in agent_legs(hotline)] == ["client:sleepy", "client:awake"]
    assert sleepy.calls == 0 and awake.calls == awake_calls_before + 1
    assert "<Hangup>" not in events(leg)[:-2] and leg.bridged_at is not None
    status = hotline.engine.agents.state("sleepy")
    assert status.missed == 1
    day = seniors(hotline)
    assert (day.answered, day.missed, day.connected) == (1, 1, 1)


def test_an_agent_who_does_not_answer_rings_for_the_dial_timeout_in_all_not_five_s_more(
    hotline: Offline,
) -> None:
    """Twilio rings a created call about 5 s past its Timeout (the offline Twilio does too):
    the agent's leg asks for that much less, so the next agent is rung routing.dial_timeout
    after the first, as the figures and docs/real-network.md say."""
    no_delivery_delay(hotline)
    hotline.add_agent("sleepy", {"senior"}, miss_probability=1.0)
    hotline.run(until=30)
    hotline.add_agent("awake", {"senior"}, aht_s=60.0, answer_delay_s=(2.0, 2.0))
    hotline.run(until=31)
    hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    first, second = agent_legs(hotline)
    placed = [r[2] for r in hotline.rest.api.requests if r[1].endswith("/Calls.json")]
    dial_timeout = hotline.engine.settings.routing.dial_timeout
    assert int(placed[0]["Timeout"]) == dial_timeout - 5
    assert first.ended_at is not None
    assert abs(first.ended_at - first.created_at - dial_timeout) < 0.5
    assert abs(second.created_at - first.created_at - dial_timeout) < 0.5


def test_a_senior_who_hangs_up_during_the_greeting_frees_the_agent_and_stops_the_ringing(
    hotline: Offline,
) -> None:
    agent = hotline.add_agent("elder", {"senior"}, answer_delay_s=(8.0, 8.0))
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng, patience_s=2.0))
    hotline.run()
    [ring] = agent_legs(hotline)
    assert ring.status == "canceled" and agent.calls == 0  # canceled through REST
    assert leg.bridged_at is None
    status = hotline.engine.agents.state("elder")
    assert (status.state, status.missed, status.call_sid) == ("available", 0, "")
    day = seniors(hotline)
    assert (day.answered, day.abandoned + day.short_abandoned, day.missed) == (0, 1, 0)


def test_an_agent_picking_up_after_the_senior_left_unstopped_is_hung_up(
    hotline: Offline,
) -> None:
    """The agent's leg runs its room inline, with no webhook to find the offer gone: the REST
    request that stops their ringing fails (the API away when the senior hangs up), they pick
    up into an empty room, and the room's first event hangs up on them at once."""
    agent = hotline.add_agent("elder", {"senior"}, answer_delay_s=(8.0, 8.0))
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng, patience_s=2.0))
    sched, sim = hotline.sim.sched, hotline.sim
    sched.call_later(1.5, lambda: setattr(sim, "rest_down", True))
    sched.call_later(5.0, lambda: setattr(sim, "rest_down", False))
    hotline.run(until=300)  # left in the room, the agent would be there for good
    assert not hotline.sim.faults
    [ring] = agent_legs(hotline)
    assert ring.answered_at is not None and agent.calls == 0  # picked up, nobody there
    assert ring.ended_at is not None and ring.ended_at - ring.answered_at < 3.0  # whisper, out
    assert leg.bridged_at is None
    status = hotline.engine.agents.state("elder")
    assert (status.state, status.missed, status.call_sid) == ("available", 0, "")
    day = seniors(hotline)
    assert (day.answered, day.abandoned + day.short_abandoned, day.connected) == (0, 1, 0)


def test_an_offer_withdrawn_while_the_agent_rings_stops_their_ringing_and_the_next_agent_talks(
    hotline: Offline,
) -> None:
    """A supervisor forces a ringing agent away: their leg, whose TwiML would take them into
    the senior's room, is ended as the dashboard's API ends it; the senior, still in the room,
    is put through to the next agent, one agent only."""
    slow = hotline.add_agent("slow", {"senior"}, answer_delay_s=(8.0, 8.0))
    hotline.run(until=30)  # slow has been idle longest, so is rung first
    other = hotline.add_agent("other", {"senior"}, aht_s=60.0, answer_delay_s=(2.0, 2.0))
    hotline.run(until=31)
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run(until=33)
    change, offers = hotline.engine.router.force_agent_state("slow", "away", "sue", "web")
    assert change.ended == "offer" and change.leg == agent_legs(hotline)[0].sid
    with hotline.app.app_context():  # what POST /api/v1/agents/<id>/state does with it
        dispatch.end_agent_leg(change.leg)
        dispatch.act_on(offers, hotline.base)
    hotline.run(until=300)
    assert not hotline.sim.faults
    first, second = agent_legs(hotline)
    assert first.to == "client:slow" and first.answered_at is None and first.ended
    assert second.to == "client:other" and leg.bridged_at is not None
    assert slow.calls == 0 and other.calls == 1
    day = seniors(hotline)
    assert (day.answered, day.missed, day.connected) == (1, 0, 1)


def test_a_waiting_senior_is_pulled_into_their_room_when_an_agent_is_rung_for_them(
    hotline: Offline,
) -> None:
    agent = hotline.add_agent("elder", {"senior"}, aht_s=40.0, answer_delay_s=(3.0, 3.0))
    first = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    second = hotline.call(VirtualCaller(OTHER_SENIOR, hotline.sim.rng), delay=5)
    hotline.run()
    assert not hotline.sim.faults
    assert second.enqueued_at is not None and second.bridged_at is not None
    # the agent is free for the second senior once their leg with the first has ended (the
    # first senior may stay on a little, hearing the complaint channel: connect.room_result)
    first_leg = min(agent_legs(hotline), key=lambda leg: leg.created_at)
    assert first_leg.ended_at is not None and first.ended_at is not None
    assert agent.calls == 2 and second.bridged_at >= first_leg.ended_at - 1e-6
    pulls = [r for r in hotline.rest.api.requests if "/Members/" in r[1]]
    assert pulls and pulls[0][2].get("Url", "").startswith(f"{hotline.base}/voice/room?")
    assert seniors(hotline).connected == 2


def test_when_the_agents_leg_cannot_be_placed_the_call_goes_the_classic_way(
    hotline: Offline,
) -> None:
    # The first answer never waits for REST (issue 32, point 4): the first caller hears their
    # greeting's first words at their room's door while the create fails, and is <Dial>ed
    # from there, never having entered a room only REST could take them out of; callers
    # after them, while REST is in trouble, are <Dial>ed at once. Nobody waits for REST.
    hotline.sim.rest_down = True
    agent = hotline.add_agent("elder", {"senior"}, aht_s=40.0)
    other = hotline.add_agent("other", {"senior"}, aht_s=40.0)
    first = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    leg = hotline.call(VirtualCaller(OTHER_SENIOR, hotline.sim.rng), delay=1.0)
    hotline.run(until=30)
    assert not hotline.sim.faults and agent_legs(hotline) == []
    for caller in (first, leg):
        assert any(e.startswith("connected to client:") for e in events(caller)), events(caller)
        assert caller.bridged_at is not None and caller.bridged_at - caller.created_at < 15
        assert not [e for e in events(caller) if e.startswith("joined conference")]  # no room
    heard = [text for _, text in said(first)]
    greeting = PACKS.text(
        "mandarin", "senior_greeting", hotline=hotline.engine.settings.hotline.name
    )
    assert "".join(heard[:2]) == greeting  # the first words at the door, the rest before <Dial>
    assert agent.calls + other.calls == 2 and seniors(hotline).connected == 2


class _RedisAwayFor:
    """A transport that takes Redis away (SIGKILL) for the webhooks to `path`, and brings it
    back (same port, its append-only file read back) once they are answered."""

    def __init__(self, inner: Transport, server: RedisProcess, path: str) -> None:
        self.inner, self.server, self.path = inner, server, path
        self.hit: list[str] = []

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        if self.path not in url:
            return self.inner.send(method, url, form, headers)
        self.server.kill()
        try:
            reply = self.inner.send(method, url, form, headers)
        finally:
            self.server.start()
        self.hit.append(reply.body)
        return reply


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always")
    server.start()
    yield server
    server.stop()


def test_redis_away_when_the_agent_picks_up_still_puts_the_senior_through(
    own_redis: RedisProcess, clock: FixedClock
) -> None:
    """The agent's leg runs the whisper and the room inline: no webhook at the pick-up, so
    nothing there needs Redis. The room's start is the one report then; with Redis away it is
    kept and replayed, and the call is counted once."""
    off = offline_hotline(own_redis.url, clock, settings=OWN_REDIS_CONFERENCE)
    agent = off.add_agent("elder", {"senior"}, aht_s=30.0, answer_delay_s=(3.0, 3.0))
    assert off.sim.webhooks is not None
    away = _RedisAwayFor(off.sim.webhooks.transport, own_redis, "/voice/room-status")
    off.sim.webhooks.transport = away
    leg = off.call(VirtualCaller(SENIOR, off.sim.rng))
    off.run()
    assert not off.sim.faults
    assert len(away.hit) == 1  # the room's start, answered while Redis was away
    [ring] = agent_legs(off)
    whisper = PACKS.text(
        "mandarin", "whisper_senior_short", queue=PACKS.text("mandarin", "topic_senior")
    )
    assert [text for _, text in said(ring, "agent")] == [whisper]  # heard before the room
    assert leg.bridged_at is not None and leg.bridged_at - leg.created_at < 5.0
    assert "connected to client:elder" in events(leg) and agent.calls == 1
    # Redis back: the kept report and the agent's end close the call, counted once
    status = off.engine.agents.state("elder")
    assert (status.state, status.call_sid, status.missed) == ("available", "", 0)
    day = seniors(off)
    assert (day.answered, day.abandoned, day.connected) == (1, 0, 1)


def test_the_rooms_first_hold_document_and_its_result_need_no_redis(
    own_redis: RedisProcess, clock: FixedClock
) -> None:
    """Who the caller is rides in the room's URLs: the greeting of the first hold document and
    the complaint channel after the agent leaves are answered with Redis away (before, the
    first gave the settings-only "connecting", the second no complaint channel)."""
    off = offline_hotline(own_redis.url, clock, settings=OWN_REDIS_CONFERENCE)
    off.add_agent("elder", {"senior"}, aht_s=30.0, answer_delay_s=(3.0, 3.0))
    assert off.sim.webhooks is not None
    hold = _RedisAwayFor(off.sim.webhooks.transport, own_redis, "/voice/hold")
    result = _RedisAwayFor(hold, own_redis, "/voice/room-result")
    off.sim.webhooks.transport = result
    leg = off.call(VirtualCaller(SENIOR, off.sim.rng))
    off.run()
    assert not off.sim.faults and len(hold.hit) == 1 and len(result.hit) == 1
    hotline = off.engine.settings.hotline.name
    ivr = off.engine.settings.ivr
    heard = [text for _, text in said(leg)]
    # the first words at the room's door, the rest from the hold document (Redis away)
    assert "".join(heard[:2]) == PACKS.text("mandarin", "senior_greeting", hotline=hotline)
    told = PACKS.text("mandarin", "complaint_channel", hours=ivr.complaint_hours,
                      key=ivr.complaint_key)  # fmt: skip
    assert heard[-1] == told and leg.bridged_at is not None


def test_when_the_next_agents_leg_cannot_be_placed_the_senior_waits_in_the_room_for_one(
    hotline: Offline,
) -> None:
    """REST fails after the senior is in their room: the offer is released, they keep hearing
    the room's hold audio, and the first assignment after REST is back rings an agent."""
    sleepy = hotline.add_agent("sleepy", {"senior"}, miss_probability=1.0)
    hotline.run(until=30)  # sleepy has been idle longest, so is rung first
    awake = hotline.add_agent("awake", {"senior"}, aht_s=60.0, answer_delay_s=(2.0, 2.0))
    hotline.run(until=31)
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    sched, sim = hotline.sim.sched, hotline.sim
    sched.call_later(1.0, lambda: setattr(sim, "rest_down", True))  # before sleepy's miss
    sched.call_later(40.0, lambda: setattr(sim, "rest_down", False))
    hotline.run()
    assert not hotline.sim.faults
    assert [x.to for x in agent_legs(hotline)] == ["client:sleepy", "client:awake"]
    [awake_leg] = [x for x in agent_legs(hotline) if x.to == "client:awake"]
    assert awake_leg.created_at >= leg.created_at + 40.0  # rung once REST was back
    assert "<Hangup>" not in events(leg)[:-2] and leg.bridged_at is not None
    assert sleepy.calls == 0 and awake.calls >= 1
    hold = [text for _, text in said(leg)]
    assert len(hold) >= 2  # the greeting, then "connecting" while REST was away
    day = seniors(hotline)
    assert (day.answered, day.abandoned, day.connected) == (1, 0, 1)


def test_an_agent_answering_for_a_caller_whose_hang_up_was_lost_is_not_left_in_the_room(
    redis_url: str, clock: FixedClock
) -> None:
    """The caller's status callback is lost: the agent picks up into an empty room, and the
    caller, looked up once nothing is heard of them, is closed and the agent's leg ended."""
    # the default path: conference
    off = offline_hotline(redis_url, clock, settings={"routing.reconcile_after": 30})
    agent = off.add_agent("elder", {"senior"}, aht_s=60.0, answer_delay_s=(8.0, 8.0))
    assert off.sim.webhooks is not None
    lossy = Lossy(off.sim.webhooks.transport, lambda url: url.split("?")[0].endswith("/status"))
    off.sim.webhooks.transport = lossy
    leg = off.call(VirtualCaller(SENIOR, off.sim.rng, patience_s=2.0))
    off.run(until=3600)
    assert lossy.lost and leg.ended and leg.bridged_at is None
    [ring] = agent_legs(off)
    assert ring.answered_at is not None and agent.calls == 0  # picked up, nobody there
    assert ring.ended and ring.ended_at is not None and ring.ended_at < 120  # ended via REST
    status = off.engine.agents.state("elder")
    assert status.state not in ("offered", "on_call"), status
    day = seniors(off)
    assert (day.answered + day.abandoned + day.short_abandoned, day.connected) == (1, 0)


def test_a_senior_who_finds_nobody_free_hears_the_greeting_in_the_queue_cut_for_their_agent(
    hotline: Offline,
) -> None:
    """The greeting plays from the wait URL, where the REST pull that brings the senior to
    their room cuts it: they hear the agent 4 s after one frees, not after the greeting."""
    hotline.add_agent("elder", {"senior"}, aht_s=60.0, answer_delay_s=(3.0, 3.0))
    hotline.engine.router.set_agent_state("elder", "away")  # nobody free
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run(until=1)
    greeting = PACKS.text(
        "mandarin", "senior_greeting", hotline=hotline.engine.settings.hotline.name
    )
    assert leg.enqueued_at == leg.created_at  # into the queue at once, the greeting there
    assert [text for _, text in said(leg)][:1] == [greeting]
    offers = hotline.engine.router.set_agent_state("elder", "available")  # frees at 1 s
    Dispatcher(hotline.engine, services.of(hotline.app).telephony).act(offers, hotline.base)
    hotline.run()
    assert not hotline.sim.faults
    assert leg.bridged_at is not None
    assert leg.bridged_at - leg.created_at == pytest.approx(1.0 + 4.0, abs=0.01)  # ring + whisper
    assert leg.bridged_at - leg.created_at < hotline.sim.speaking_time(greeting) / 0.8  # cut
    assert len(agent_legs(hotline)) == 1 and seniors(hotline).connected == 1


def test_an_offer_rung_late_by_another_request_rings_the_agent_once(hotline: Offline) -> None:
    """BENCHMARKS.md section 8's race: an offer made by another request, whose REST work runs
    after its answer, is seen first by the caller's own wait-URL poll. The agent's leg is
    claimed once: the caller is connected from their own webhook, the late REST work rings
    nobody again."""
    hotline.add_agent("elder", {"senior"}, aht_s=60.0, answer_delay_s=(3.0, 3.0))
    router = hotline.engine.router
    router.set_agent_state("elder", "away")
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run(until=3)
    # the offer, made by a request whose REST work has not run yet
    late = router.set_agent_state("elder", "available")
    assert [o.call_sid for o in late] == [leg.sid]
    hotline.run(until=40)  # meanwhile the senior's next poll sees it
    Dispatcher(hotline.engine, services.of(hotline.app).telephony).act(late, hotline.base)
    hotline.run()
    assert not hotline.sim.faults
    rung = [x for x in hotline.sim.legs.values() if x.to == "client:elder"]
    assert len(rung) == 1, [(x.direction, x.created_at) for x in rung]
    assert leg.bridged_at is not None and "connected to client:elder" in events(leg)
    day = seniors(hotline)
    assert (day.answered, day.missed, day.connected) == (1, 0, 1)


def test_a_senior_left_in_their_room_after_their_record_is_over_reaches_a_person(
    hotline: Offline,
) -> None:
    """A room's hold document does not loop for good once the routing record is over (here
    closed by a mistaken report while the senior is still on the line): the senior is taken
    to the fallback line, the agent's leg placed for them ended."""
    line = hotline.engine.settings.fallback.lines[0]
    duty = hotline.sim.people.add_agent(line, answer_delay_s=(2.0, 2.0), aht_s=30.0)
    hotline.add_agent("elder", {"senior"}, answer_delay_s=(60.0, 60.0))  # slow to answer
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run(until=2)
    hotline.engine.router.hangup(leg.sid)  # the record is over; the senior is not
    hotline.run(until=600)  # (before, the hold document looped for as long as they stayed)
    assert not hotline.sim.faults
    assert leg.bridged_at is not None and f"connected to {line}" in events(leg)
    assert "<Hangup>" not in events(leg)[:-2] and duty.calls == 1
    [ring] = agent_legs(hotline)
    assert ring.ended and ring.answered_at is None  # ended through REST before the pick-up


def test_a_caller_left_in_the_queue_after_their_record_is_over_reaches_a_person(
    hotline: Offline,
) -> None:
    """The queue's side of the same: a wait-URL poll whose routing record is over leaves the
    queue to the fallback line (before, the caller went back into a queue nobody serves and
    polled for good, which is how a bench.call run never ended)."""
    line = hotline.engine.settings.fallback.lines[0]
    duty = hotline.sim.people.add_agent(line, answer_delay_s=(2.0, 2.0), aht_s=30.0)
    hotline.add_agent("elder", {"senior"})
    hotline.engine.router.set_agent_state("elder", "away")  # nobody free: the senior queues
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run(until=2)
    assert leg.enqueued_at is not None
    hotline.engine.router.hangup(leg.sid)  # the record is over; the senior is not
    hotline.run(until=600)
    assert not hotline.sim.faults
    assert leg.bridged_at is not None and f"connected to {line}" in events(leg)
    assert duty.calls == 1 and "leave" in leg.queue_results
