"""A worker killed with reports kept during a Redis outage: its replacement applies them.

The real server (`silverline serve`: gunicorn, one worker, its ticker) takes a call to agent
a0 over HTTP. Redis is SIGKILLed; the call's two end reports (the <Dial> action and the status
callback) arrive, are answered with the fallback and kept in the worker's spool file. Then the
worker is SIGKILLed (gunicorn boots a new one), or the whole server is and a new one started.
Redis comes back, and the new worker's ticker must apply the dead worker's reports: the agent
is freed and the call counted once.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from ivr.call.spool import SUFFIX, read
from ivr.runtime.embedded import free_port
from ivr.runtime.redis_process import RedisProcess
from ivr.settings import DEMO_AUTH_TOKEN, load_settings
from ivr.simulator.ledger import context_of, events
from routing.agents import Agent
from routing.clock import SystemClock
from routing.engine import Engine
from routing.store import connect
from tests.webhook_client import twiml_of

SID = "CA" + "4" * 32
CALLER = {"CallSid": SID, "From": "+8613700000001"}
BOOTED = re.compile(r"Booting worker with pid: (\d+)")
APPLIED = re.compile(r"applied 2 report\(s\) kept while Redis was away")
# Each wait below is for a line the server writes when it gets there; the bound only turns
# a server that never gets there into a failure (a loaded 2-core machine boots one in ~5 s).
WITHIN_S = 90.0


class Served:
    """`silverline serve` in a process group of its own; its log read as it is written."""

    def __init__(self, port: int, redis_url: str, spool: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "SILVERLINE"))}
        env |= {
            "REDIS_URL": redis_url,
            "SILVERLINE_HOST": "127.0.0.1",
            "SILVERLINE_PORT": str(port),
            "SILVERLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "SILVERLINE__SERVER__WORKERS": "1",
            "SILVERLINE__SERVER__THREADS": "4",
            "SILVERLINE__SERVER__SEED_DEMO": "false",
            "SILVERLINE__SERVER__SPOOL_DIR": str(spool),
            "SILVERLINE__BUSINESS_HOURS__OPEN": "00:00",  # open round the clock
            "SILVERLINE__BUSINESS_HOURS__CLOSE": "00:00",
        }
        command = [str(Path(sys.executable).parent / "silverline"), "serve"]
        self.proc = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.log: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._drainer = threading.Thread(target=self._drain, daemon=True)
        self._drainer.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """Block until the server logs a line matching `pattern` (no polling: lines are pushed)."""
        deadline = time.monotonic() + WITHIN_S
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError("the server exited:\n" + "".join(self.log[-40:]))
            if found := pattern.search(line):
                return found
        raise AssertionError(f"no {pattern.pattern!r} in the log:\n" + "".join(self.log[-40:]))

    def kill(self) -> None:
        """SIGKILL the master and its workers at once (no worker outlives its master)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._drainer.join(timeout=30)  # the pipe ends with the last process holding it
        assert self.proc.stderr is not None
        self.proc.stderr.close()


def post(base: str, path: str, form: dict[str, str]) -> ET.Element:
    """POST a webhook signed as Twilio signs it; the TwiML, checked for where it runs."""
    url = base + path
    signature = RequestValidator(DEMO_AUTH_TOKEN).compute_signature(url, form)
    headers = {"X-Twilio-Signature": signature}
    request = urllib.request.Request(url, data=urlencode(form).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30) as res:
        assert res.status == 200
        return twiml_of(res.read().decode(), context_of(path))


def _engine(url: str) -> Engine:
    return Engine(connect(url), SystemClock(), load_settings({"redis.url": url}, environ={}))


def _call_to_a0(base: str, engine: Engine) -> None:
    engine.agents.save(Agent("a0", "a0", "client:a0", frozenset({"policy"}), ("mandarin",)))
    engine.router.set_agent_state("a0", "available")
    dialled = post(base, "/voice/menu?attempt=1", {**CALLER, "Digits": "1"})
    assert dialled.find("Dial/Client").text == "a0"
    post(base, f"/voice/whisper?call={SID}&agent=a0", {"CallSid": "CA" + "9" * 32})
    assert engine.router.snapshot().agents["a0"].state == "on_call"


def _end_during_outage(base: str, spool: Path) -> None:
    ended = post(base, "/voice/dial-result?agent=a0", {**CALLER, "DialCallStatus": "completed"})
    assert [verb.tag for verb in ended] == ["Hangup"]  # the fallback answer to an ended call
    post(base, "/voice/status", {**CALLER, "CallStatus": "completed"})
    # Answered, so already on disk (written and fsynced before the answer).
    [kept] = spool.glob("*" + SUFFIX)
    assert [r.endpoint for r in read(kept)] == ["voice.dial_result", "voice.status"]


@pytest.mark.parametrize("killed", ["worker", "server"])
def test_reports_kept_by_a_killed_worker_are_applied_after_the_restart(
    tmp_path: Path, killed: str
) -> None:
    store = RedisProcess(tmp_path / "redis", "--appendonly", "yes", "--appendfsync", "always")
    store.start()
    spool, port = tmp_path / "spool", free_port()
    base = f"http://127.0.0.1:{port}"
    server = Served(port, store.url, spool)
    try:
        first = server.wait_for(BOOTED).group(1)
        _call_to_a0(base, _engine(store.url))
        store.kill()
        _end_during_outage(base, spool)
        if killed == "worker":
            os.kill(int(first), signal.SIGKILL)
            assert server.wait_for(BOOTED).group(1) != first  # gunicorn replaced it
        else:
            server.kill()
            server = Served(port, store.url, spool)
            server.wait_for(BOOTED)
        store.start()  # same port and directory: the append-only file is read back
        server.wait_for(APPLIED)
    finally:
        server.kill()
    try:
        engine = _engine(store.url)
        assert list(spool.glob("*" + SUFFIX)) == []
        assert engine.router.snapshot().agents["a0"].state in ("wrap_up", "available")
        kinds = [ev["kind"] for ev in events(engine) if ev.get("call") == SID]
        assert sorted(kinds) == sorted(set(kinds)) and "completed" in kinds, kinds
    finally:
        store.stop()
