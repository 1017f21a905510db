"""Two app instances on one Redis against one: /voice/incoming throughput.

    .venv/bin/python -m bench.instances [--rounds 3] [--seconds 10] [--rows 20000]

Starts a redis-server on 127.0.0.1 (instances on other machines reach it over TCP), imports a
directory (bench.directory's CSV), then in each round drives one Silverline instance
(bench.target: gunicorn with the production options) from 16 keep-alive connections, and then
two instances on the same Redis from 8 connections each at once, with the same signed
`incoming` webhooks as bench.webhook (a senior customer, a new CallSid, queued). Reports each
side's requests/s and the two-instance/one-instance ratio per round; medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
from pathlib import Path

from bench.common import machine, median
from bench.directory import start_redis
from bench.http import LoadResult, Server, load, start_server
from bench.webhook import incoming_requests, load_directory, senior_numbers

CONNECTIONS = 16
CALLS = 60_000


def _requests(server: Server, numbers: list[str], offset: int) -> list[bytes]:
    made = incoming_requests(server.base, numbers, CALLS)
    return made[offset:] + made[:offset]  # rounds and instances on calls of their own


def one_instance(url: str, numbers: list[str], seconds: float, offset: int) -> float:
    server = start_server("silverline", url)
    try:
        found = load(server, _requests(server, numbers, offset), CONNECTIONS, seconds)
        assert found.errors == 0
        return found.rps
    finally:
        server.stop()


def two_instances(url: str, numbers: list[str], seconds: float, offset: int) -> list[float]:
    servers = [start_server("silverline", url) for _ in range(2)]
    results: list[LoadResult] = []

    def drive(server: Server, shift: int) -> None:
        requests = _requests(server, numbers, shift)
        results.append(load(server, requests, CONNECTIONS // 2, seconds))

    try:
        threads = [
            threading.Thread(target=drive, args=(s, offset + n * CALLS // 2))
            for n, s in enumerate(servers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in servers:
            s.stop()
    assert len(results) == 2 and all(r.errors == 0 for r in results)
    return [r.rps for r in results]


def measure(rows: int, rounds: int, seconds: float) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        redis = start_redis(Path(tmp), tcp=True)
        try:
            numbers = senior_numbers(load_directory(redis.url, rows), 20_000)
            runs = []
            for r in range(rounds):
                single = one_instance(redis.url, numbers, seconds, r * 7_000)
                pair = two_instances(redis.url, numbers, seconds, r * 7_000 + 3_000)
                runs.append({"one": single, "two": pair, "ratio": sum(pair) / single})
                print(json.dumps(runs[-1]), flush=True)
        finally:
            redis.stop()
    return {
        "machine": machine(),
        "rounds": runs,
        "median": {
            "one_rps": median([float(r["one"]) for r in runs]),  # type: ignore[arg-type]
            "two_rps": median([sum(r["two"]) for r in runs]),  # type: ignore[arg-type]
            "ratio": median([float(r["ratio"]) for r in runs]),  # type: ignore[arg-type]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.rows, args.rounds, args.seconds), indent=2))


if __name__ == "__main__":
    main()
