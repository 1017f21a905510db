"""A whole call's cost: every webhook of typical calls, driven by the simulator, live server.

    .venv/bin/python -m bench.call [--calls 300] [--agents 4] [--rounds 3]

Starts a redis-server and Silverline under gunicorn with the production settings
(bench/target.py; wrap-up 0 so agents take the next call at once), registers `--agents` agents
(every queue, every dialect) and gives each a simulator phone. The offline Twilio simulator
(ivr/simulator) then places `--calls` calls over real HTTP (HttpTransport): 30% seniors in the
directory (straight to a senior agent), the rest press the agent key at the menu. Calls arrive
at 80% of what the agents can take (mean talk 60 s), so some callers wait in the queue and poll
the wait URL. Every webhook the server receives is Twilio's: incoming, menu, wait polls, the
dial and its whisper, the dial action, the enqueue action and the status callback. The
simulator runs on virtual time: it never sleeps, so the figure is what one simulator thread
gets out of the server. Reports webhooks per call by kind, webhooks/s, calls/s, and the
server's CPU per webhook and per call (from /proc of the gunicorn processes).

Each round runs both connection paths (`ivr.connect`), each on a fresh server: `dial`
(greeting, then <Dial> the agent) and `conference` (the agent rung through REST while the
caller is greeted, in a room of the call's own), and reports conference ÷ dial per round.
Both servers have Twilio's REST API: the simulator's (ivr/simulator/rest.py), served on a
loopback port for `twilio.api_base_url`, as `call --url --rest-port` does. The simulator is
single-threaded; a REST request from the server is handled while the simulator waits on a
webhook's answer (`_Turns`), so the two never touch its state at once. A REST request made
after a webhook's answer (a pull, a hang-up) waits for the simulator's next webhook: on the
virtual clock it lands a little late, the same for both paths.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from wsgiref.simple_server import WSGIRequestHandler, make_server

from bench.common import median
from bench.directory import start_redis
from bench.http import start_server
from dialects.packs import default_packs
from ivr.settings import load_settings
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.core.rest import wsgi_app
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import HttpTransport, Reply, Transport
from ivr.simulator.traffic import Plan, Population, arrivals, caller_for
from routing.clock import FixedClock, SystemClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.store import connect as connect_redis

PATHS = ("dial", "conference")


class Counting:
    """HttpTransport that counts webhooks by path."""

    def __init__(self, inner: Transport | None = None) -> None:
        self.inner = inner or HttpTransport()
        self.paths: Counter[str] = Counter()
        self.errors = 0

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        reply = self.inner.send(method, url, form, headers)
        self.paths[urlsplit(url).path.rsplit("/", 1)[-1]] += 1
        self.errors += reply.status >= 400
        return reply


class _Turns:
    """Who may touch the simulator: its own thread, except while it waits on a webhook.

    The simulator thread holds the lock while it runs and lets go for each webhook's HTTP
    round trip; the REST server's thread takes it for each request. A REST call made inside
    a webhook (the agent's leg placed by /voice/incoming) is served at once; one made after
    an answer waits for the simulator's next webhook.
    """

    def __init__(self, inner: Transport) -> None:
        self.inner, self.lock = inner, threading.Lock()
        self.owner: int | None = None

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        mine = self.owner == threading.get_ident()
        if mine:
            self.lock.release()
        try:
            return self.inner.send(method, url, form, headers)
        finally:
            if mine:
                self.lock.acquire()

    def run(self, job: Callable[[], None]) -> None:
        with self.lock:
            self.owner = threading.get_ident()
            try:
                job()
            finally:
                self.owner = None

    def wsgi(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            with self.lock:
                return list(app(environ, start_response))

        return guarded


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def _rest(sim: Simulator, turns: _Turns) -> Iterator[str]:
    """The simulator's REST API on a loopback port, for the server's `twilio.api_base_url`."""
    server = make_server("127.0.0.1", 0, turns.wsgi(wsgi_app(sim)), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def one(url: str, calls: int, agents: int, seed: int, connect: str = "dial") -> dict[str, object]:
    # Both paths of a round run on one Redis with the same seed: without sids of its own the
    # second run's calls took the first run's CallSids, found their routing records over
    # (`done`) and were never assigned, which is how the conference run never ended.
    sim = Simulator(clock=FixedClock(datetime.now(UTC)), speed=None, seed=seed, unique_sids=True)
    turns = _Turns(HttpTransport())
    with _rest(sim, turns) as api:
        return _one(sim, turns, api, url, calls, agents, seed, connect)


def _one(
    sim: Simulator, turns: _Turns, api: str, url: str, calls: int, agents: int, seed: int,
    connect: str,
) -> dict[str, object]:  # fmt: skip
    options = {"routing.wrap_up_seconds": 0, "ivr.connect": connect, "twilio.api_base_url": api}
    server = start_server("silverline", url, json.dumps(options))
    try:
        settings = load_settings({"redis.url": url, **options})
        eng = Engine(connect_redis(url), SystemClock(), settings)
        sim.auth_token = settings.secrets.auth_token
        sim.account_sid = settings.secrets.account_sid
        transport = Counting(turns)
        sim.connect(transport)
        number = settings.twilio.caller_id
        base = server.base
        sim.add_number(number, f"{base}/voice/incoming", status_callback=f"{base}/voice/status",
                       fallback_url=f"{base}/voice/fallback")  # fmt: skip
        skills = frozenset({"senior", "complaints"} | {t.queue for t in settings.ivr.topics})
        rate = 0.8 * agents / 60.0  # 80% occupancy at a 60 s mean talk time
        plan = Plan(calls, rate=rate, agents=agents, senior_share=0.3, aht_s=60.0, seed=seed,
                    answer_delay_s=(1.0, 4.0))  # fmt: skip
        for n in range(agents):
            agent_id = f"b{seed}x{n:03d}"
            eng.agents.save(Agent(agent_id, f"Bench {n}", f"client:{agent_id}", skills,
                                  default_packs().codes))  # fmt: skip
            eng.router.set_agent_state(agent_id, "available")
            sim.people.add_agent(f"client:{agent_id}", aht_s=plan.aht_s,
                                 answer_delay_s=plan.answer_delay_s)  # fmt: skip
        population = Population(random.Random(seed + 2))
        agent_key = settings.ivr.agent_key

        def callers(i: int, rng: random.Random) -> VirtualCaller:
            caller = caller_for(i + seed * 100_000, rng, plan, population, agent_key)
            if caller.senior:
                eng.directory.save(population.seniors[-1])
            return caller

        legs: list[tuple[object, str]] = []
        sim.sched.spawn(
            arrivals(sim, plan, lambda c: sim.place_call(c, number), callers, legs)  # type: ignore[arg-type]
        )
        cpu0 = server.cpu_seconds()
        start = time.perf_counter()
        turns.run(sim.run)
        wall = time.perf_counter() - start
        cpu = server.cpu_seconds() - cpu0
    finally:
        server.stop()
    hooks = sum(transport.paths.values())
    done = sum(1 for leg, _ in legs if getattr(leg, "status", "") == "completed")
    return {
        "connect": connect,
        "calls": calls,
        "completed": done,
        "agent_legs_by_rest": sum(1 for x in sim.legs.values() if x.direction == "outbound-api"),
        "webhooks": hooks,
        "by_kind": dict(transport.paths),
        "errors": transport.errors,
        "faults": len(sim.faults),
        "wall_s": wall,
        "webhooks_per_s": hooks / wall,
        "calls_per_s": calls / wall,
        "server_cpu_s": cpu,
        "cpu_us_per_webhook": cpu / hooks * 1e6,
        "cpu_ms_per_call": cpu / calls * 1000,
    }


def measure(calls: int, agents: int, rounds: int) -> dict[str, object]:
    """Both paths in each round, dial first; conference ÷ dial of the server CPU per call."""
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp))
        url = server.url
        try:
            runs = [one(url, calls, agents, seed, path) for seed in range(1, rounds + 1)
                    for path in PATHS]  # fmt: skip
        finally:
            server.stop()
    keys = ["webhooks_per_s", "calls_per_s", "cpu_us_per_webhook", "cpu_ms_per_call"]
    med: dict[str, object] = {}
    for path in PATHS:
        mine = [r for r in runs if r["connect"] == path]
        figures = {k: median([float(r[k]) for r in mine]) for k in keys}  # type: ignore[arg-type]
        figures["webhooks_per_call"] = median([r["webhooks"] / r["calls"] for r in mine])  # type: ignore[operator]
        med[path] = figures
    ratios = [
        float(c["cpu_ms_per_call"]) / float(d["cpu_ms_per_call"])  # type: ignore[arg-type]
        for d, c in zip(runs[0::2], runs[1::2], strict=True)
    ]
    return {"runs": runs, "median": med, "ratios": ratios, "ratio_median": median(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--agents", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    f = measure(args.calls, args.agents, args.rounds)
    for run in f["runs"]:  # type: ignore[attr-defined]
        print(json.dumps(run))
    for path, m in f["median"].items():  # type: ignore[attr-defined]
        print(
            f"{path}: median of {args.rounds}: {m['webhooks_per_call']:.1f} webhooks/call, "
            f"{m['webhooks_per_s']:.0f} webhooks/s, {m['calls_per_s']:.1f} calls/s (one "
            f"simulator thread), server CPU {m['cpu_us_per_webhook']:.0f} us/webhook, "
            f"{m['cpu_ms_per_call']:.1f} ms/call"
        )
    ratios = ", ".join(f"{r:.2f}" for r in f["ratios"])  # type: ignore[attr-defined]
    print(f"conference / dial, server CPU per call: {ratios} (median {f['ratio_median']:.2f})")


if __name__ == "__main__":
    main()
