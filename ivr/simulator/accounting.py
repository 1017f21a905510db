"""Every call of a run accounted for: where each one ended up (issue 21, point 10).

A run places N calls; each ends on exactly one path, so the paths add up to N:

| path | the caller |
|---|---|
| agent | was put through to an agent |
| abandoned_queue | hung up while waiting in a queue (or was still waiting at the end) |
| callback | asked for a call-back while waiting, keeping their place |
| abandoned_ivr | hung up in the menu, never reaching a queue |
| booked_callback | booked a call-back instead of queuing (out of hours, out of complaint hours) |
| after_hours_duty | was put through to the duty or on-call line out of hours |
| after_hours_hangup | hung up in the after-hours flow |
| duty_line | reached a fallback line in opening hours (a Twilio queue error, the store down) |
| complaint_recorded | left a recorded complaint |
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ivr.simulator.core.calls import Leg
from routing.engine import Engine
from routing.queues.hours import is_open

PATHS = (
    "agent",
    "abandoned_queue",
    "callback",
    "abandoned_ivr",
    "booked_callback",
    "after_hours_duty",
    "after_hours_hangup",
    "duty_line",
    "complaint_recorded",
)


def path_of(engine: Engine, leg: Leg, closed: bool) -> str:
    """Where `leg` ended up; `closed`: the hotline was closed when it arrived."""
    s = engine.settings
    lines = {*s.fallback.lines, s.business_hours.on_call_senior_number} - {""}
    reached = {x.text.removeprefix("connected to ") for x in leg.transcript}
    if reached & lines:
        return "after_hours_duty" if closed else "duty_line"
    info = engine.router.call(leg.sid)
    if info is not None:
        if leg.bridged_at is not None:
            return "agent"
        return "callback" if info.callback else "abandoned_queue"
    counted = engine.redis.hmget(
        engine.keys.stats_call(leg.sid), ["k:booked_callback", "k:complaint_recorded"]
    )
    if counted[0]:
        return "booked_callback"
    if counted[1]:
        return "complaint_recorded"
    return "after_hours_hangup" if closed else "abandoned_ivr"


def closed_now(engine: Engine) -> bool:
    s = engine.settings
    return not is_open(engine.clock.now(), s.business_hours, s.tz)


def accounting(paths: list[tuple[str, str]]) -> dict[str, Any]:
    """{"placed", "accounted", "paths": {path: n}, "by_class": {class: {path: n}}} from
    (label, path) pairs; placed == accounted when every call is on a known path."""
    total = Counter(path for _, path in paths)
    by_class = {
        label: dict(Counter(p for lab, p in paths if lab == label)) for label in ("senior", "other")
    }
    return {
        "placed": len(paths),
        "accounted": sum(total[p] for p in PATHS),
        "paths": {p: total[p] for p in PATHS},
        "by_class": {k: {p: v.get(p, 0) for p in PATHS} for k, v in by_class.items()},
    }
