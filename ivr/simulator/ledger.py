"""Checks of exactly-once bookkeeping, for tests/reliability/test_ledger.py and bench/soak.py.

- `Tape` keeps every webhook a simulator sends, to be sent again; `Lossy` loses some.
- `recount` rebuilds each queue's aggregates from the raw event stream by the rules of
  docs/statistics.md; `mismatches` compares them with what Stats reads.
- `overlaps` finds agents the engine recorded on two calls at once; `double_answers` finds
  callers put through twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ivr.simulator.core import parse as twiml
from ivr.simulator.core.transport import NO_ANSWER, Reply, Transport
from routing.engine import Engine
from routing.reporting.queue_stats import CLASSES, Stats

COUNTED = (
    "offered",
    "answered",
    "answered_sl",
    "abandoned",
    "short_abandoned",
    "completed",
    "wait_ms",
    "abandon_wait_ms",
    "max_wait_ms",
)


@dataclass(frozen=True)
class Sent:
    method: str
    url: str
    form: dict[str, str]
    headers: dict[str, str]


class Tape:
    """A transport that keeps every request it carries, and its answer."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.sent: list[Sent] = []
        self.replies: list[Reply] = []

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        self.sent.append(Sent(method, url, dict(form), dict(headers)))
        reply = self.inner.send(method, url, form, headers)
        self.replies.append(reply)
        return reply


LOST = "HTTP connection failure: lost on purpose"  # what a request Lossy lost is answered


class Lossy:
    """A transport that loses the requests `drop(url)` picks, as a server that is down does.

    A lost request gets Twilio's "HTTP connection failure" (11205): the simulator then tries
    the Fallback URL where Twilio would, and forgets a status callback, as Twilio does.
    """

    def __init__(self, inner: Transport, drop: Callable[[str], bool]) -> None:
        self.inner = inner
        self.drop = drop
        self.lost: list[Sent] = []  # what never reached the server, to be sent late

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        if self.drop(url):
            self.lost.append(Sent(method, url, dict(form), dict(headers)))
            return Reply(NO_ANSWER, "", LOST, error=11205)
        return self.inner.send(method, url, form, headers)


def is_report(url: str) -> bool:
    """A webhook that reports how a call or a leg of it ended (or a caller left a queue)."""
    path = urlsplit(url).path
    return path in ("/voice/dial-result", "/voice/queue-result", "/voice/status") or (
        path == "/voice/callback-status"
    )


def events(engine: Engine) -> list[dict[str, str]]:
    """Every entry of the statistics stream, oldest first."""
    return [fields for _, fields in engine.redis.xrange(engine.keys.stats_events())]


def figures(engine: Engine) -> dict[str, Any]:
    """All-time and today's figures of every queue and class, as plain data."""
    stats = Stats(engine.redis, engine.clock, engine.settings, engine.keys)
    totals, day = stats.totals(), stats.day()
    return {
        "totals": {q: {c: totals[q][c].as_dict() for c in CLASSES} for q in totals},
        "day": {q: {c: day[q][c].as_dict() for c in CLASSES} for q in day},
    }


def recount(engine: Engine, stream: list[dict[str, str]]) -> dict[tuple[str, str], Counter[str]]:
    """Aggregates per inbound (queue, class "s"/"o"), rebuilt from the stream."""
    settings = engine.settings
    short_ms = settings.stats.short_abandon_seconds * 1000
    by_call: dict[str, list[dict[str, str]]] = defaultdict(list)
    for ev in stream:
        if ev["queue"] in settings.queues:  # return visits' events are counted apart
            by_call[ev["call"]].append(ev)
    out: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for evs in by_call.values():
        answered = any(e["kind"] == "answered" for e in evs)
        callback = any(e["kind"] == "callback_requested" for e in evs)
        for ev in evs:
            counts = out[(ev["queue"], ev["class"])]
            wait = int(ev["wait_ms"])
            if ev["kind"] == "entered":
                counts["offered"] += 1
            elif ev["kind"] == "completed":
                counts["completed"] += 1
            elif ev["kind"] == "answered":
                counts["answered"] += 1
                counts["wait_ms"] += wait
                counts["answered_sl"] += wait <= settings.queues[ev["queue"]].sl_seconds * 1000
                counts["max_wait_ms"] = max(counts["max_wait_ms"], wait)
            elif ev["kind"] == "abandoned" and not answered and not callback:
                if wait < short_ms:
                    counts["short_abandoned"] += 1
                else:
                    counts["abandoned"] += 1
                    counts["abandon_wait_ms"] += wait
    return out


def mismatches(engine: Engine, stream: list[dict[str, str]]) -> list[str]:
    """Where the aggregates Stats reads differ from the stream's recount (empty: none)."""
    again = recount(engine, stream)
    totals = Stats(engine.redis, engine.clock, engine.settings, engine.keys).totals()
    found = []
    for queue in engine.settings.queues:
        for klass, name in (("s", "senior"), ("o", "other")):
            got = {k: getattr(totals[queue][name], k) for k in COUNTED}
            want = {k: again[(queue, klass)][k] for k in COUNTED}
            if got != want:
                found.append(f"{queue}/{name}: aggregates {got} != stream {want}")
    return found


def overlaps(stream: list[dict[str, str]]) -> list[str]:
    """Agents whose answered-to-completed spans (engine time) overlap."""
    spans: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for ev in stream:
        if ev["kind"] in ("answered", "completed"):
            spans[ev["agent"]].setdefault(ev["call"], []).append(int(ev["at_ms"]))
    found = []
    for agent, calls in spans.items():
        ordered = sorted((min(t), max(t), call) for call, t in calls.items())
        for (_, end, first), (start, _, second) in zip(ordered, ordered[1:], strict=False):
            if start < end:
                found.append(f"{agent} on {first} and {second} at once")
    return found


def double_answers(stream: list[dict[str, str]]) -> list[str]:
    """Calls answered more than once."""
    answers = Counter(ev["call"] for ev in stream if ev["kind"] == "answered")
    return [call for call, n in answers.items() if n > 1]


def context_of(url: str) -> str:
    """Where the document the app's webhook at `url` returns runs, in Twilio's terms: a wait
    URL, a whisper, a conference's wait URL, or the call itself."""
    path = url.split("?")[0]
    if path.endswith("/voice/wait"):
        return twiml.WAIT
    if path.endswith("/voice/whisper"):
        return twiml.WHISPER
    if path.endswith("/voice/hold"):
        return twiml.CONFERENCE_WAIT
    return twiml.CALL
