"""`silverline serve` in demo mode with its local Twilio: two processes on real sockets, for tests.

The server starts `silverline twilio-local` beside itself and points its REST client at it, so
every call crosses both HTTP legs production has. Each wait is bounded and reads what a
process writes or answers; nothing sleeps.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ivr.runtime.embedded import free_port
from ivr.settings import Server, load_settings
from routing.clock import SystemClock
from routing.demo import seed_customers
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.store import connect
from tests.served import BOOTED, Served
from tests.web.conftest import PASSWORD

LISTENING = re.compile(r"local Twilio listening on http://127\.0\.0\.1:(\d+)")
A01 = Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))
POLL_S = 0.1  # between two reads of the store or the local Twilio while waiting for an act


def demo_engine(redis_url: str) -> Engine:
    """The store the server uses: the demo's customers, a01 (password PASSWORD) available."""
    engine = Engine(connect(redis_url), SystemClock(), load_settings({"redis.url": redis_url}))
    seed_customers(engine.directory, engine.clock)
    engine.agents.save(A01)
    engine.users.add("a01", PASSWORD, "agent", "a01")
    engine.router.set_agent_state("a01", "available")
    return engine


@contextmanager
def demo(
    redis_url: str, tmp_path: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """`silverline serve` in demo mode with its local Twilio: the server's URL, its port."""
    port, local = free_port(), free_port()
    given = {"SILVERLINE__TWILIO__LOCAL_PORT": str(local), **(env or {})}
    server = Served(port, redis_url, tmp_path / "spool", given)
    try:
        if "SILVERLINE__TWILIO__API_BASE_URL" not in given:  # else it starts none
            server.wait_for(LISTENING)
        for _ in range(Server().workers):
            server.wait_for(BOOTED)
        yield f"http://127.0.0.1:{port}", local
    finally:
        server.kill()  # its process group: the master, its workers and the local Twilio


def within(seconds: float, done: Callable[[], object]) -> float:
    """Poll `done()` on real sockets until it is true; the seconds it took (bounded)."""
    start = time.monotonic()
    while not done():
        assert time.monotonic() - start < seconds, f"not within {seconds} s"
        threading.Event().wait(POLL_S)
    return time.monotonic() - start
