"""Waiting for real processes (redis-server nodes, sentinels, served apps) to reach a state."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

POLL_S = 0.05  # how often the state is read again


def until(check: Callable[[], object], message: str, within_s: float = 30.0) -> None:
    """Read `check` until it holds, or fail with `message` after `within_s` seconds.

    For states other processes reach by gossip or on their own time (a cluster forming, a
    replica syncing, a failover, calls through served apps): they announce nothing a test could
    wait on, so the state is read again every POLL_S. The engine's own time is never waited
    for here: it is injected.
    """
    deadline = time.monotonic() + within_s
    pause = threading.Event()  # never set: each wait is the poll interval
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{message}: not within {within_s:g} s")
        pause.wait(POLL_S)
