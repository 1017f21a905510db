"""Redis dies under simulated calls: every caller still reaches a person, and the app recovers.

A dedicated redis-server (its own port and directory, append-only with fsync always) serves one
app. Signed calls run through the offline Twilio simulator on a virtual clock. The server is
SIGKILLed, more calls come in, then it is restarted on the same port; the same app object must
route and count the calls after recovery as if nothing had happened.
"""

from __future__ import annotations

import signal
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from ivr import services
from ivr.call.spool import replay, spool_of
from ivr.runtime import ticker
from ivr.runtime.redis_process import RedisProcess
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import FlaskTransport, Reply
from ivr.simulator.ledger import context_of
from routing.callers.caller import Customer
from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.reporting.queue_stats import Stats
from tests.conftest import T0
from tests.webhook_client import post, twiml_of

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart

FALLBACK = "+861095500999"
BASE = "http://localhost"
CALLS_PER_PHASE = 12
# A refused connection costs microseconds; allow generously for a loaded 2-core machine.
FAST_S = 0.25


@dataclass
class Exchange:
    phase: str
    url: str
    status: int
    content_type: str
    body: str
    seconds: float


class Recording:
    """A transport that keeps every webhook's answer and how long it took."""

    def __init__(self, inner: FlaskTransport) -> None:
        self.inner = inner
        self.phase = "before"
        self.log: list[Exchange] = []

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        started = time.perf_counter()
        reply = self.inner.send(method, url, form, headers)
        took = time.perf_counter() - started
        self.log.append(
            Exchange(self.phase, url, reply.status, reply.content_type, reply.body, took)
        )
        return reply


@dataclass
class Hotline:
    server: RedisProcess
    sim: Simulator
    app: Flask
    engine: Engine
    wire: Recording
    number: str

    def calls(self, first: int, count: int) -> list[Leg]:
        """Place `count` calls a second apart: seniors straight through, others pressing 0."""
        legs = []
        for i in range(first, first + count):
            if i % 2 == 0:
                caller = VirtualCaller(f"+86139{i:08d}", self.sim.rng, senior=True, label="senior")
            else:
                keys = [Input(digits="0", after=1.0)]
                caller = VirtualCaller(f"+86137{i:08d}", self.sim.rng, inputs=keys, label="other")
            legs.append(self.sim.place_call(caller, self.number, float(i - first)))
        return legs


@pytest.fixture
def hotline(tmp_path: Path) -> Iterator[Hotline]:
    server = RedisProcess(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always")
    server.start()
    sim = Simulator(clock=FixedClock(T0), seed=9, seconds_per_char=0.05)
    # default timeouts; every agent here is senior-trained, and these tests are about outages,
    # not about keeping one of them free for seniors (routing.senior_reserve)
    app = create_app({"redis.url": server.url, "routing.senior_reserve": 0}, clock=sim.clock)
    engine: Engine = services.of(app).engine
    sim.account_sid = engine.settings.secrets.account_sid
    sim.auth_token = engine.settings.secrets.auth_token
    wire = Recording(FlaskTransport(app))
    sim.connect(wire)
    number = engine.settings.twilio.caller_id
    sim.add_number(
        number,
        f"{BASE}/voice/incoming",
        status_callback=f"{BASE}/voice/status",
        fallback_url=f"{BASE}/voice/fallback",
    )
    for n in range(3):
        agent_id = f"a{n}"
        skills = frozenset({"senior", "policy", "claims", "payments", "complaints"})
        engine.agents.save(
            Agent(agent_id, agent_id, f"client:{agent_id}", skills, ("mandarin", "cantonese"))
        )
        engine.router.set_agent_state(agent_id, "available")
        sim.people.add_agent(f"client:{agent_id}", aht_s=40.0, answer_delay_s=(1.0, 1.0))
    for i in range(0, 3 * CALLS_PER_PHASE, 2):
        number_i = f"+86139{i:08d}"
        engine.directory.save(Customer(f"s{i}", f"长者{i}", date(1950, 1, 1), None, (number_i,)))
    yield Hotline(server, sim, app, engine, wire, number)
    server.stop()


def _entered(engine: Engine) -> tuple[int, int]:
    totals = Stats(engine.redis, engine.clock, engine.settings, engine.keys).totals()["all"]
    return totals["all"].offered, totals["all"].answered


def _check_every_answer(log: list[Exchange]) -> None:
    """200 and valid TwiML for the place it runs, every time."""
    assert log
    for ex in log:
        assert ex.status == 200, (ex.url, ex.status, ex.body[:200])
        assert ex.content_type == "text/xml", ex.url
        twiml_of(ex.body, context_of(ex.url))


def test_calls_during_an_outage_reach_the_fallback_line_and_the_app_recovers(
    hotline: Hotline,
) -> None:
    h = hotline
    before = h.calls(0, CALLS_PER_PHASE)
    h.sim.run()
    assert all(leg.bridged_at is not None for leg in before)
    assert _entered(h.engine) == (CALLS_PER_PHASE, CALLS_PER_PHASE)

    h.server.kill(signal.SIGKILL)
    h.wire.phase = "down"
    down = h.calls(CALLS_PER_PHASE, CALLS_PER_PHASE)
    h.sim.run()
    during = [ex for ex in h.wire.log if ex.phase == "down"]
    _check_every_answer(during)
    incoming = [ex for ex in during if "/voice/incoming" in ex.url]
    assert len(incoming) == CALLS_PER_PHASE
    for ex in incoming:
        dial = twiml_of(ex.body).find("Dial")
        assert dial is not None and dial.text == FALLBACK
        assert ex.seconds < FAST_S, f"a webhook took {ex.seconds:.3f}s with Redis down"
    # Every caller heard the apology and was dialled to the fallback line, never Twilio's
    # "application error" (the simulator gives that line one handset, so some found it busy).
    for leg in down:
        heard = [line.text for line in leg.transcript]
        assert heard[0].startswith("抱歉") and not leg.errors, heard
        assert f"ringing {FALLBACK}" in heard or "dial: busy" in heard, heard
    assert not [ex for ex in during if "/voice/fallback" in ex.url]  # never needed Twilio's

    h.server.start()  # same port, same directory: the append-only file is read back
    h.wire.phase = "after"
    after = h.calls(2 * CALLS_PER_PHASE, CALLS_PER_PHASE)
    h.sim.run()
    recovered = [ex for ex in h.wire.log if ex.phase == "after"]
    _check_every_answer(recovered)
    assert not h.sim.faults
    for leg in after:
        assert leg.bridged_at is not None, leg.sid
        agents = [line.text for line in leg.transcript if line.text.startswith("connected to")]
        assert agents and agents[0].startswith("connected to client:a"), agents
    # Counted normally: the calls before and after, not the ones the fallback line took.
    assert _entered(h.engine) == (2 * CALLS_PER_PHASE, 2 * CALLS_PER_PHASE)


def test_a_hung_redis_costs_a_webhook_one_socket_timeout_at_most(hotline: Hotline) -> None:
    """SIGSTOP: connections are accepted but never answered, the worst case for a webhook."""
    h = hotline
    timeout = h.engine.settings.redis.socket_timeout
    assert timeout <= 0.5  # the shipped default keeps a webhook far inside Twilio's 15 s
    client = h.app.test_client()
    assert h.server.proc is not None
    h.server.proc.send_signal(signal.SIGSTOP)
    try:
        for path in ("/voice/incoming", "/voice/wait", "/voice/status"):
            form = {"CallSid": "CA" + "7" * 32, "From": "+8613700000001", "CallStatus": "ringing"}
            started = time.perf_counter()
            res = post(client, path, form)
            took = time.perf_counter() - started
            assert res.status_code == 200
            twiml_of(res.get_data(as_text=True), context_of(path))
            # One timeout, not one per retry or per command: well under two.
            assert took < 1.6 * timeout, f"{path} took {took:.2f}s"
    finally:
        h.server.proc.send_signal(signal.SIGCONT)
    assert post(client, "/voice/status", {"CallSid": "CA1", "CallStatus": "x"}).status_code == 200


def test_the_client_gives_up_connecting_as_fast_as_answering(hotline: Hotline) -> None:
    kwargs = hotline.engine.redis.connection_pool.connection_kwargs
    timeout = hotline.engine.settings.redis.socket_timeout
    assert kwargs["socket_timeout"] == timeout
    assert kwargs["socket_connect_timeout"] == timeout
    assert kwargs["retry"].get_retries() == 1


def test_each_document_keeps_its_place_when_redis_is_gone(hotline: Hotline) -> None:
    """Waiting, whispering and hanging-up callers get what Twilio allows where they are."""
    client = hotline.app.test_client()
    sid = "CA" + "5" * 32
    for agent in ("a0", "a1", "a2"):
        hotline.engine.router.set_agent_state(agent, "away")
    form = {"CallSid": sid, "From": "+8613900000000", "CallStatus": "in-progress"}
    queued = twiml_of(post(client, "/voice/incoming", form).get_data(as_text=True))
    assert queued.find("Enqueue") is not None
    hotline.server.kill()

    def answer(path: str, **extra: str) -> ET.Element:
        res = post(client, path, {**form, **extra})
        assert res.status_code == 200
        return twiml_of(res.get_data(as_text=True), context_of(path))

    # The waiting caller is sent out of the queue (a wait document may not <Dial>) ...
    assert [v.tag for v in answer("/voice/wait", QueueSid="QU1")] == ["Leave"]
    # ... and the <Enqueue> action that follows dials the fallback line.
    assert answer("/voice/queue-result", QueueResult="leave").find("Dial").text == FALLBACK
    # An agent's whisper: an empty document, so the caller is bridged anyway.
    assert list(answer("/voice/whisper?call=CA1&agent=a0")) == []
    # A conversation that ended is over; one that did not take place goes to the fallback.
    assert [v.tag for v in answer("/voice/dial-result?agent=a0", DialCallStatus="completed")] == [
        "Hangup"
    ]
    missed = answer("/voice/dial-result?agent=a0", DialCallStatus="no-answer")
    assert missed.find("Dial").text == FALLBACK


def test_an_agent_whose_call_ended_during_the_outage_is_free_after_it(hotline: Hotline) -> None:
    """The dial action and status callback that fell in the outage are replayed once it ends."""
    client = hotline.app.test_client()
    for agent in ("a1", "a2"):
        hotline.engine.router.set_agent_state(agent, "away")
    form = {"CallSid": "CA" + "6" * 32, "From": "+8613700000001", "Digits": "1"}
    dialled = twiml_of(post(client, "/voice/menu?attempt=1", form).get_data(as_text=True))
    assert dialled.find("Dial/Client").text == "a0"
    post(client, f"/voice/whisper?call={form['CallSid']}&agent=a0", {"CallSid": "CA9"})
    hotline.server.kill()
    post(client, "/voice/dial-result?agent=a0", {**form, "DialCallStatus": "completed"})
    post(client, "/voice/status", {**form, "CallStatus": "completed"})
    assert replay(hotline.app, "http://localhost") == 0  # still down: the reports stay kept
    assert len(spool_of(hotline.app)) == 2
    hotline.server.start()
    ticker.beat(hotline.app, "http://localhost")  # the worker's next beat replays them
    assert len(spool_of(hotline.app)) == 0
    hotline.sim.clock.advance(60)
    hotline.engine.router.tick()
    state = hotline.engine.router.snapshot().agents["a0"].state
    assert state in ("available", "wrap_up"), state
