"""Statistics stay flat: the supervisor API's latency after 10,000 and 10,000,000 calls.

    .venv/bin/python -m bench.stats [--small 10000] [--large 10000000] [--requests 200]

Two hotlines, each on its own fresh redis-server, the app in-process (Flask test client, a
signed-in supervisor, the clock fixed at 10:00 Shanghai). In both, 10,000 calls are recorded
one by one through the real Recorder (entered, answered, completed: three Lua calls each) over
today's opening hours. The second one's history then grows to 10,000,000 calls. Recording them
one by one would take hours, so they are written in bulk, in the shapes the Recorder leaves: a
year of past days' interval and day aggregates (copies of today's recorded hashes, counts
scaled to 27,000 calls a day), the all-time totals raised to 10,000,000 calls, and per-call
dedupe records for the last 8 days (the Recorder's TTL) — 219,000 keys. GET /api/v1/queues and
GET /api/v1/intervals (today) are then timed on both (after
`ivr.runtime.server.freeze_heap()`, as the server does before it forks), the two taking turns:
a warm-up pass, then five passes of `--requests` requests per endpoint and hotline. p50, p99
and the 10M ÷ 10k ratio of each pass: medians over the passes.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask.testing import FlaskClient

from app import create_app
from bench.common import median, percentile
from bench.directory import start_redis
from ivr import services
from ivr.runtime.redis_process import RedisProcess
from ivr.runtime.server import freeze_heap
from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.events import day_intervals, interval_id

NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)  # 10:00 in Shanghai
DAYS = 365
TTL_DAYS = 8


def record_calls(eng: Engine, count: int, seed: int = 5) -> None:
    """`count` calls since 08:00 today, through the real Recorder."""
    rng = random.Random(seed)
    queues = list(eng.settings.queues)
    opened = NOW - timedelta(hours=2)
    for i in range(count):
        sid = f"CA{i:032d}"
        queue = "senior" if rng.random() < 0.3 else rng.choice(queues)
        senior = queue == "senior"
        at = opened + timedelta(seconds=rng.uniform(0, 7000))
        wait = rng.expovariate(1 / 20)
        kw = {"queue": queue, "senior": senior, "dialect": "mandarin"}
        eng.recorder.record("entered", sid, at=at, **kw)  # type: ignore[arg-type]
        eng.recorder.record("answered", sid, agent="a01", wait_s=wait,
                            at=at + timedelta(seconds=wait), **kw)  # type: ignore[arg-type]  # fmt: skip
        eng.recorder.record("completed", sid, agent="a01", wait_s=wait,
                            at=at + timedelta(seconds=wait + 120), **kw)  # type: ignore[arg-type]  # fmt: skip


def grow_history(eng: Engine, recorded: int, target: int) -> None:
    """Write the aggregates and dedupe records of `target - recorded` more calls in bulk."""
    r, keys, settings = eng.redis, eng.keys, eng.settings
    per_day = (target - recorded) / (DAYS - 1)
    today = NOW.astimezone(settings.tz).date()
    today_ids = {iv[9:]: iv for iv in day_intervals(today, settings)}
    scale = per_day / recorded
    for queue in settings.queues:
        templates = {
            hhmm: r.hgetall(keys.stats_interval(queue, iv)) for hhmm, iv in today_ids.items()
        }
        templates = {k: v for k, v in templates.items() if v}
        day_template = r.hgetall(keys.stats_day(queue, today.strftime("%Y%m%d")))
        pipe = r.pipeline(transaction=False)
        for back in range(1, DAYS):
            day = today - timedelta(days=back)
            stamp = day.strftime("%Y%m%d")
            for hhmm, row in templates.items():
                name = keys.stats_interval(queue, f"{stamp}T{hhmm}")
                pipe.hset(name, mapping=_scaled(row, scale))
            if day_template:
                pipe.hset(keys.stats_day(queue, stamp), mapping=_scaled(day_template, scale))
            if len(pipe) > 5000:
                pipe.execute()
        total = r.hgetall(keys.stats_total(queue))
        for field, value in _scaled(total, target / recorded - 1).items():
            pipe.hincrby(keys.stats_total(queue), field, int(value))
        pipe.execute()
    call = r.hgetall(keys.stats_call(f"CA{0:032d}"))
    pipe = r.pipeline(transaction=False)
    for i in range(int(per_day * TTL_DAYS)):
        name = keys.stats_call(f"CB{i:032d}")
        pipe.hset(name, mapping=call)
        pipe.pexpire(name, TTL_DAYS * 86_400_000)
        if len(pipe) > 10_000:
            pipe.execute()
    pipe.execute()


def _scaled(row: dict[str, str], k: float) -> dict[str, str]:
    out = {}
    for field, value in row.items():
        try:
            out[field] = str(round(int(value) * k))
        except ValueError:
            out[field] = value
    return out


def time_api(
    clients: dict[str, FlaskClient], requests: int, passes: int = 5
) -> dict[str, dict[str, dict[str, float]]]:
    """p50 and p99 per history and endpoint, and the large ÷ small ratio of each pass.

    The histories take turns, pass by pass (after a warm-up pass), so the machine's drift
    falls on both alike; each figure is the median over the passes.
    """
    day = NOW.strftime("%Y-%m-%d")
    paths = {"queues": "/api/v1/queues", "intervals": f"/api/v1/intervals?start={day}&end={day}"}
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {
        (h, name): [] for h in clients for name in paths
    }
    for n in range(passes + 1):
        for name, path in paths.items():
            for history, client in clients.items():
                samples = []
                for _ in range(requests if n else 20):
                    t0 = time.perf_counter()
                    res = client.get(path, headers={"Accept": "application/json"})
                    samples.append(time.perf_counter() - t0)
                    assert res.status_code == 200, res.get_data(as_text=True)[:200]
                if n:
                    runs[history, name].append((median(samples), percentile(samples, 99)))
    out: dict[str, dict[str, dict[str, float]]] = {h: {} for h in clients}
    for (history, name), rs in runs.items():
        out[history][name] = {
            "p50_ms": median([r[0] for r in rs]) * 1000,
            "p99_ms": median([r[1] for r in rs]) * 1000,
        }
    out["ratio"] = {
        name: {
            "p50": median(
                [b[0] / a[0] for a, b in zip(runs["small", name], runs["large", name], strict=True)]
            ),
            "p99": median(
                [b[1] / a[1] for a, b in zip(runs["small", name], runs["large", name], strict=True)]
            ),
        }
        for name in paths
    }
    return out


def hotline(url: str) -> tuple[Engine, FlaskClient]:
    """The app on `url` with a signed-in supervisor's test client."""
    app = create_app({"redis.url": url}, clock=FixedClock(NOW))
    user = services.of(app).engine.users.add("sue", "bench-password-1", "supervisor")
    client = app.test_client()
    with client.session_transaction() as session:
        session["u"], session["f"] = user.name, user.fingerprint
    return services.of(app).engine, client


def measure(small: int, large: int, requests: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        servers: list[RedisProcess] = []
        try:
            servers += [start_redis(Path(tmp) / "a"), start_redis(Path(tmp) / "b")]
            small_url, large_url = servers[0].url, servers[1].url
            small_eng, small_client = hotline(small_url)
            large_eng, large_client = hotline(large_url)
            t0 = time.perf_counter()
            record_calls(small_eng, small)
            record_s = time.perf_counter() - t0
            record_calls(large_eng, small)
            t0 = time.perf_counter()
            grow_history(large_eng, small, large)
            grow_s = time.perf_counter() - t0
            freeze_heap()  # as the server does before it forks its workers
            timed = time_api({"small": small_client, "large": large_client}, requests)
            memory = int(large_eng.redis.info("memory")["used_memory"])
            dbsize = int(large_eng.redis.dbsize())
            small_keys = int(small_eng.redis.dbsize())
        finally:
            for server in servers:
                server.stop()
    assert interval_id(NOW, large_eng.settings)  # today's interval exists
    return {
        "small": small,
        "large": large,
        "record_s": record_s,
        "records_per_s": small * 3 / record_s,
        "grow_s": grow_s,
        "before": timed["small"],
        "after": timed["large"],
        "ratio": {k: v["p50"] for k, v in timed["ratio"].items()},
        "ratio_p99": {k: v["p99"] for k, v in timed["ratio"].items()},
        "redis_keys_small": small_keys,
        "redis_keys": dbsize,
        "redis_used_mib": memory / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=10_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    f = measure(args.small, args.large, args.requests)
    print(json.dumps(f))
    print("| endpoint | p50 ms, 10k calls | p99 | p50 ms, 10M | p99 | p50 ratio | p99 ratio |")
    print("|---|---|---|---|---|---|---|")
    for k in f["before"]:  # type: ignore[attr-defined]
        b, a = f["before"][k], f["after"][k]  # type: ignore[index]
        print(
            f"| {k} | {b['p50_ms']:.2f} | {b['p99_ms']:.2f} | {a['p50_ms']:.2f} | "
            f"{a['p99_ms']:.2f} | {f['ratio'][k]:.2f} | {f['ratio_p99'][k]:.2f} |"  # type: ignore[index]
        )


if __name__ == "__main__":
    main()
