"""Two real `silverline serve` instances on one Redis, behind a load balancer, with one Twilio.

The offline Twilio (ivr/simulator/core/service.py) runs in this process on the wall clock: its
webhooks go to the two instances in turn (`Balancer`, what a load balancer in front does) and
both instances' REST requests come to it, each kept (`Recorded`). Callers dial in at a steady
rate; call-backs, stale calls and a campaign's return visits are waiting in the store when the
servers start, for every worker's ticker to race for. Halfway one instance is killed with its
workers (SIGKILL). Then
- every caller is accounted once (the statistics recounted from the event stream, one
  `offered` each), and no agent was on two calls (the engine's events, the Twilio's legs);
- each due call-back was dialled once, each stale call looked up once, and each return-visit
  attempt dialled once and logged once;
- once the calls are over, nothing is left holding an agent or waiting: what the killed
  instance was doing, the other finished.
Every wait reads a process's answers until a deadline; nothing sleeps.
"""

from __future__ import annotations

import io
import itertools
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from ivr.runtime.embedded import free_port
from ivr.settings import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Server, load_settings
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.core.service import LocalTwilio
from ivr.simulator.core.transport import NO_ANSWER, HttpTransport, Reply
from ivr.simulator.ledger import double_answers, events, mismatches, overlaps
from ivr.simulator.local import LocalTwilio as LocalTwilioClient
from routing.clock import FixedClock, SystemClock
from routing.engine import Engine
from routing.outbound.campaigns import Campaign
from routing.queues.agents import Agent
from routing.store import connect
from tests.conftest import CLUSTER
from tests.helpers.processes import until
from tests.served import BOOTED, Served

pytestmark = [
    pytest.mark.skipif(CLUSTER, reason="the servers take one Redis URL"),
    pytest.mark.wall_clock,  # real servers: `make unit` runs it apart
    pytest.mark.slow,  # a minute: handed out first
]

CALLS = 24
EVERY_S = 0.5  # a caller dials in every half second: 12 s of arrivals
KILL_AFTER = CALLS // 2  # the second instance is killed once this many calls were put through
AGENTS = [f"a{i:02d}" for i in range(1, 7)]
STALE = [f"CAstale{i:02d}" for i in range(3)]  # calls of another day whose end was never heard
CALLBACKS = [f"+86139000010{i:02d}" for i in range(3)]
VISITED = [f"+86139000020{i:02d}" for i in range(2)]
DONE_WITHIN_S = 120.0
POLL_S = 0.2
ENV = {
    "SILVERLINE__ROUTING__WRAP_UP_SECONDS": "1",
    # every campaign customer may have an agent at once (10 % of six agents is none)
    "SILVERLINE__CAMPAIGNS__AGENT_SHARE": "0.5",
}


@dataclass
class Recorded:
    """The offline Twilio's WSGI app, keeping every REST request the servers make."""

    inner: Callable[..., Iterable[bytes]]
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/2010-04-01/"):
            size = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(size) if size else b""
            environ["wsgi.input"] = io.BytesIO(body)  # read again by the REST API
            form = dict(parse_qsl(body.decode()))
            self.requests.append((environ["REQUEST_METHOD"], path, form))
        return self.inner(environ, start_response)

    def placed_to(self) -> Counter[str]:
        """Outbound calls the servers placed, by the number dialled."""
        return Counter(
            f["To"] for m, p, f in self.requests if m == "POST" and p.endswith("/Calls.json")
        )

    def looked_up(self) -> Counter[str]:
        """Calls the servers fetched (GET Calls/<sid>.json), by sid."""
        return Counter(
            p.rsplit("/", 1)[1].removesuffix(".json")
            for m, p, _ in self.requests
            if m == "GET" and "/Calls/" in p
        )


class Balancer:
    """Twilio's webhooks to the public URL, spread over the instances in turn; an instance
    that refuses the connection (dead) is skipped, as a load balancer's health check does."""

    def __init__(self, public: str, backends: list[str]) -> None:
        self.public, self.backends = public, backends
        self.http = HttpTransport()
        self.turn = itertools.count()
        self.served: Counter[str] = Counter()

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        if not url.startswith(self.public):
            return self.http.send(method, url, form, headers)
        reply = Reply(NO_ANSWER, "", "no instance", error=11205)
        for _ in self.backends:
            backend = self.backends[next(self.turn) % len(self.backends)]
            reply = self.http.send(method, backend + url[len(self.public) :], form, headers)
            if reply.status != NO_ANSWER or "refused" not in reply.body:
                self.served[backend] += 1
                return reply
        return reply


@contextmanager
def offline_twilio(public: str, balancer: Balancer) -> Iterator[tuple[Recorded, int]]:
    """The offline Twilio on the wall clock, serving HTTP on a free port; its port."""
    number = load_settings().twilio.caller_id
    service = LocalTwilio(
        public,
        number,
        account_sid=DEMO_ACCOUNT_SID,
        auth_token=DEMO_AUTH_TOKEN,
        transport=balancer,
    )
    service.phones.settings["*"] = {"answer_after": 1.0, "talk": 3.0}
    recorded = Recorded(service.wsgi)
    http = make_server("127.0.0.1", 0, recorded, threaded=True, request_handler=_Quiet)
    threads = [
        threading.Thread(target=http.serve_forever, daemon=True),
        threading.Thread(target=service.run, daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        yield recorded, http.server_port
    finally:
        service.stop()
        http.shutdown()
        http.server_close()


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def seed(redis_url: str, tmp_path: Path) -> Engine:
    """Agents free; stale calls, call-backs due and a campaign waiting in the store."""
    now = datetime.now(UTC)
    past = Engine(connect(redis_url), FixedClock(now - timedelta(minutes=10)), load_settings())
    for i, sid in enumerate(STALE):  # on a call with an agent of their own, 10 minutes ago
        agent = f"s{i:02d}"
        past.agents.save(Agent(agent, agent, f"client:{agent}", frozenset(), ("mandarin",)))
        past.router.set_agent_state(agent, "available")
        caller = past.directory.identify(f"+8613900003{i:03d}", past.clock.now())
        past.router.arrive(sid, caller, "general")
        assert past.router.answered(sid, agent) is not None
        past.router.connected(sid, agent)
    engine = Engine(connect(redis_url), SystemClock(), load_settings())
    for aid in AGENTS:
        engine.agents.save(Agent(aid, aid, f"client:{aid}", frozenset({"senior"}), ("mandarin",)))
        engine.router.set_agent_state(aid, "available")
    for i, number in enumerate(CALLBACKS):
        caller = engine.directory.identify(number, engine.clock.now())
        assert engine.callbacks.request_after_hours(f"CAcallback{i:02d}", caller, "general")
    path = tmp_path / "visits.csv"
    path.write_text("number\n" + "\n".join(VISITED) + "\n", encoding="utf-8")
    engine.campaigns.add(Campaign("loan", "保单贷款确认", "00:00-23:59", attempts=1), path)
    past.redis.close()
    return engine


def test_two_servers_on_one_redis_account_every_call_once_and_one_survives_the_other(
    redis_url: str, tmp_path: Path
) -> None:
    engine = seed(redis_url, tmp_path)
    ports = [free_port(), free_port()]
    backends = [f"http://127.0.0.1:{p}" for p in ports]
    public = f"http://127.0.0.1:{free_port()}"  # the balancer's address: nothing listens there
    balancer = Balancer(public, backends)
    with offline_twilio(public, balancer) as (recorded, twilio_port):
        rest = f"http://127.0.0.1:{twilio_port}"
        env = ENV | {"SILVERLINE_PUBLIC_URL": public, "SILVERLINE__TWILIO__API_BASE_URL": rest}
        servers = [Served(p, redis_url, tmp_path / f"spool{p}", env) for p in ports]
        try:
            for server in servers:
                for _ in range(Server().workers):
                    server.wait_for(BOOTED)
            local = LocalTwilioClient(rest, DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
            rng = random.Random(34)
            key = engine.settings.ivr.agent_key
            sids = [
                local.place(
                    VirtualCaller(f"+86139000000{i:02d}", rng, [Input(digits=key, after=0.0)]),
                    "",
                    delay=i * EVERY_S,
                )["sid"]
                for i in range(CALLS)
            ]

            def bridged() -> int:
                return sum(local.call(s)["bridged_at"] is not None for s in sids)

            until(lambda: bridged() >= KILL_AFTER, "half the calls put through", DONE_WITHIN_S)
            servers[1].kill()  # the master and its workers, whatever they were doing
            survivor_before = balancer.served[backends[0]]
            until(lambda: all(local.call(s)["ended"] for s in sids), "calls end", DONE_WITHIN_S)
            until(lambda: settled(engine), "every agent free, nobody waiting", DONE_WITHIN_S)
        finally:
            for server in servers:
                server.kill()

        stream = events(engine)
        entered = Counter(ev["call"] for ev in stream if ev["kind"] == "entered")
        assert [entered[s] for s in sids] == [1] * CALLS, entered
        assert all(local.call(s)["bridged_at"] is not None for s in sids)  # nobody lost
        assert mismatches(engine, stream) == []
        assert overlaps(stream) == [] and double_answers(stream) == []
        placed = recorded.placed_to()
        assert [placed[n] for n in CALLBACKS] == [1] * len(CALLBACKS), placed
        assert [placed[n] for n in VISITED] == [1] * len(VISITED), placed
        assert [recorded.looked_up()[s] for s in STALE] == [1] * len(STALE)
        for target in engine.campaigns.targets("loan"):
            assert target.attempts == 1 and len(target.log) == 1, target
        assert all(balancer.served[b] > 0 for b in backends)  # both took webhooks
        assert balancer.served[backends[0]] > survivor_before  # and one took them after


def settled(engine: Engine) -> bool:
    """Nobody waits and every agent of the pool is free (or wrapping up)."""
    snapshot = engine.router.snapshot()
    states = {aid: engine.agents.state(aid).state for aid in AGENTS}
    return all(q.waiting == 0 for q in snapshot.queues.values()) and all(
        s in ("available", "wrap_up") for s in states.values()
    )
