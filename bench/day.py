"""A day in seconds: a large hotline's day through the real engine on the virtual clock.

    .venv/bin/python -m bench.day [--calls 300000] [--agents 500] [--fraction 1.0]

EngineTraffic (ivr/simulator/direct.py) drives the routing engine directly, as the webhooks
would: each call arrives (Router.arrive), is offered and answered, talks, ends
(dial_result), and pending assignments are handed out after every event (tick). The day:
300,000 calls spread evenly over 24 hours (3.47 arrivals/s), 500 agents taking every queue,
30% seniors, mean talk 120 s (exponential; 417 Erlangs, 83% occupancy), mean patience 300 s,
wrap-up 0. `--fraction 0.1` runs the first 10% of the day (30,000 calls, 2.4 virtual hours)
and extrapolates the wall time linearly; the report says so. Measures wall time, CPU time,
peak RSS of this process and of redis-server.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

from bench.common import tree_cpu_seconds
from bench.directory import NOW, start_redis
from ivr.settings import load_settings
from ivr.simulator.core.scheduler import Scheduler
from ivr.simulator.direct import EngineTraffic
from ivr.simulator.traffic import Plan, report
from routing.clock import FixedClock
from routing.engine import Engine
from routing.store import connect

DAY_S = 86_400.0


def measure(calls: int, agents: int, fraction: float) -> dict[str, float]:
    run_calls = max(1, round(calls * fraction))
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp))
        url = server.url
        try:
            settings = load_settings({"redis.url": url, "routing.wrap_up_seconds": 0})
            sched = Scheduler(FixedClock(NOW))
            plan = Plan(
                run_calls, calls / DAY_S, agents, 0.3, aht_s=120.0, patience_s=300.0, seed=1
            )
            engine = Engine(connect(url), sched.clock, settings)
            cpu0, redis_cpu0 = time.process_time(), tree_cpu_seconds(server.pid)
            start = time.perf_counter()
            outcomes = EngineTraffic(engine, sched, plan).run()
            wall = time.perf_counter() - start
            cpu = time.process_time() - cpu0
            redis_cpu = tree_cpu_seconds(server.pid) - redis_cpu0
            redis_peak = _vm_hwm(server.pid)
            used_peak = int(engine.redis.info("memory")["used_memory_peak"])
        finally:
            server.stop()
    figures = report(outcomes, plan.sl_seconds)["classes"]["all"]
    return {
        "calls": run_calls,
        "day_calls": calls,
        "fraction": fraction,
        "agents": agents,
        "virtual_s": sched.now(),
        "wall_s": wall,
        "cpu_s": cpu,
        "redis_cpu_s": redis_cpu,  # redis-server's: the routing scripts run there
        "wall_day_s": wall / fraction,
        "calls_per_s": run_calls / wall,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "redis_peak_rss_mib": redis_peak / 1024,
        "redis_used_memory_peak_mib": used_peak / 2**20,
        "answered": figures["answered"],
        "abandoned": figures["abandoned"],
        "asa_s": figures["asa_s"],
        "service_level": figures["service_level"],
    }


def _vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--agents", type=int, default=500)
    parser.add_argument("--fraction", type=float, default=1.0)
    args = parser.parse_args()
    f = measure(args.calls, args.agents, args.fraction)
    print(json.dumps(f))
    share = f"{f['fraction'] * 100:g}%"
    label = "" if f["fraction"] == 1 else f" (extrapolated from {share} of the day)"
    print(
        f"{f['calls']:,} calls, {f['agents']} agents, {f['virtual_s'] / 3600:.1f} virtual hours: "
        f"wall {f['wall_s']:.1f} s, CPU {f['cpu_s']:.1f} s + redis-server "
        f"{f['redis_cpu_s']:.1f} s, {f['calls_per_s']:,.0f} calls/s; "
        f"full day {f['wall_day_s']:.0f} s{label}; peak RSS {f['peak_rss_mib']:.0f} MiB "
        f"(simulator) + {f['redis_peak_rss_mib']:.0f} MiB (redis-server)"
    )


if __name__ == "__main__":
    main()
