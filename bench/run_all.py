"""Every benchmark figure, one after the other: `make bench` (or `python -m bench.run_all`).

Each figure is also a module of its own (`python -m bench.<name> --help`). Their output is
printed and kept under var/bench/<name>.txt. The simulated day runs 10% of the day here
(extrapolated, and labelled so); `python -m bench.day` runs the whole day.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench.common import machine
from routing.settings import PROJECT_ROOT

FIGURES: list[tuple[str, list[str]]] = [
    ("webhook", []),
    ("call", []),
    ("stats", []),
    ("routing", []),
    ("directory", []),
    ("day", ["--fraction", "0.1"]),
    ("lua_cost", ["--fraction", "0.01", "--runs", "3"]),
]


def main() -> None:
    only = set(sys.argv[1:])
    out_dir = PROJECT_ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    print(machine(), flush=True)
    failed = []
    for name, args in FIGURES:
        if only and name not in only:
            continue
        command = [sys.executable, "-m", f"bench.{name}", *args]
        print(f"\n== {' '.join(['python', *command[1:]])}", flush=True)
        start = time.perf_counter()
        result = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True)
        (out_dir / f"{name}.txt").write_text(result.stdout + result.stderr)
        print(result.stdout, end="")
        if result.returncode:
            failed.append(name)
            print(result.stderr[-2000:], end="")
        print(f"({time.perf_counter() - start:.0f} s)", flush=True)
    if failed:
        raise SystemExit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
