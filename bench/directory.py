"""Directory benchmark: CSV import rows/s and memory, Redis bytes per customer, lookup latency.

    .venv/bin/python -m bench.directory [--rows 1000000] [--lookups 20000] [--write]

Starts its own redis-server (the embedded server's settings, no persistence), generates a
deterministic CSV, imports it twice over (a 10% file, then the full file, each in a child
process so its peak memory is its own), reads `used_memory` from INFO before and after, then
times `Directory.identify` on random imported numbers. Prints the figures as a Markdown
section; with --write, also puts it into BENCHMARKS.md under "## Directory".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import redis

from bench.common import machine, median, percentile
from ivr.runtime.redis_process import RedisProcess
from ivr.settings import load_settings
from routing.callers.directory import Directory
from routing.callers.importer import import_csv
from routing.callers.resident_id import check_character
from routing.clock import FixedClock
from routing.keys import Keys
from routing.settings import PROJECT_ROOT
from routing.store import connect

NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)
MOBILE = "130 131 132 133 135 136 137 138 139 150 151 152 155 156 157 158 159 186 187 188".split()
NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余"


def generate(path: Path, rows: int, seed: int = 1) -> None:
    """Write `rows` customers with unique numbers: 10% with two, 30% with a resident ID."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("name,phones,birth_date,id_number,dialect\n")
        for i in range(rows):
            f.write(_row(rng, i, rows))


def _row(rng: random.Random, i: int, rows: int) -> str:
    name = rng.choice(NAMES) + rng.choice(NAMES) + rng.choice(NAMES)
    phones = _mobile(i)
    if i % 10 == 0:
        phones += f";0{rng.choice(('20', '21', '28', '10'))}{(i * 7 + 20_000_000) % 10**8:08d}"
    y, m, d = rng.randint(1930, 2005), rng.randint(1, 12), rng.randint(1, 28)
    birth, id_number = f"{y}-{m:02d}-{d:02d}", ""
    if i % 10 < 3:
        first17 = f"440106{y}{m:02d}{d:02d}{rng.randint(0, 999):03d}"
        id_number = first17 + check_character(first17)
    dialect = "cantonese" if i % 10 == 5 else ""
    return f"{name},{phones},{birth},{id_number},{dialect}\n"


def _mobile(i: int) -> str:
    # i -> (i * a) mod 10**8 is one-to-one (gcd(a, 10) = 1): unique, evenly spread numbers.
    return MOBILE[i % len(MOBILE)] + f"{(i // len(MOBILE) * 48_271) % 10**8:08d}"


def import_child(path: str, url: str) -> None:
    """Import `path` into `url`; print seconds, rows and this process's peak RSS as JSON."""
    settings = load_settings(environ={})
    directory = Directory(connect(url), FixedClock(NOW), settings, Keys("sl"))
    start = time.perf_counter()
    report = import_csv(directory, path)
    seconds = time.perf_counter() - start
    assert report.written and not report.problems, report.problems[:5]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    cpu = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = sum(r.ru_utime + r.ru_stime for r in cpu)
    figures = {"rows": report.rows, "seconds": seconds, "peak_mib": peak_mib}
    figures |= {"worker_mib": worker_mib, "cpu_seconds": cpu_seconds}
    print(json.dumps(figures))


def run_import(path: Path, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.directory", "--child", str(path), url],
        check=True,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def lookups(url: str, rows: int, count: int) -> list[float]:
    """Seconds per identify() of random imported numbers (national form, one client)."""
    settings = load_settings(environ={})
    directory = Directory(connect(url), FixedClock(NOW), settings, Keys("sl"))
    rng = random.Random(2)
    samples = []
    for _ in range(count):
        raw = _mobile(rng.randrange(rows))
        start = time.perf_counter()
        caller = directory.identify(raw, NOW)
        samples.append(time.perf_counter() - start)
        assert caller.known, raw
    return samples


def start_redis(workdir: Path, *, tcp: bool = False) -> RedisProcess:
    """A started redis-server with the embedded server's settings, no persistence.

    It listens on a Unix socket in `workdir`, as `make run`'s embedded server does
    (ivr/runtime/embedded.py); `tcp` makes it listen on 127.0.0.1 instead, as an external Redis
    reached over the network would.
    """
    server = RedisProcess(
        workdir, "--save", "", "--appendonly", "no",
        "--hash-max-ziplist-entries", "1024", "--hash-max-ziplist-value", "128",
        unix_socket=not tcp,
    )  # fmt: skip
    server.start()
    return server


def used_memory(url: str) -> int:
    return int(redis.Redis.from_url(url).info("memory")["used_memory"])


def measure(rows: int, count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        small, full = work / "small.csv", work / "full.csv"
        generate(small, rows // 10, seed=5)
        generate(full, rows)
        server = start_redis(work)
        url = server.url
        try:
            small_run = run_import(small, url)
            redis.Redis.from_url(url).flushall()
            before = used_memory(url)
            full_run = run_import(full, url)
            after = used_memory(url)
            samples = lookups(url, rows, count)
        finally:
            server.stop()
    return {
        "rows": rows,
        "rows_per_s": full_run["rows"] / full_run["seconds"],
        "seconds": full_run["seconds"],
        "peak_mib_small": small_run["peak_mib"],
        "peak_mib_full": full_run["peak_mib"],
        "worker_mib_small": small_run["worker_mib"],
        "worker_mib_full": full_run["worker_mib"],
        "cpu_seconds": full_run["cpu_seconds"],
        "load": os.getloadavg()[0],
        "bytes_per_customer": (after - before) / rows,
        "lookup_median_ms": median(samples) * 1000,
        "lookup_p99_ms": percentile(samples, 99) * 1000,
        "lookups": count,
    }


def section(f: dict[str, float], command: str) -> str:
    rows = int(f["rows"])
    return (
        "## Directory\n\n"
        f"`{command}` on {machine()}, {datetime.now(UTC):%Y-%m-%d}; load average "
        f"{f['load']:.1f} at the end (the machine is shared).\n\n"
        "| figure | value |\n|---|---|\n"
        f"| CSV import, {rows:,} rows (10% two numbers, 30% resident IDs) | "
        f"{f['rows_per_s']:,.0f} rows/s ({f['seconds']:.1f} s) |\n"
        f"| importer CPU time (all processes), {rows:,} rows | {f['cpu_seconds']:.1f} s |\n"
        f"| peak RSS, {rows // 10:,} rows vs {rows:,} rows: importer | "
        f"{f['peak_mib_small']:.0f} MiB vs {f['peak_mib_full']:.0f} MiB |\n"
        f"| peak RSS, same files: each pass-one worker | "
        f"{f['worker_mib_small']:.0f} MiB vs {f['worker_mib_full']:.0f} MiB |\n"
        f"| Redis `used_memory` per customer | {f['bytes_per_customer']:.0f} bytes |\n"
        f"| `Directory.identify` latency, {int(f['lookups']):,} lookups, median / p99 | "
        f"{f['lookup_median_ms']:.3f} ms / {f['lookup_p99_ms']:.3f} ms |\n\n"
        "The import validates every row first (pass one: one process per CPU, each on a slice\n"
        "of the file, to scratch files), then writes in pipelined batches of 50,000 numbers;\n"
        "Redis runs the embedded server's settings (`hash-max-ziplist-entries 1024`,\n"
        "`hash-max-ziplist-value 128`, a Unix socket), without persistence. Lookup latency\n"
        "includes normalising the national number, one HGET, and the geocoder's region (the\n"
        "dialect) in Python.\n"
    )


def write_section(text: str, path: Path = PROJECT_ROOT / "BENCHMARKS.md") -> None:
    """Put `text` in place of the file's "## Directory" section, or append it."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = old.find("## Directory\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        end = old.find("\n## ", start + 1)
        new = old[:start] + text + (old[end + 1 :] if end >= 0 else "")
    path.write_text(new, encoding="utf-8")


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        import_child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--write", action="store_true", help="Also put the figures into "
                        "BENCHMARKS.md (replacing its \"## Directory\" section)")  # fmt: skip
    parser.add_argument("--no-write", action="store_true", help="The default: print only")
    args = parser.parse_args()
    figures = measure(args.rows, args.lookups)
    text = section(figures, "python -m bench.directory " + " ".join(sys.argv[1:]))
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
