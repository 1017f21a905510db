"""Webhook throughput: /voice/incoming for a directory hit vs a bare Flask route.

    .venv/bin/python -m bench.webhook [--rows 1000000] [--rounds 3] [--seconds 10] [--tcp]

Starts a redis-server listening on a Unix socket, as `make run`'s embedded one does (--tcp:
on 127.0.0.1, as an external Redis would be reached), imports a 1,000,000-customer directory
(the CSV of bench.directory, cached under var/bench/), then in each round serves first the bare
baseline (bench/bare_app.py) and then Silverline with the same gunicorn settings
(ivr.runtime.server.gunicorn_options), each driven for `--seconds` (after 2 s of warm-up) by 16
keep-alive connections from the Python load generator in bench/http.py. Every request is a
signed Twilio `incoming` webhook with a new CallSid from a senior customer's number, so
Silverline validates the signature, parses the number, reads the directory, places the caller
(the routing Lua script; no agent is free, so the caller is queued), records the event and
builds TwiML. Reports requests/s, p50/p99, server CPU-us per request (and redis-server's and
the load generator's, since on two cores they share the machine with the server) and the
Silverline/bare ratio of each round; medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import uuid
from pathlib import Path

from bench.common import median
from bench.directory import NOW, generate, start_redis
from bench.http import LoadResult, load, signed_post, start_server
from ivr.settings import load_settings
from routing.callers.directory import Directory
from routing.callers.importer import import_csv
from routing.clock import FixedClock
from routing.keys import Keys
from routing.settings import PROJECT_ROOT
from routing.store import connect

CACHE = PROJECT_ROOT / "var" / "bench"


def customers_csv(rows: int) -> Path:
    """The deterministic directory CSV of bench.directory, generated once and kept."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"customers-{rows}.csv"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        generate(tmp, rows)
        tmp.rename(path)
    return path


def load_directory(url: str, rows: int) -> Path:
    """Import `rows` customers into the Redis at `url`; return the CSV."""
    path = customers_csv(rows)
    settings = load_settings(environ={})
    directory = Directory(connect(url), FixedClock(NOW), settings, Keys(settings.redis.key_prefix))
    report = import_csv(directory, path)
    assert report.written and not report.problems, report.problems[:3]
    return path


def senior_numbers(path: Path, count: int, seed: int = 3) -> list[str]:
    """E.164 primary numbers of `count` customers born before 1960 (60+ on any 2026 date)."""
    found: list[str] = []
    with path.open(encoding="utf-8") as f:
        next(f)
        for line in f:
            _, phones, birth, _ = line.split(",", 3)
            if birth and birth < "1960":
                found.append("+86" + phones.split(";")[0])
    random.Random(seed).shuffle(found)
    return found[:count]


def incoming_requests(base: str, numbers: list[str], count: int) -> list[bytes]:
    """`count` signed /voice/incoming requests, each a new call from one of `numbers`."""
    out = []
    for i in range(count):
        params = {
            "CallSid": "CA" + uuid.UUID(int=i + 1).hex,
            "AccountSid": "AC" + "0" * 32,
            "From": numbers[i % len(numbers)],
            "To": "+861095500000",
            "CallStatus": "ringing",
            "Direction": "inbound",
        }
        out.append(signed_post(base, "/voice/incoming", params))
    return out


def one(
    kind: str, url: str, numbers: list[str], seconds: float, offset: int, redis_pid: int
) -> LoadResult:
    server = start_server(kind, url)
    try:
        count = 60_000
        requests = incoming_requests(server.base, numbers, count)
        # Rounds use distinct CallSids: shift the list so a later round starts on new calls.
        requests = requests[offset % count :] + requests[: offset % count]
        return load(server, requests, connections=16, seconds=seconds, redis_pid=redis_pid)
    finally:
        server.stop()


def measure(rows: int, rounds: int, seconds: float, *, tcp: bool = False) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_redis(Path(tmp), tcp=tcp)
        url = server.url
        try:
            path = load_directory(url, rows)
            numbers = senior_numbers(path, 50_000)
            results: list[dict[str, object]] = []
            for r in range(rounds):
                bare = one("bare", url, numbers, seconds, 0, server.pid)
                silver = one("silverline", url, numbers, seconds, r * 20_000, server.pid)
                ratio = silver.rps / bare.rps
                results.append(
                    {"bare": _figures(bare), "silverline": _figures(silver), "ratio": ratio}
                )
                print(json.dumps(results[-1]), flush=True)
        finally:
            server.stop()
    return {
        "rows": rows,
        "redis": "TCP loopback" if tcp else "Unix socket",
        "rounds": results,
        "median": _medians(results),
    }


def _figures(r: LoadResult) -> dict[str, float]:
    return {
        "rps": r.rps,
        "p50_ms": r.p50_ms,
        "p99_ms": r.p99_ms,
        "cpu_us": r.cpu_us_per_request,
        "redis_cpu_us": r.per_request_us(r.redis_cpu_s),
        "client_cpu_us": r.per_request_us(r.client_cpu_s),
        "errors": r.errors,
        "requests": r.requests,
    }


def _medians(results: list[dict[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {"ratio": median([float(r["ratio"]) for r in results])}  # type: ignore[arg-type]
    for kind in ("bare", "silverline"):
        runs = [r[kind] for r in results]
        out[kind] = {k: median([float(x[k]) for x in runs]) for k in runs[0]}  # type: ignore[index,attr-defined]
    return out


def report(f: dict[str, object]) -> str:
    m = f["median"]
    assert isinstance(m, dict)
    b, s = m["bare"], m["silverline"]
    lines = [
        f"Webhook throughput ({len(f['rounds'])} rounds, medians; "  # type: ignore[arg-type]
        f"directory of {f['rows']:,} customers, Redis over {f['redis']})",
        "| server | req/s | p50 ms | p99 ms | server CPU-us/req | redis-server | load generator |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {name} | {x['rps']:,.0f} | {x['p50_ms']:.2f} | {x['p99_ms']:.2f} | "
            f"{x['cpu_us']:,.0f} | {x['redis_cpu_us']:,.0f} | {x['client_cpu_us']:,.0f} |"
            for name, x in (("bare Flask", b), ("Silverline /voice/incoming", s))
        ),
        f"ratio (median of per-round ratios): {m['ratio']:.2f}",
        "per round: " + ", ".join(f"{r['ratio']:.2f}" for r in f["rounds"]),  # type: ignore[attr-defined]
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--tcp",
        action="store_true",
        help="reach redis-server over TCP loopback, not the Unix socket make run uses",
    )
    args = parser.parse_args()
    figures = measure(args.rows, args.rounds, args.seconds, tcp=args.tcp)
    print(report(figures))
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "webhook.json").write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
