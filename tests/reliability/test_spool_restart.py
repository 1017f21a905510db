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
import re
import signal
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
from routing.clock import SystemClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.store import connect
from tests.served import BOOTED, Served
from tests.webhook_client import twiml_of

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart

SID = "CA" + "4" * 32
CALLER = {"CallSid": SID, "From": "+8613700000001"}
APPLIED = re.compile(r"applied 2 report\(s\) kept while Redis was away")
ONE_SMALL_WORKER = {"SILVERLINE__SERVER__WORKERS": "1", "SILVERLINE__SERVER__THREADS": "4"}


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
    server = Served(port, store.url, spool, ONE_SMALL_WORKER)
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
            server = Served(port, store.url, spool, ONE_SMALL_WORKER)
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
