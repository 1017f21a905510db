"""Calls whose end report is lost are put right (ivr/call/reconcile.py), through the webhooks.

The real app runs on the offline Twilio (ivr/simulator/offline.py) on a virtual clock; a
`Lossy` transport loses chosen report webhooks as a server that is down would. The offline
Twilio's REST API answers `calls(sid).fetch()` from its own legs, or refuses every request.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from app import create_app
from ivr.runtime import ticker
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.core.scheduler import Program
from ivr.simulator.core.transport import FlaskTransport
from ivr.simulator.ledger import Lossy, events, mismatches
from ivr.simulator.offline import Offline
from routing.clock import FixedClock
from routing.engine import Engine
from routing.reporting.queue_stats import Figures
from tests.helpers import CLUSTER
from tests.helpers.hotline import offline_hotline
from tests.helpers.people import SENIOR

RECONCILE_AFTER = 60
MAX_CALL = 900


RECONCILING = {
    "routing.reconcile_after": RECONCILE_AFTER,
    "routing.max_call_seconds": MAX_CALL,
    # the classic path, whose end reports these tests lose: the <Dial> action and the
    # status callback (the conference path's are tests/scenarios/test_time_to_human.py's)
    "ivr.connect": "dial",
}


@pytest.fixture
def hotline(redis_url: str, clock: FixedClock) -> Offline:
    return offline_hotline(redis_url, clock, settings=RECONCILING, seed=5, linger_s=3 * MAX_CALL)


def lose(off: Offline, drop: Callable[[str], bool]) -> Lossy:
    """Lose the webhooks `drop` picks from now on."""
    assert off.sim.webhooks is not None
    lossy = Lossy(off.sim.webhooks.transport, drop)
    off.sim.webhooks.transport = lossy
    return lossy


def lose_end_reports(off: Offline) -> Lossy:
    """Both reports of a conversation's end: the <Dial> action and the status callback."""
    return lose(off, lambda url: "/voice/dial-result" in url or "/voice/status" in url)


def fetches(off: Offline, sid: str) -> list[tuple[str, str, dict[str, object]]]:
    return [r for r in off.rest.api.requests if r[0] == "GET" and r[1].endswith(f"/{sid}.json")]


def totals(engine: Engine) -> Figures:
    return engine.stats.totals()["all"]["all"]


def when_state_left(off: Offline, agent_id: str, state: str) -> list[float]:
    """Watch an agent each virtual second for an hour; the times it stops being in `state`."""
    seen: list[float] = []

    def watch() -> Program:
        was = off.engine.agents.state(agent_id).state
        while off.sim.now() < 3600:
            now = off.engine.agents.state(agent_id).state
            if was == state and now != state:
                seen.append(off.sim.now())
            was = now
            yield 1.0

    off.sim.sched.spawn(watch())
    return seen


def test_a_call_whose_dial_result_and_status_are_lost_frees_its_agent_after_reconcile_after(
    hotline: Offline,
) -> None:
    hotline.add_agent("elder", {"senior"}, aht_s=120.0, answer_delay_s=(2.0, 2.0))
    lossy = lose_end_reports(hotline)
    freed = when_state_left(hotline, "elder", "on_call")
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()

    assert leg.ended and leg.ended_at is not None
    assert any("/voice/dial-result" in sent.url for sent in lossy.lost)
    assert any("/voice/status" in sent.url for sent in lossy.lost)
    state = hotline.engine.agents.state("elder")
    assert state.state in ("wrap_up", "available") and state.call_sid == ""
    # freed at the first look-up after the call ended: within reconcile_after (+ a beat)
    assert len(freed) == 1
    assert leg.ended_at < freed[0] <= leg.ended_at + RECONCILE_AFTER + 2
    assert fetches(hotline, leg.sid)  # it was Twilio's REST API that said so
    figures = totals(hotline.engine)
    assert (figures.answered, figures.completed, figures.unreported) == (1, 1, 0)
    assert hotline.engine.router.call(leg.sid).state == "done"  # type: ignore[union-attr]
    assert mismatches(hotline.engine, events(hotline.engine)) == []


def test_with_the_rest_api_down_the_agent_is_freed_after_max_call_seconds_as_unreported(
    hotline: Offline,
) -> None:
    hotline.add_agent("elder", {"senior"}, aht_s=120.0, answer_delay_s=(2.0, 2.0))
    hotline.rest.reachable = False
    lose_end_reports(hotline)
    freed = when_state_left(hotline, "elder", "on_call")
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()

    assert leg.ended and leg.agent_answered_at is not None
    assert len(freed) == 1
    # nothing heard since the whisper (the agent's answer): closed max_call_seconds later
    heard_last = leg.agent_answered_at
    assert heard_last + MAX_CALL <= freed[0] <= heard_last + MAX_CALL + RECONCILE_AFTER + 2
    state = hotline.engine.agents.state("elder")
    assert state.state in ("wrap_up", "available") and state.call_sid == ""
    figures = totals(hotline.engine)
    assert (figures.answered, figures.completed, figures.unreported) == (1, 0, 1)
    assert hotline.engine.router.call(leg.sid).state == "unreported"  # type: ignore[union-attr]
    kinds = [e["kind"] for e in events(hotline.engine) if e["call"] == leg.sid]
    assert kinds.count("unreported") == 1


def test_a_queued_caller_whose_hang_up_was_lost_is_never_offered_once_twilio_says_it_ended(
    hotline: Offline,
) -> None:
    lossy = lose(hotline, lambda url: "/voice/queue-result" in url or "/voice/status" in url)
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng, patience_s=40.0))
    hotline.run(until=120.0)  # the greeting, then 40 s of patience in the queue
    assert leg.ended and leg.ended_at is not None
    hotline.run(until=leg.ended_at + RECONCILE_AFTER + 5)  # silent that long: looked up
    assert any("/voice/queue-result" in sent.url for sent in lossy.lost)
    info = hotline.engine.router.call(leg.sid)
    assert info is not None and info.state == "gone"  # abandoned, as its hang-up would say
    assert hotline.engine.router.snapshot().queues["senior"].waiting == 0

    phone = hotline.add_agent("elder", {"senior"}, aht_s=60.0)
    hotline.run()
    assert phone.calls == 0
    assert hotline.engine.agents.state("elder").state == "available"
    kinds = [e["kind"] for e in events(hotline.engine) if e["call"] == leg.sid]
    assert "offered" not in kinds and kinds.count("abandoned") == 1
    assert totals(hotline.engine).abandoned == 1


def test_a_caller_still_waiting_is_heard_from_and_never_looked_up(hotline: Offline) -> None:
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng, patience_s=600.0))
    hotline.run(until=500.0)
    assert not leg.ended
    assert fetches(hotline, leg.sid) == []  # each wait-URL poll is news of the call
    info = hotline.engine.router.call(leg.sid)
    assert info is not None and info.state == "waiting"


def _second_server(off: Offline, redis_url: str) -> Flask:
    """Another app instance on the same store and the same Twilio, beating with the first."""
    app = create_app(
        {"redis.url": redis_url, "redis.cluster": CLUSTER, **RECONCILING},
        clock=off.sim.clock,
        twilio_http_client=off.rest,
    )

    def beats() -> Program:
        while off.sim.live or off.sim.now() < 3000:
            ticker.beat(app, off.base)
            yield 1.0

    off.sim.sched.spawn(beats())
    return app


def _fetch_times(off: Offline) -> list[float]:
    """Record the virtual time of every REST call the apps make."""
    times: list[float] = []
    handle = off.rest.api.handle

    def timed(*args: object) -> tuple[int, dict[str, object]]:
        times.append(off.sim.now())
        return handle(*args)  # type: ignore[arg-type]

    off.rest.api.handle = timed  # type: ignore[method-assign]
    return times


def test_two_servers_on_one_store_look_each_stale_call_up_once(
    hotline: Offline, redis_url: str
) -> None:
    hotline.add_agent("elder", {"senior"}, aht_s=400.0, answer_delay_s=(2.0, 2.0))
    _second_server(hotline, redis_url)
    lose_end_reports(hotline)
    times = _fetch_times(hotline)
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()

    assert leg.ended_at is not None and leg.agent_answered_at is not None
    looked = [t for t, r in zip(times, hotline.rest.api.requests, strict=True) if r[0] == "GET"]
    assert looked, "the call was never looked up"
    # both servers beat every second, yet each claim period sees one fetch
    gaps = [b - a for a, b in zip(looked, looked[1:], strict=False)]
    assert all(gap >= RECONCILE_AFTER for gap in gaps), looked
    # the one look-up after the call ended freed the agent: nothing more was asked
    assert sum(t > leg.ended_at for t in looked) == 1
    assert hotline.engine.agents.state("elder").state in ("wrap_up", "available")
    assert totals(hotline.engine).completed == 1


def test_a_lost_report_arriving_after_the_call_was_put_right_changes_nothing(
    hotline: Offline,
) -> None:
    hotline.add_agent("elder", {"senior"}, aht_s=120.0, answer_delay_s=(2.0, 2.0))
    lossy = lose_end_reports(hotline)
    leg = hotline.call(VirtualCaller(SENIOR, hotline.sim.rng))
    hotline.run()
    before, stream = hotline.engine.stats.totals(), len(events(hotline.engine))
    assert lossy.lost
    late = FlaskTransport(hotline.app)
    for sent in lossy.lost:
        assert late.send(sent.method, sent.url, sent.form, sent.headers).status == 200
    assert hotline.engine.stats.totals() == before
    assert len(events(hotline.engine)) == stream
    assert hotline.engine.router.call(leg.sid).state == "done"  # type: ignore[union-attr]
