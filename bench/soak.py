"""The soak: thousands of calls over real HTTP into two gunicorn workers, checked for exactly-once.

    .venv/bin/python -m bench.soak [--calls 3000] [--simulators 4] [--agents 12] [--workers 2]
                                   [--restart-worker [--outage-s 2]] [--lose-reports 0.05]

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
  equal the stream's recount (ivr/simulator/ledger.py);
- no agent was recorded on two calls at once, no caller answered twice;
- replaying every webhook and status callback of every simulator, again concurrently,
  changes no figure and adds nothing to the stream.

`--connect conference|dial` sets the server's `ivr.connect` (default: the configuration's,
conference). The server then has Twilio's REST API: each simulator's (ivr/simulator/rest.py),
behind one loopback port that sends each request to the simulator holding the call it names
(`_RestRouter`), so agents' legs are placed, callers pulled and calls looked up through REST as
with a real account. A simulator and its REST API take turns (bench.call's `_Turns`).

`--restart-worker` adds a worker's death mid-run: when the first simulator places its middle
call, Redis holds every write for `--outage-s` seconds (`CLIENT PAUSE ... WRITE`) while the
others go on: the server's commands time out (`redis.socket_timeout`), so the report webhooks of
that time are kept in the workers' spool files (ivr/call/spool.py); the soak's own writes only
wait. Then the worker holding the most reports is SIGKILLed, gunicorn boots a replacement, and
Redis takes writes again. It checks as well that every spool file
was applied and removed and that no agent is left offered or on a call. Calls with a webhook
in the outage window (answered with the fallback) are left out of the routed-calls check and
their webhooks out of the second replay, which would be their first delivery.

With `--lose-reports P` each report webhook (<Dial> action, queue hang-up, status callback,
call-back status) is lost with probability P, as if the server had
been down for it. Calls whose end was lost are looked up through REST, or closed as "ended,
unreported" after `routing.max_call_seconds` (LOST_REPORT_SERVER, real seconds: the server's
clock is the wall clock, the simulators' virtual clocks run far faster); the soak waits that
long after the last call, then checks besides that no agent is offered or on a call and every
routed call has exactly one end (answered, abandoned or ended-unreported). The lost reports
are in the replay, as late reports, and must change nothing either. Both variants may run
together: a worker restarted mid-run while reports are being lost.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, cast
from urllib.parse import unquote_plus
from wsgiref.simple_server import WSGIServer, make_server

import redis

from bench.call import _Quiet, _Turns
from bench.directory import start_redis
from bench.http import Server, start_server
from dialects.packs import default_packs
from ivr.call.spool import SUFFIX, read
from ivr.settings import load_settings
from ivr.simulator.core import parse as twiml
from ivr.simulator.core.people import Input, VirtualCaller, patience
from ivr.simulator.core.rest import wsgi_app
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import HttpTransport
from ivr.simulator.ledger import (
    LOST,
    Lossy,
    Tape,
    context_of,
    double_answers,
    events,
    figures,
    is_report,
    mismatches,
    overlaps,
)
from routing.callers.caller import Customer
from routing.clock import FixedClock, SystemClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.store import connect

SERVER = {"routing.wrap_up_seconds": 0, "server.threads": 8}
# With reports lost: a call nothing was heard of for 30 wall-clock seconds is over (a
# simulated conversation of minutes takes a fraction of a second of the server's time).
LOST_REPORT_SERVER = {"routing.reconcile_after": 30, "routing.max_call_seconds": 30}


class _RestRouter:
    """One REST API for several simulators: each request goes to the one holding its call."""

    def __init__(self) -> None:
        self.sims: list[tuple[Simulator, _Turns, Any]] = []

    def add(self, sim: Simulator, turns: _Turns) -> None:
        self.sims.append((sim, turns, turns.wsgi(wsgi_app(sim))))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        # the call it is about: in the path (a call, a queue member), or the agent's leg's
        # answer URL (?call=CA...), whose caller the new leg is for
        text = environ.get("PATH_INFO", "") + " " + unquote_plus(body.decode())
        sids = set(re.findall(r"CA[0-9a-f]{32}", text))
        for sim, _, app in self.sims:
            if any(sid in sim.legs for sid in sids):
                return app(environ, start_response)
        return self.sims[0][2](environ, start_response)  # unknown everywhere: 404 from one


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
    sim: Simulator, engine: Engine, seed: int, count: int, rate: float,
    midway: Callable[[], None] | None = None,
) -> Any:  # fmt: skip
    """Arrivals of one simulator: numbers of its own, seniors saved in the directory."""
    rng = random.Random(seed)
    for i in range(count):
        yield rng.expovariate(rate)
        if midway is not None and i == count // 2:
            midway()  # blocks this simulator only; the others go on
        n = seed * 1_000_000 + i
        if rng.random() < 0.4:
            number = f"+86139{n:08d}"
            born = datetime(1950, 1 + i % 12, 1 + i % 28).date()
            engine.directory.save(Customer(f"soak{n}", f"长者{i}", born, None, (number,)))
            caller = VirtualCaller(number, sim.rng, senior=True, label="senior")
        else:
            keys = [Input(digits=engine.settings.ivr.agent_key, after=1.0)]
            caller = VirtualCaller(f"+86137{n:08d}", sim.rng, inputs=keys, label="other")
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


class _ThreadedWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def soak(
    calls: int, simulators: int, agents: int, workers: int,
    restart_worker: bool = False, outage_s: float = 2.0, lose: float = 0.0,
    connect: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    router = _RestRouter()
    rest = make_server("127.0.0.1", 0, router, server_class=_ThreadedWSGIServer,
                       handler_class=_Quiet)  # fmt: skip
    threading.Thread(target=rest.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = start_redis(Path(tmp))
        url = redis_server.url
        spool = Path(tmp) / "spool"
        options = SERVER | {"server.workers": workers, "server.spool_dir": str(spool)}
        options |= LOST_REPORT_SERVER if lose else {}
        options |= {"twilio.api_base_url": f"http://127.0.0.1:{rest.server_port}"}
        options |= {"ivr.connect": connect} if connect else {}
        server = start_server("silverline", url, json.dumps(options))
        outage = Outage(server, url, spool, outage_s) if restart_worker else None
        try:
            return _run(url, server.base, calls, simulators, agents, options, outage, lose,
                        router)  # fmt: skip
        finally:
            server.stop()
            redis_server.stop()
            rest.shutdown()
            rest.server_close()


@dataclass
class Outage:
    """Redis holds writes for a while; a worker holding kept reports is SIGKILLed meanwhile."""

    server: Server
    url: str
    spool: Path
    seconds: float
    windows: dict[int, range] = field(default_factory=dict)  # per tape: what it sent meanwhile
    killed: dict[str, int] = field(default_factory=dict)
    cut: list[str] = field(default_factory=list)  # webhooks the kill cut off (Twilio's 11205)

    def run(self, tapes: list[Tape]) -> None:
        starts = [len(tape.sent) for tape in tapes]
        client = redis.Redis.from_url(self.url)
        client.client_pause(600_000, all=False)  # writes and scripts wait; reads are served
        try:
            time.sleep(self.seconds)  # the other simulators' webhooks go on meanwhile
            self.killed = _kill_worker_with_reports(self.server, self.spool)
        finally:
            client.client_unpause()
        # One request in flight at each edge (a simulator sends one at a time).
        self.windows = {
            id(tape): range(max(0, start - 1), len(tape.sent) + 1)
            for tape, start in zip(tapes, starts, strict=True)
        }

    def window(self, tape: Tape) -> range:
        return self.windows.get(id(tape), range(0))

    def calls(self, tapes: list[Tape]) -> set[str]:
        """Calls with a webhook in the outage window (answered with the fallback, perhaps)."""
        return {
            tape.sent[i].form.get("CallSid", "")
            for tape in tapes
            for i in self.window(tape)
            if i < len(tape.sent)
        }

    def check(self, engine: Engine, simulators: int) -> list[str]:
        problems = [] if self.killed else ["the outage never happened (too few calls?)"]
        if len(self.cut) > simulators:  # each simulator has one request in flight at most
            problems.append(f"{len(self.cut)} webhooks cut off by one worker's death")
        deadline = time.monotonic() + 30  # replays run on the workers' one-second beat
        while list(self.spool.glob("*" + SUFFIX)) and time.monotonic() < deadline:
            time.sleep(0.2)
        problems += [f"spool file {p.name} never applied" for p in self.spool.glob("*" + SUFFIX)]
        for agent_id, status in engine.router.snapshot().agents.items():
            if status.state in ("offered", "on_call"):
                problems.append(f"agent {agent_id} stuck {status.state} on {status.call_sid}")
        return problems


def _kill_worker_with_reports(server: Server, spool: Path) -> dict[str, int]:
    """SIGKILL the worker whose spool files hold the most reports; wait for its replacement."""
    workers = _children(server.proc.pid)
    kept: Counter[int] = Counter()
    for path in spool.glob("*" + SUFFIX):  # named <pid of the worker that made it>-<random>
        kept[int(path.name.split("-")[0])] += len(read(path))
    victim = max(workers, key=lambda pid: kept[pid])
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # gunicorn's master boots a new worker
        now = _children(server.proc.pid)
        if victim not in now and len(now) == len(workers):
            return {"pid": victim, "reports_kept": kept[victim], "replaced_by": max(now)}
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not replace the killed worker")


def _children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(x) for x in out.stdout.split()]


def _run(
    url: str, base: str, calls: int, simulators: int, agents: int, options: dict[str, Any],
    outage: Outage | None = None, lose: float = 0.0, router: _RestRouter | None = None,
) -> dict[str, Any]:  # fmt: skip
    # The soak's own client outwaits a mid-run outage (--restart-worker); the server's does not.
    client = connect(url, socket_timeout=120.0)
    engine = Engine(client, SystemClock(), load_settings({"redis.url": url, **options}))
    skills = frozenset({"senior", "complaints"} | {t.queue for t in engine.settings.ivr.topics})
    ids = [f"soak{n:03d}" for n in range(agents)]
    for agent_id in ids:
        agent = Agent(agent_id, agent_id, f"client:{agent_id}", skills, default_packs().codes)
        engine.agents.save(agent)
        engine.router.set_agent_state(agent_id, "available")
    sims = [_sim(base, engine, seed, ids, lose) for seed in range(1, simulators + 1)]
    turns = [_Turns(tape) for _, tape in sims]  # a simulator and its REST API take turns
    for (sim, _), turn in zip(sims, turns, strict=True):
        sim.connect(turn)
        if router is not None:
            router.add(sim, turn)
    share, rate = calls // simulators, 0.8 * agents / 20.0 / simulators
    tapes = [tape for _, tape in sims]
    for seed, (sim, _) in enumerate(sims, start=1):
        midway = (lambda: outage.run(tapes)) if outage is not None and seed == 1 else None
        sim.sched.spawn(_calls(sim, engine, seed, share, rate, midway))

    started = time.perf_counter()
    _in_threads([lambda sim=sim, turn=turn: turn.run(sim.run)
                 for (sim, _), turn in zip(sims, turns, strict=True)])  # fmt: skip
    wall = time.perf_counter() - started
    if lose:  # calls whose end was lost are closed max_call_seconds after they went silent
        time.sleep(options["routing.max_call_seconds"] + 5)
    problems = _check_run(engine, sims, outage)
    if lose:
        problems += _stranded(engine)
    problems += outage.check(engine, simulators) if outage is not None else []
    stream = events(engine)
    problems += mismatches(engine, stream) + overlaps(stream)
    problems += [f"{call} answered twice" for call in double_answers(stream)]

    before, length = figures(engine), len(stream)
    replay_started = time.perf_counter()
    skip = outage.window if outage is not None else (lambda tape: range(0))
    _in_threads([lambda tape=tape: _replay(tape, problems, skip(tape)) for tape in tapes])
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
        "connect": engine.settings.ivr.connect,
        "agent_legs_by_rest": sum(
            1 for sim, _ in sims for leg in sim.legs.values() if leg.direction == "outbound-api"
        ),
        "workers": options["server.workers"],
        "threads": options["server.threads"],
        "agents": agents,
        "webhooks": hooks,
        "reports_lost": sum(len(cast(Lossy, tape.inner).lost) for _, tape in sims),
        "wall_s": round(wall, 1),
        "webhooks_per_s": round(hooks / wall, 1),
        "replay_wall_s": round(replay_wall, 1),
        "events": dict(kinds),
        "killed_worker": outage.killed | {"webhooks_cut": len(outage.cut)} if outage else None,
        "problems": problems[:50],
        "ok": not problems,
    }


def _check_run(
    engine: Engine, sims: list[tuple[Simulator, Tape]], outage: Outage | None = None
) -> list[str]:
    skipped = outage.calls([tape for _, tape in sims]) if outage is not None else set()
    problems: list[str] = []
    routed: set[str] = set()
    for sim, tape in sims:
        window = outage.window(tape) if outage is not None else range(0)
        for f in sim.faults:
            if f.message == LOST:  # a report lost on purpose: Twilio's 11205, not the app's
                continue
            if outage is not None and f.code == 11205 and f.call_sid in skipped:
                outage.cut.append(f.url)  # in flight to the killed worker
            else:
                problems.append(f"fault {f.code} {f.message} at {f.url}")
        for i, (sent, reply) in enumerate(zip(tape.sent, tape.replies, strict=True)):
            if i not in window and reply.body != LOST:
                problems += _bad(sent.url, reply.status, reply.body)
        routed |= {
            leg.sid
            for leg in sim.legs.values()
            if leg.direction == "inbound" and leg.routed_at is not None
        }
    entered = Counter(ev["call"] for ev in events(engine) if ev["kind"] == "entered")
    if set(entered) - skipped != routed - skipped:
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


def _replay(tape: Tape, problems: list[str], skip: range = range(0)) -> None:
    again = HttpTransport()
    for i, sent in enumerate(tape.sent):
        if i in skip:
            continue
        reply = again.send(sent.method, sent.url, sent.form, sent.headers)
        problems += _bad(sent.url, reply.status, reply.body)


def _bad(url: str, status: int, body: str) -> list[str]:
    if status != 200:
        return [f"{url}: HTTP {status}"]
    try:
        twiml.parse(body, context_of(url))
    except twiml.TwimlError as exc:
        return [f"{url}: invalid TwiML ({exc})"]
    return []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--simulators", type=int, default=4)
    parser.add_argument("--agents", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--restart-worker", action="store_true", help="see the module's doc")
    parser.add_argument("--outage-s", type=float, default=2.0)
    parser.add_argument(
        "--lose-reports", type=float, default=0.0, help="share of report webhooks lost (0-1)"
    )
    parser.add_argument("--connect", choices=("conference", "dial"), default=None,
                        help="the server's ivr.connect (default: the configuration's)")  # fmt: skip
    args = parser.parse_args()
    if not 0.0 <= args.lose_reports < 1.0:
        parser.error("--lose-reports must be from 0 up to 1 (a share, e.g. 0.05)")
    result = soak(
        args.calls, args.simulators, args.agents, args.workers, args.restart_worker,
        args.outage_s, args.lose_reports, args.connect,
    )  # fmt: skip
    print(json.dumps(result, indent=2, ensure_ascii=False))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
