"""The soak: thousands of calls over real HTTP into two gunicorn workers, checked for exactly-once.

    .venv/bin/python -m bench.soak [--calls 3000] [--simulators 4] [--agents 12] [--workers 2]
                                   [--lose-reports 0.05]

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

With `--lose-reports P` each report webhook (<Dial> action, queue hang-up, status callback,
call-back status) is lost with probability P, as if the server had been down for it. The
server has no Twilio REST API here, so calls whose end was lost are closed as "ended,
unreported" after `routing.max_call_seconds` (LOST_REPORT_SERVER, real seconds: the server's
clock is the wall clock, the simulators' virtual clocks run far faster); the soak waits that
long after the last call, then checks besides that no agent is offered or on a call and every
routed call has exactly one end (answered, abandoned or ended-unreported). The lost reports
are in the replay, as late reports, and must change nothing either. `soak(mid_run=...)`
takes a hook run once half the calls are placed (restarting a worker, say).
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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from bench.directory import start_redis
from bench.http import Server, start_server
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
from tests.reliability.ledger import (
    LOST,
    Lossy,
    Tape,
    double_answers,
    events,
    figures,
    is_report,
    mismatches,
    overlaps,
)
from tests.twiml import context_of, twiml_of

SERVER = {"routing.wrap_up_seconds": 0, "server.threads": 8}
# With reports lost: a call nothing was heard of for 30 wall-clock seconds is over (a
# simulated conversation of minutes takes a fraction of a second of the server's time).
LOST_REPORT_SERVER = {"routing.reconcile_after": 30, "routing.max_call_seconds": 30}
MidRun = Callable[[Server], None]


def _sim(
    base: str, engine: Engine, seed: int, agents: list[str], lose: float
) -> tuple[Simulator, Tape]:
    secrets = engine.settings.secrets
    sim = Simulator(
        clock=FixedClock(datetime.now(UTC)),
        seed=seed,
        auth_token=secrets.auth_token,
        account_sid=secrets.account_sid,
        seconds_per_char=0.0,
    )
    # the tape keeps lost reports too: the replay then delivers them late
    rng = random.Random(seed)
    tape = Tape(Lossy(HttpTransport(), lambda url: is_report(url) and rng.random() < lose))
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


def _calls(
    sim: Simulator, engine: Engine, seed: int, count: int, rate: float, half: Callable[[], None]
) -> Any:
    """Arrivals of one simulator: numbers of its own, seniors saved in the directory."""
    rng = random.Random(seed)
    for i in range(count):
        if i == count // 2:
            half()
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


def soak(
    calls: int,
    simulators: int,
    agents: int,
    workers: int,
    lose: float = 0.0,
    mid_run: MidRun | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        redis_proc, url = start_redis(Path(tmp))
        options = SERVER | {"server.workers": workers} | (LOST_REPORT_SERVER if lose else {})
        server = start_server("silverline", url, json.dumps(options))
        try:
            return _run(url, server, calls, simulators, agents, options, lose, mid_run)
        finally:
            server.stop()
            redis_proc.terminate()
            redis_proc.wait(timeout=10)


def _run(
    url: str,
    server: Server,
    calls: int,
    simulators: int,
    agents: int,
    options: dict[str, Any],
    lose: float,
    mid_run: MidRun | None,
) -> dict[str, Any]:
    engine = Engine(connect(url), SystemClock(), load_settings({"redis.url": url, **options}))
    skills = frozenset({"senior", "complaints"} | {t.queue for t in engine.settings.ivr.topics})
    ids = [f"soak{n:03d}" for n in range(agents)]
    for agent_id in ids:
        agent = Agent(agent_id, agent_id, f"client:{agent_id}", skills, default_packs().codes)
        engine.agents.save(agent)
        engine.router.set_agent_state(agent_id, "available")
    sims = [_sim(server.base, engine, seed, ids, lose) for seed in range(1, simulators + 1)]
    share, rate = calls // simulators, 0.8 * agents / 20.0 / simulators
    for seed, (sim, _) in enumerate(sims, start=1):
        half = (lambda: mid_run(server)) if mid_run and seed == 1 else (lambda: None)
        sim.sched.spawn(_calls(sim, engine, seed, share, rate, half))

    started = time.perf_counter()
    _in_threads([sim.run for sim, _ in sims])
    wall = time.perf_counter() - started
    if lose:  # calls whose end was lost are closed max_call_seconds after they went silent
        time.sleep(options["routing.max_call_seconds"] + 5)
    problems = _check_run(engine, sims)
    if lose:
        problems += _stranded(engine)
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
        "reports_lost": sum(len(cast(Lossy, tape.inner).lost) for _, tape in sims),
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
        # a report lost on purpose is Twilio's 11205 and a fallback, not a fault of the app
        faults = [f for f in sim.faults if f.message != LOST]
        problems += [f"fault {f.code} {f.message} at {f.url}" for f in faults]
        for sent, reply in zip(tape.sent, tape.replies, strict=True):
            if reply.body != LOST:
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


def _stranded(engine: Engine) -> list[str]:
    """Agents still held by a call, and routed calls with no end or more than one."""
    problems = [
        f"agent {agent_id} stuck {status.state} on {status.call_sid}"
        for agent_id, status in engine.agents.states().items()
        if status.state in ("offered", "on_call")
    ]
    ends: dict[str, list[str]] = {}
    for ev in events(engine):
        if ev["kind"] == "entered":
            ends.setdefault(ev["call"], [])
        elif ev["kind"] in ("answered", "abandoned", "unreported"):
            ends.setdefault(ev["call"], []).append(ev["kind"])
    for call, kinds in ends.items():
        # an answered call closed unreported afterwards has one outcome: answered
        outcome = [k for k in kinds if k != "unreported"] or kinds
        if len(outcome) != 1:
            problems.append(f"{call} ended {kinds or 'never'}")
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
    parser.add_argument(
        "--lose-reports", type=float, default=0.0, help="share of report webhooks lost (0-1)"
    )
    args = parser.parse_args()
    if not 0.0 <= args.lose_reports < 1.0:
        parser.error("--lose-reports must be from 0 up to 1 (a share, e.g. 0.05)")
    result = soak(args.calls, args.simulators, args.agents, args.workers, args.lose_reports)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
