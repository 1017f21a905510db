"""A Sentinel failover under steady calls: a real `silverline serve` on REDIS_URL=redis+sentinel,
a master, a replica and three sentinels (tests/sentinels.py), the master SIGKILLed.

Callers (seniors, straight to their queue) arrive every RATE_S seconds as signed
`/voice/incoming` webhooks. While the sentinels have not promoted the replica every webhook
answers at once with the fallback line; afterwards the same server routes again, and every
call answered normally, before the kill or after the window, is in the statistics exactly
once. The window (seconds of fallback answers) is measured and printed for BENCHMARKS.md.
The pace is kept by waiting for each call's slot; nothing waits to make a state true.
"""

from __future__ import annotations

import threading
import time
import urllib.request
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from twilio.request_validator import RequestValidator

from ivr.runtime.embedded import free_port
from ivr.settings import DEMO_AUTH_TOKEN, Server, load_settings
from ivr.simulator.ledger import events
from routing.clock import SystemClock
from routing.demo import seed_customers
from routing.engine import Engine
from routing.store import connect
from tests.helpers.processes import until
from tests.sentinels import LocalSentinels
from tests.served import BOOTED, Served

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart

SENIOR = "+8613800138000"  # 王建国, 68, in the demo directory: straight to the senior queue
FALLBACK = load_settings().fallback.number
RATE_S = 0.1  # ten callers a second
BEFORE = 20  # calls answered before the master is killed
AFTER = 20  # calls routed after the window, to show it is over
WITHIN_S = 60.0  # the window is a few seconds (DOWN_AFTER_MS + a vote); this bounds a hang
# An answer during the window: a refused connection, a sentinel asked, the fallback TwiML.
# Generous for a loaded 2-core machine; a hung Redis would cost redis.socket_timeout (0.5 s).
FAST_S = 1.0


@dataclass(frozen=True)
class Answer:
    sid: str
    sent: float  # monotonic
    seconds: float
    routed: bool  # the caller was queued; False: the fallback line's <Dial>


def call(base: str, i: int) -> Answer:
    """One signed /voice/incoming from the senior with a new CallSid; how it was answered."""
    sid = f"CA{i:032d}"
    form = {"CallSid": sid, "From": SENIOR, "To": load_settings().twilio.caller_id}
    url = f"{base}/voice/incoming"
    signature = RequestValidator(DEMO_AUTH_TOKEN).compute_signature(url, form)
    request = urllib.request.Request(
        url, data=urlencode(form).encode(), headers={"X-Twilio-Signature": signature}
    )
    sent = time.monotonic()
    with urllib.request.urlopen(request, timeout=30) as res:
        assert res.status == 200
        root = ET.fromstring(res.read())
    seconds = time.monotonic() - sent
    if root.find("Enqueue") is not None:
        return Answer(sid, sent, seconds, True)
    dial = root.find("Dial")  # the fallback line
    assert dial is not None and (dial.text or "").strip() == FALLBACK, ET.tostring(root)
    return Answer(sid, sent, seconds, False)


def caught_up(sentinels: LocalSentinels) -> bool:
    """The replica holds every write the master has (replication offsets equal)."""
    with (
        redis.Redis(port=sentinels.master.port) as master,
        redis.Redis(port=sentinels.replica.port) as replica,
    ):
        want = master.info("replication")["master_repl_offset"]
        return bool(replica.info("replication")["slave_repl_offset"] >= want)


def test_a_master_killed_under_steady_calls_costs_seconds_of_fallback_answers_and_no_count(
    tmp_path: Path,
) -> None:
    sentinels = LocalSentinels(tmp_path / "redis")
    url = sentinels.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Served(port, url, tmp_path / "spool")
    answers: list[Answer] = []
    try:
        for _ in range(Server().workers):
            server.wait_for(BOOTED)
        engine = Engine(connect(url), SystemClock(), load_settings({"redis.url": url}))
        seed_customers(engine.directory, engine.clock)
        pid = server.proc.pid
        start, killed_at, i = time.monotonic(), 0.0, 0
        deadline = start + WITHIN_S
        while time.monotonic() < deadline:
            threading.Event().wait(max(0.0, start + i * RATE_S - time.monotonic()))
            if i == BEFORE:  # between two calls: nothing acknowledged is left unreplicated
                until(lambda: caught_up(sentinels), "the replica did not catch up")
                sentinels.master.kill()
                killed_at = time.monotonic()
            answers.append(call(base, i))
            i += 1
            fell = [n for n, a in enumerate(answers) if not a.routed]
            if fell and len(answers) - 1 - fell[-1] >= AFTER:
                break
        assert server.proc.poll() is None and server.proc.pid == pid  # no restart
        stream = events(engine)
    finally:
        server.kill()
        sentinels.stop()

    fallback = [a for a in answers if not a.routed]
    assert fallback, "the kill cost no answer: the failover was not exercised"
    assert all(a.routed for a in answers[:BEFORE])
    first, last = fallback[0], fallback[-1]
    after = [a for a in answers if a.sent > last.sent]
    assert len(after) >= AFTER and all(a.routed for a in after)  # routed again, no restart
    inside = [a for a in answers if first.sent <= a.sent <= last.sent]
    assert all(not a.routed for a in inside)  # one window, not a flicker
    assert max(a.seconds for a in fallback) < FAST_S
    entered = Counter(ev["call"] for ev in stream if ev["kind"] == "entered")
    outside = [a.sid for a in answers if a.routed]
    assert [entered[s] for s in outside] == [1] * len(outside)
    window = last.sent + last.seconds - killed_at
    print(
        f"failover: {len(fallback)} fallback answers in {window:.2f} s from the kill "
        f"(first {first.sent - killed_at:.2f} s, last answered {window:.2f} s after it); "
        f"slowest fallback answer {max(a.seconds for a in fallback) * 1000:.0f} ms; "
        f"{len(outside)} routed calls counted once each"
    )
