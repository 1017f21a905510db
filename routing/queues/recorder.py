"""Record one statistics event at a time, outside a routing decision.

The routing script records the events of its own decisions in the same call. `Recorder` is
for an event that arrives on its own: the same script and the same recording functions
(record_lib.lua, its `record` operation), so there is one way an event is counted. The
definitions the aggregates serve are in docs/statistics.md.
"""

from __future__ import annotations

from datetime import datetime

from routing.clock import Clock, epoch_ms
from routing.queues.events import EVENT_KINDS, EventKind
from routing.queues.routing_script import RoutingScript


class Recorder:
    """Dedupe an event, add it to its queue's aggregates and append it to the audit stream."""

    def __init__(self, script: RoutingScript, clock: Clock) -> None:
        self.script = script
        self.clock = clock

    def record(
        self,
        kind: EventKind,
        call_sid: str,
        *,
        queue: str,
        senior: bool,
        dialect: str,
        agent: str = "",
        wait_s: float = 0.0,
        at: datetime | None = None,
    ) -> bool:
        """Record one event at `at` (now by default); False when it was a repeat."""
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown statistics event {kind!r}")
        args = {
            "kind": kind,
            "sid": call_sid,
            "q": queue,
            "sr": 1 if senior else 0,
            "d": dialect,
            "ag": agent,
            "w": max(0, round(wait_s * 1000)),
        }
        out = self.script.run("record", epoch_ms(at or self.clock.now()), args)
        return bool(out["recorded"] == 1)
