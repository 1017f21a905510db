"""The demo as production runs: gunicorn and the local Twilio, two processes, over real sockets.

`silverline serve` in demo mode starts `silverline twilio-local` beside itself and points its
REST client at it; `silverline call --url` asks the local Twilio to place the call. So every
call crosses both HTTP legs production has: Twilio's webhooks to the app, the app's REST
requests to Twilio. Each wait below is bounded and reads what a process writes or answers;
nothing sleeps.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ivr.runtime.embedded import free_port
from ivr.settings import Server, load_settings
from routing.agents import Agent
from routing.clock import SystemClock
from routing.demo import seed_customers
from routing.engine import Engine
from routing.store import connect
from tests.served import BOOTED, WITHIN_S, Served
from tests.web.conftest import PASSWORD

LISTENING = re.compile(r"local Twilio listening on http://127\.0\.0\.1:(\d+)")
A01 = Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))
SENIOR = "+8613800138000"  # 王建国, 68, in the demo directory
GREETING_S = 7.0  # the senior's greeting at the senior pace (docs/time-to-human.md)
FREED_WITHIN_S = 10.0
POLL_S = 0.1  # between two reads of the store while waiting for the server to act


def _engine(redis_url: str) -> Engine:
    engine = Engine(connect(redis_url), SystemClock(), load_settings({"redis.url": redis_url}))
    seed_customers(engine.directory, engine.clock)
    engine.agents.save(A01)
    engine.users.add("a01", PASSWORD, "agent", "a01")
    engine.router.set_agent_state("a01", "available")
    return engine


def _env(redis_url: str, local_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SILVERLINE"))}
    return env | {"REDIS_URL": redis_url, "SILVERLINE__TWILIO__LOCAL_PORT": str(local_port)}


@contextmanager
def demo(
    redis_url: str, tmp_path: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """`silverline serve` in demo mode with its local Twilio: the server's URL, its port."""
    port, local = free_port(), free_port()
    given = {"SILVERLINE__TWILIO__LOCAL_PORT": str(local), **(env or {})}
    server = Served(port, redis_url, tmp_path / "spool", given)
    try:
        server.wait_for(LISTENING)
        for _ in range(Server().workers):
            server.wait_for(BOOTED)
        yield f"http://127.0.0.1:{port}", local
    finally:
        server.kill()  # its process group: the master, its workers and the local Twilio


class Command:
    """A `silverline` command in a process of its own; its output read as it is written."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        command = [str(Path(sys.executable).parent / "silverline"), *args]
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _drain(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def until(self, text: str) -> float:
        """Block until a line holding `text` is printed; the monotonic time it came."""
        deadline = time.monotonic() + WITHIN_S
        while (left := deadline - time.monotonic()) > 0:
            line = self._queue.get(timeout=left)
            if line is None:
                break
            if text in line:
                return time.monotonic()
        assert self.proc.stderr is not None
        raise AssertionError(f"no {text!r} in {self.lines}: {self.proc.stderr.read()}")

    def kill(self) -> None:
        """SIGKILL it (what a killed terminal or an OOM does) and close its pipes."""
        self.proc.kill()
        self.close()

    def close(self) -> None:
        self.proc.wait(timeout=WITHIN_S)
        self._drainer.join(timeout=WITHIN_S)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def _within(seconds: float, done: Any) -> float:
    """Poll `done()` on real sockets until it is true; the seconds it took (bounded)."""
    start = time.monotonic()
    while not done():
        assert time.monotonic() - start < seconds, f"not within {seconds} s"
        threading.Event().wait(POLL_S)
    return time.monotonic() - start


def _at(line: str) -> float:
    found = re.match(r"\[(\d+):(\d+\.\d)\]", line)
    assert found, line
    return int(found.group(1)) * 60 + float(found.group(2))


def test_a_demo_call_rings_the_agent_while_the_greeting_plays_and_a_killed_caller_frees_them(
    redis_url: str, tmp_path: Path
) -> None:
    engine = _engine(redis_url)
    with demo(redis_url, tmp_path) as (url, local):
        env = _env(redis_url, local)
        call = Command(["call", SENIOR, "--url", url, "--talk", "600"], env)
        call.until("connected to client:a01")
        lines = call.lines
        rung = next(_at(x) for x in lines if "ringing client:a01" in x)
        connected = next(_at(x) for x in lines if "connected to client:a01" in x)
        assert any("joined conference" in x for x in lines)  # the conference path, over REST
        assert rung < 1.0 < GREETING_S  # rung while the greeting plays, not after it
        assert connected <= 4.6  # the agent answers after 3 s; the whisper takes a second
        assert engine.agents.state("a01").state == "on_call"

        call.kill()  # killed outright: nothing can tell the local Twilio but silence
        took = _within(FREED_WITHIN_S, lambda: engine.agents.state("a01").state != "on_call")
        assert took < FREED_WITHIN_S
        snapshot = engine.router.snapshot()
        assert all(q.waiting == 0 for q in snapshot.queues.values())
