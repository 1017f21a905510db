"""What supervisors see, as JSON-ready dicts: the live queues, today's figures, the agents.

The dashboard page, its event stream and the /api/v1 endpoints all read from here, so a
figure means the same on every one of them (definitions: docs/statistics.md). Live figures
come from one routing snapshot, today's from the statistics aggregates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from routing.engine import Engine
from routing.queues.agents import AGENT_STATES, Agent, AgentStatus
from routing.queues.router import QueueFigures, QueueSnapshot
from routing.reporting.queue_stats import ALL, CLASSES, MAX_RANGE_DAYS, Figures, Interval
from routing.settings import QueueSettings

SENIOR_QUEUE = "senior"
# The figures a dashboard row shows (the API gives every count; see Figures.as_dict).
ROW_FIELDS = (
    "offered",
    "answered",
    "answered_sl",
    "abandoned",
    "short_abandoned",
    "unreported",
    "asa_s",
    "service_level",
    "abandon_rate",
    "max_wait_s",
    "sl_seconds",
    "time_to_human_s",
    "time_to_human_p90_s",
    # overflow: sent to a line, moved out to another queue, moved in from one
    "overflowed",
    "moved_out",
    "moved_in",
    # calls that never reached a queue: every caller counted
    "ivr_abandoned",
    "booked_callback",
    "ah_duty",
    "ah_hangup",
    "complaint_recorded",
)


def senior_target_s(engine: Engine) -> int:
    """Seconds a senior may wait before the dashboard flags them: the senior queue's T."""
    queue = engine.settings.queues.get(SENIOR_QUEUE)
    return queue.sl_seconds if queue else 20


def queues(engine: Engine, today: dict[str, dict[str, Figures]] | None = None) -> dict[str, Any]:
    """Every queue now (waiting, longest wait, agents by state) and today's figures."""
    snap = engine.router.snapshot()
    today = today or engine.stats.day()
    team = engine.agents.all()
    target = senior_target_s(engine)
    rows = []
    for name, conf in engine.settings.queues.items():
        live = _live(snap.queues.get(name), snap.at)
        eligible = [a for a in team if not conf.skill or conf.skill in a.skills]
        rows.append(
            {
                "name": name,
                "priority": conf.priority,
                "sl_seconds": conf.sl_seconds,
                "sl_percent": conf.sl_percent,
                **live,
                "senior_over_target": live["seniors_longest_wait_s"] > target,
                "ladder": ladder(conf),
                "overflow": {
                    "kind": conf.overflow_kind(),
                    "after_s": conf.overflow_after,
                    "length": conf.overflow_length,
                    "to": conf.overflow_to,
                },
                # the rung the longest-waiting caller has reached (1: the first; 0: nobody waits)
                "longest_rung": live["waiting"] and rung_reached(conf, live["longest_wait_s"]),
                "agents": _by_state(snap.agents.get(a.id) for a in eligible),
                "today": figures_by_class(today[name]),
            }
        )
    return {
        "at": snap.at.isoformat(),
        "day": engine.stats.today().isoformat(),
        "senior_target_s": target,
        "queues": rows,
        "all": _total(engine, rows, snap, today[ALL], target),
    }


def ladder(conf: QueueSettings) -> list[dict[str, Any]]:
    """The queue's widening ladder (docs/routing.md): when each rung opens, and to whom."""
    return [
        {"after_s": step.after, "skill": step.skill, "dialect": step.dialect}
        for step in conf.steps()
    ]


def rung_reached(conf: QueueSettings, waited_s: int) -> int:
    """How many rungs of the ladder are open to a caller who has waited `waited_s`."""
    return sum(1 for step in conf.steps() if step.after <= waited_s)


def _live(fig: QueueFigures | None, now: datetime) -> dict[str, Any]:
    if fig is None:
        return {
            "waiting": 0,
            "longest_wait_s": 0,
            "seniors_waiting": 0,
            "seniors_longest_wait_s": 0,
            "others_waiting": 0,
        }
    return {
        "waiting": fig.waiting,
        "longest_wait_s": _since(fig.oldest, now),
        "seniors_waiting": fig.seniors_waiting,
        "seniors_longest_wait_s": _since(fig.seniors_oldest, now),
        "others_waiting": fig.waiting - fig.seniors_waiting,
    }


def _total(
    engine: Engine,
    rows: list[dict[str, Any]],
    snap: QueueSnapshot,
    today: dict[str, Figures],
    target: int,
) -> dict[str, Any]:
    seniors_longest = max((r["seniors_longest_wait_s"] for r in rows), default=0)
    return {
        "name": ALL,
        "waiting": sum(r["waiting"] for r in rows),
        "longest_wait_s": max((r["longest_wait_s"] for r in rows), default=0),
        "seniors_waiting": sum(r["seniors_waiting"] for r in rows),
        "seniors_longest_wait_s": seniors_longest,
        "others_waiting": sum(r["others_waiting"] for r in rows),
        "senior_over_target": seniors_longest > target,
        "agents": _by_state(snap.agents.values()),
        "callbacks_retrying": snap.callbacks_retrying,
        "callbacks_failed": snap.callbacks_failed,
        # booked out of hours and not yet queued: callers who are not on the line
        "callbacks_pending": engine.callbacks.count(),
        "today": figures_by_class(today),
    }


_CLASSES_IN_ORDER = tuple(sorted(CLASSES))
_ROW_FIELDS_IN_ORDER = tuple(sorted(ROW_FIELDS))


def figures_by_class(by_class: dict[str, Figures], full: bool = False) -> dict[str, Any]:
    """{class: figures} for JSON; `full` keeps every count and the histograms.

    Each Figures makes its JSON once (`Figures.json`): most intervals of a day share the same
    empty Figures, and the interval query keeps the figures of intervals it has seen.
    """
    out: dict[str, Any] = {}
    for klass in _CLASSES_IN_ORDER:  # keys in order: see Figures.json
        data = by_class[klass].json
        out[klass] = data if full else {k: data[k] for k in _ROW_FIELDS_IN_ORDER}
    return out


def _by_state(statuses: Iterable[AgentStatus | None]) -> dict[str, int]:
    counts = dict.fromkeys(AGENT_STATES, 0)
    for status in statuses:
        counts[status.state if status else "offline"] += 1
    return counts


def _since(then: datetime | None, now: datetime) -> int:
    return max(0, int((now - then).total_seconds())) if then else 0


def histogram(engine: Engine, figures: dict[str, Figures]) -> dict[str, Any]:
    """An answered-wait histogram (of every queue's day, say), seniors and others apart."""
    return {
        "bounds_s": list(engine.settings.stats.histogram_bounds),
        "senior": list(figures["senior"].histogram),
        "other": list(figures["other"].histogram),
    }


def day_intervals(engine: Engine, day: date | None = None) -> list[dict[str, Any]]:
    """The day by interval over every queue: offered, answered, abandoned, SL per class."""
    when = day or engine.stats.today()
    return [_compact(iv) for iv in engine.stats.intervals(when, when)]


def _compact(iv: Interval) -> dict[str, Any]:
    out: dict[str, Any] = {"t": f"{iv.start:%H:%M}"}
    for klass, key in (("senior", "s"), ("other", "o")):
        f = iv.figures[klass]
        out[key] = [f.offered, f.answered, f.abandoned, f.answered_sl]
    return out


class Board:
    """Build the dashboard's payload; the day's intervals are re-read only when today changed.

    One Board serves one event stream: each poll costs a routing snapshot and one read of
    the day's aggregates, and the interval aggregates only after a call event.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._seen: tuple[str, dict[str, dict[str, Figures]]] | None = None
        self._intervals: list[dict[str, Any]] = []

    def build(self) -> dict[str, Any]:
        """Everything the dashboard draws, in one payload."""
        day = self.engine.stats.today()
        today = self.engine.stats.day(day)
        if self._seen != (day.isoformat(), today):
            self._intervals = day_intervals(self.engine, day)
            self._seen = (day.isoformat(), today)
        return {
            **queues(self.engine, today),
            "histogram": histogram(self.engine, today[ALL]),
            "intervals": self._intervals,
            "agents": agents(self.engine),
            "forced": forced(self.engine),
            "alerts": self.engine.alerts.active(),
        }


def agents(engine: Engine) -> list[dict[str, Any]]:
    """Every agent with their state now (no caller details: those are the agent's own)."""
    states = engine.agents.states()
    now = engine.clock.now()
    codes = engine.wrap_ups.by_agent(engine.wrap_ups.today())
    phones = engine.softphones.why_away()
    return [
        {
            **_agent(a, states.get(a.id), now),
            "wrap_up_today": codes.get(a.id, {}),
            # why an away agent is offered nobody: their softphone (routing/queues/softphones.py)
            "away_because": phones.get(a.id, ""),
        }
        for a in engine.agents.all()
    ]


def _agent(agent: Agent, status: AgentStatus | None, now: datetime) -> dict[str, Any]:
    state = status.state if status else "offline"
    return {
        "id": agent.id,
        "name": agent.name,
        "skills": sorted(agent.skills),
        "dialects": list(agent.dialects),
        "senior_trained": agent.senior_trained,
        "state": state,
        "since": status.since.isoformat() if status else None,
        "in_state_s": _since(status.since, now) if status else 0,
        "call_sid": status.call_sid if status else "",
        "missed_in_a_row": status.missed if status else 0,
        # an open line (docs/time-to-human.md, "Open lines"): wanted, and connected now
        "persistent": agent.persistent,
        "open_line_connected": bool(status and status.open_line),
    }


FORCED_SHOWN = 20  # the dashboard's list of forced changes; the API gives up to FORCED_KEEP


def forced(engine: Engine, limit: int = FORCED_SHOWN) -> list[dict[str, str]]:
    """The newest forced agent state changes (who, when, what), newest first."""
    return [change.as_dict() for change in engine.router.forced_changes(limit)]


def interval_rows(intervals: list[Interval]) -> list[dict[str, Any]]:
    """Intervals for JSON: the local start and every class's full figures."""
    return [
        {"start": iv.start.isoformat(), "figures": figures_by_class(iv.figures, True)}
        for iv in intervals
    ]


def range_query(eng: Engine, args: Mapping[str, str]) -> tuple[date, date, str | None]:
    """`start`, `end` and `queue` of an interval request; ValueError names what is wrong."""
    start, end = date_range(args.get("start", ""), args.get("end", ""), eng.stats.today())
    queue = args.get("queue", "") or None
    if queue is not None and queue not in eng.settings.queues:
        raise ValueError(f"no queue {queue!r}")
    return start, end, queue


def date_range(start: str, end: str, today: date) -> tuple[date, date]:
    """Parse a YYYY-MM-DD range (both default to `today`); ValueError names what is wrong."""
    try:
        first = date.fromisoformat(start) if start else today
        last = date.fromisoformat(end) if end else first
    except ValueError as exc:
        raise ValueError("start and end must be dates as YYYY-MM-DD") from exc
    if last < first:
        raise ValueError("end must not be before start")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"a range covers at most {MAX_RANGE_DAYS} days")
    return first, last
