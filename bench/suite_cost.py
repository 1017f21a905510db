"""What each test file of the suite costs: wall time, and the CPU of the test's process and of
every process under it (its redis-server, servers, the browser), read around each test.

    PYTHONPATH=. .venv/bin/pytest -n auto --dist loadfile -p bench.suite_cost   # var/suite-cost/
    .venv/bin/python -m bench.suite_cost [--top 25]        # per file, the most CPU first

A file whose wall time is mostly not CPU waits on the wall clock (real servers, processes,
HTTP, the browser): `make unit` runs those (marked wall_clock or browser) on workers of their
own, beside the CPU-bound rest (BENCHMARKS.md, section 11). The CPU of a worker's
redis-server is read from /proc while it runs, so it counts for the test that used it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OUT = Path("var/suite-cost")
_TICK = os.sysconf("SC_CLK_TCK")


def _descendants_cpu() -> float:
    """User + system CPU seconds of the live processes under this one."""
    children: dict[int, list[int]] = defaultdict(list)
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(entry))
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICK
    total, stack = 0.0, list(children[os.getpid()])
    while stack:
        pid = stack.pop()
        total += cpu.get(pid, 0.0)
        stack += children[pid]
    return total


def _reading() -> tuple[float, float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    under = reaped.ru_utime + reaped.ru_stime + _descendants_cpu()
    return time.perf_counter(), own.ru_utime + own.ru_stime, under


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    before = _reading()
    yield
    after = _reading()
    OUT.mkdir(parents=True, exist_ok=True)
    row = {
        "id": item.nodeid,
        "wall": after[0] - before[0],
        "self": after[1] - before[1],
        "under": after[2] - before[2],
    }
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with (OUT / f"{worker}.jsonl").open("a") as out:
        out.write(json.dumps(row) + "\n")


def by_file(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    files: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for row in rows:
        f = files[row["id"].split("::")[0]]
        f["wall"] += row["wall"]
        f["cpu"] += row["self"] + max(row["under"], 0.0)  # a reaped server can read negative
        f["tests"] += 1
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    rows = [json.loads(line) for path in OUT.glob("*.jsonl") for line in path.open()]
    files = by_file(rows)
    wall = sum(f["wall"] for f in files.values())
    cpu = sum(f["cpu"] for f in files.values())
    print(f"{len(rows)} tests: {wall:.0f} s of worker wall time, {cpu:.0f} s of CPU")
    print(f"{'wall s':>8} {'cpu s':>8} {'idle s':>8} {'tests':>5}  file")
    ranked = sorted(files.items(), key=lambda kv: -kv[1]["cpu"])
    for name, f in ranked[: args.top]:
        idle = f["wall"] - f["cpu"]
        print(f"{f['wall']:8.1f} {f['cpu']:8.1f} {idle:8.1f} {int(f['tests']):5d}  {name}")


if __name__ == "__main__":
    main()
