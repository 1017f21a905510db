"""What every benchmark shares: the machine, medians and percentiles, process CPU time."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_kb // 1024 // 1024} GiB, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and all its children (live ones)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    children = [int(x) for x in out.stdout.split()]
    return children + [g for c in children for g in _descendants(c)]


def tth_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """A class's calls and time to a human, from `simulate`'s report of it."""
    keys = ("offered", "answered", "abandoned", "time_to_human_s", "time_to_human_p90_s")
    return {k: figures.get(k) for k in keys}


def seniors_tth_delta(before: dict[str, Any], after: dict[str, Any]) -> float | None:
    """How much longer seniors waited for a human in `after` than in `before` (s)."""
    was, now = before["seniors"]["time_to_human_s"], after["seniors"]["time_to_human_s"]
    return None if was is None or now is None else round(now - was, 2)
