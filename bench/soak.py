"""The soak: thousands of calls over real HTTP into two gunicorn workers, checked for exactly-once.

    .venv/bin/python -m bench.soak [--calls 3000] [--simulators 4] [--agents 12] [--workers 2]

Not part of `make test` (it runs for minutes). Starts a redis-server and Silverline under
gunicorn with the production settings (bench/target.py: `--workers` workers of 8 threads,
gthread, the ticker beating in each worker; wrap-up 0), registers `--agents` agents, then runs
`--simulators` offline Twilio simulators at once, each in its own thread and on its own
virtual clock, each placing its share of `--calls` over HTTP (HttpTransport): 40% seniors in
the directory, the others pressing the agent key, some hanging up while they wait. The server
therefore sees webhooks from several calls at the same moment, in both workers.

When every call has ended it checks, and reports as JSON (exit status 1 on any failure):
- every webhook got 200 and valid TwiML for where it runs; no simulator fault;
- every call that reached routing is in the event stream exactly once, and the aggregates
  equal the stream's recount (tests/reliability/ledger.py);
- no agent was recorded on two calls at once, no caller answered twice;
- replaying every webhook and status callback of every simulator, again concurrently,
  changes no figure and adds nothing to the stream.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.directory import start_redis
from bench.http import start_server
from dialects.packs import default_packs
from ivr.simulator.people import Caller, Input, patience
from ivr.simulator.switch import Simulator
from ivr.simulator.transport import HttpTransport
from routing.agents import Agent
from routing.caller import Customer
from routing.clock import FixedClock, SystemClock
from routing.engine import Engine
from routing.settings import load_settings
from routing.store import connect
from tests.reliability.ledger import Tape, double_answers, events, figures, mismatches, overlaps
from tests.twiml import context_of, twiml_of

SERVER = {"routing.wrap_up_seconds": 0, "server.threads": 8}


def _sim(base: str, engine: Engine, seed: int, agents: list[str]) -> tuple[Simulator, Tape]:
    secrets = engine.settings.secrets
    sim = Simulator(
        clock=FixedClock(datetime.now(UTC)),
        seed=seed,
        auth_token=secrets.auth_token,
        account_sid=secrets.account_sid,
        seconds_per_char=0.0,
    )
    tape = Tape(HttpTransport())
    sim.connect(tape)
    sim.add_number(
        engine.settings.twilio.caller_id,
        f"{base}/voice/incoming",
        status_callback=f"{base}/voice/status",
        fallback_url=f"{base}/voice/fallback",
    )
    for agent_id in agents:
        sim.people.add_agent(f"client:{agent_id}", aht_s=20.0, answer_delay_s=(1.0, 3.0))
    return sim, tape


def _calls(sim: Simulator, engine: Engine, seed: int, count: int, rate: float) -> Any:
    """Arrivals of one simulator: numbers of its own, seniors saved in the directory."""
    rng = random.Random(seed)
    for i in range(count):
        yield rng.expovariate(rate)
        n = seed * 1_000_000 + i
        if rng.random() < 0.4:
            number = f"+86139{n:08d}"
            born = datetime(1950, 1 + i % 12, 1 + i % 28).date()
            engine.directory.save(Customer(f"soak{n}", f"长者{i}", born, None, (number,)))
            caller = Caller(number, sim.rng, senior=True, label="senior")
        else:
            keys = [Input(digits=engine.settings.ivr.agent_key, after=1.0)]
            caller = Caller(f"+86137{n:08d}", sim.rng, inputs=keys, label="other")
        caller.patience_s = patience(rng, 60.0)
        sim.place_call(caller, engine.settings.twilio.caller_id)


def _in_threads(jobs: list[Any]) -> None:
    errors: list[BaseException] = []

    def run(job: Any) -> None:
        try:
            job()
        except BaseException as exc:  # reported after every thread is done
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def soak(calls: int, simulators: int, agents: int, workers: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        redis_proc, url = start_redis(Path(tmp))
        options = SERVER | {"server.workers": workers}
        server = start_server("silverline", url, json.dumps(options))
        try:
            return _run(url, server.base, calls, simulators, agents, options)
        finally:
            server.stop()
            redis_proc.terminate()
            redis_proc.wait(timeout=10)


def _run(
    url: str, base: str, calls: int, simulators: int, agents: int, options: dict[str, Any]
) -> dict[str, Any]:
    engine = Engine(connect(url), SystemClock(), load_settings({"redis.url": url, **options}))
    skills = frozenset({"senior", "complaints"} | {t.queue for t in engine.settings.ivr.topics})
    ids = [f"soak{n:03d}" for n in range(agents)]
    for agent_id in ids:
        agent = Agent(agent_id, agent_id, f"client:{agent_id}", skills, default_packs().codes)
        engine.agents.save(agent)
        engine.router.set_agent_state(agent_id, "available")
    sims = [_sim(base, engine, seed, ids) for seed in range(1, simulators + 1)]
    share, rate = calls // simulators, 0.8 * agents / 20.0 / simulators
    for seed, (sim, _) in enumerate(sims, start=1):
        sim.sched.spawn(_calls(sim, engine, seed, share, rate))

    started = time.perf_counter()
    _in_threads([sim.run for sim, _ in sims])
    wall = time.perf_counter() - started
    problems = _check_run(engine, sims)
    stream = events(engine)
    problems += mismatches(engine, stream) + overlaps(stream)
    problems += [f"{call} answered twice" for call in double_answers(stream)]

    before, length = figures(engine), len(stream)
    replay_started = time.perf_counter()
    _in_threads([lambda tape=tape: _replay(tape, problems) for _, tape in sims])
    replay_wall = time.perf_counter() - replay_started
    if figures(engine) != before:
        problems.append("replaying the webhooks changed the figures")
    if engine.redis.xlen(engine.keys.stats_events()) != length:
        problems.append("replaying the webhooks added events to the stream")

    hooks = sum(len(tape.sent) for _, tape in sims)
    kinds = Counter(ev["kind"] for ev in stream)
    return {
        "calls": share * simulators,
        "simulators": simulators,
        "workers": options["server.workers"],
        "threads": options["server.threads"],
        "agents": agents,
        "webhooks": hooks,
        "wall_s": round(wall, 1),
        "webhooks_per_s": round(hooks / wall, 1),
        "replay_wall_s": round(replay_wall, 1),
        "events": dict(kinds),
        "problems": problems[:50],
        "ok": not problems,
    }


def _check_run(engine: Engine, sims: list[tuple[Simulator, Tape]]) -> list[str]:
    problems: list[str] = []
    routed: set[str] = set()
    for sim, tape in sims:
        problems += [f"fault {f.code} {f.message} at {f.url}" for f in sim.faults]
        for sent, reply in zip(tape.sent, tape.replies, strict=True):
            problems += _bad(sent.url, reply.status, reply.body)
        routed |= {
            leg.sid
            for leg in sim.legs.values()
            if leg.direction == "inbound" and leg.routed_at is not None
        }
    entered = Counter(ev["call"] for ev in events(engine) if ev["kind"] == "entered")
    if set(entered) != routed:
        problems.append(f"{len(routed ^ set(entered))} routed calls not in the stream once")
    problems += [f"{call} entered {n} times" for call, n in entered.items() if n > 1]
    return problems


def _replay(tape: Tape, problems: list[str]) -> None:
    again = HttpTransport()
    for sent in tape.sent:
        reply = again.send(sent.method, sent.url, sent.form, sent.headers)
        problems += _bad(sent.url, reply.status, reply.body)


def _bad(url: str, status: int, body: str) -> list[str]:
    if status != 200:
        return [f"{url}: HTTP {status}"]
    try:
        twiml_of(body, context_of(url))
    except (AssertionError, SyntaxError) as exc:
        return [f"{url}: invalid TwiML ({exc})"]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--simulators", type=int, default=4)
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    result = soak(args.calls, args.simulators, args.agents, args.workers)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
