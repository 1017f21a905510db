"""What one call of the routing script (route.lua) costs redis-server, in CPU.

    .venv/bin/python -m bench.lua_cost [--fraction 0.03] [--runs 3] [--due 20000] [--by-op]

Each run starts its own redis-server (Unix socket, bench.directory.start_redis), drives
`bench.day`'s traffic at `--fraction` of the day through the real engine (EngineTraffic:
500 agents, 6 skills x 6 dialects each), and reads Redis's `INFO commandstats` (EVALSHA:
calls and usec_per_call, the CPU Redis counts inside the script, the commands it runs
included) and redis-server's user + system CPU from /proc over the traffic. `--due N` then
calls `RoutingScript.run("due")` N times on the same server: the fixed cost of a call that
does almost nothing. `--by-op` also has Redis log every command (SLOWLOG at 0 us) and reads
each script call's entry: calls and mean us per operation (the logging costs Redis some us
per command, so compare usec_per_call only between runs without it). usec_per_call is CPU
inside Redis, far less sensitive to the machine's load than wall time; still compare
medians of several runs, alternated.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import median, tree_cpu_seconds
from bench.day import DAY_S
from bench.directory import NOW, start_redis
from ivr.settings import load_settings
from ivr.simulator.core.scheduler import Scheduler
from ivr.simulator.direct import EngineTraffic
from ivr.simulator.traffic import Plan
from routing.clock import FixedClock, epoch_ms
from routing.engine import Engine
from routing.store import connect


def evalsha(redis: Any) -> tuple[int, float]:
    """(calls, total µs) of EVALSHA since the last CONFIG RESETSTAT."""
    stats = redis.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), float(stats.get("usec", 0))


def one_run(calls: int, agents: int, fraction: float, due: int, by_op: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp))
        try:
            settings = load_settings({"redis.url": server.url, "routing.wrap_up_seconds": 0})
            sched = Scheduler(FixedClock(NOW))
            plan = Plan(
                max(1, round(calls * fraction)), calls / DAY_S, agents, 0.3,
                aht_s=120.0, patience_s=300.0, seed=1,
            )  # fmt: skip
            engine = Engine(connect(server.url), sched.clock, settings)
            redis = engine.redis
            per_op: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            if by_op:
                _log_each_call(engine, per_op)
            redis.config_resetstat()
            cpu0, start = tree_cpu_seconds(server.pid), time.perf_counter()
            EngineTraffic(engine, sched, plan).run()
            wall = time.perf_counter() - start
            redis_cpu = tree_cpu_seconds(server.pid) - cpu0
            n, usec = evalsha(redis)
            out: dict[str, Any] = {
                "calls": plan.calls,
                "script_calls": n,
                "usec_per_call": usec / max(n, 1),
                "redis_cpu_s": redis_cpu,
                "wall_s": wall,
            }
            if by_op:
                out["by_op"] = {op: [n, t / n] for op, (n, t) in sorted(per_op.items())}
                redis.config_set("slowlog-log-slower-than", 10_000)
            if due:
                script = engine.script
                at = epoch_ms(sched.clock.now())
                redis.config_resetstat()
                for _ in range(due):
                    script.run("due", at, {})
                n, usec = evalsha(redis)
                out["due_usec_per_call"] = usec / max(n, 1)
        finally:
            server.stop()
    return out


def _log_each_call(engine: Engine, per_op: dict[str, list[int]]) -> None:
    """Add each script call's µs inside Redis (its slow-log entry) to per_op[op]."""
    redis, script = engine.redis, engine.script
    redis.config_set("slowlog-log-slower-than", 0)
    run = script.run

    def logged(op: str, now_ms: int, args: dict[str, Any]) -> dict[str, Any]:
        answer = run(op, now_ms, args)
        entry = redis.slowlog_get(1)[0]  # the script's own entry follows its commands'
        per_op[op][0] += 1
        per_op[op][1] += int(entry["duration"])
        return answer

    script.run = logged  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--fraction", type=float, default=0.03)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--due", type=int, default=20_000)
    parser.add_argument("--by-op", action="store_true")
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        f = one_run(args.calls, args.agents, args.fraction, args.due, args.by_op)
        f["load"] = os.getloadavg()[0]
        runs.append(f)
        print(json.dumps(f), flush=True)
    keys = ["usec_per_call", "redis_cpu_s", "wall_s"] + (["due_usec_per_call"] if args.due else [])
    medians = {k: round(median([r[k] for r in runs]), 1) for k in keys}
    print(f"medians of {len(runs)} runs, {runs[0]['calls']:,} calls: {json.dumps(medians)}")


if __name__ == "__main__":
    main()
