"""The agents' occupancy in a run: time busy with calls over time staffed.

Busy is what the engine calls `offered` (the agent's phone rings), `on_call` (whisper and
talk) and `wrap_up`; staffed is busy or `available`; `away` and `offline` are neither. The
meter reads the engine's agent states (one HGETALL) before anything happens at a new instant
of the run: every state change happens in a webhook or a ticker beat, each state carries the
time it began, and a wrap-up that has run out reads as available from its end, so in-process
the time line it rebuilds is exact. Against a live server (`simulate --url`) it reads before
each webhook; a free spell that the server's own ticker ends between two webhooks is rebuilt
from the wrap-up's end (see `_free_between`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ivr.simulator.core.transport import Reply, Transport
from routing.queues.agents import Agents, AgentStatus

BUSY = frozenset({"offered", "on_call", "wrap_up"})
STAFFED = BUSY | {"available"}


class _Clock(Protocol):
    def now(self) -> datetime: ...


class TimeLine(Protocol):
    """The run's time in seconds (`now`) and the engine's clock read at the same moment: a
    simulator's scheduler, or the local Twilio's time line as a follower reads it."""

    @property
    def clock(self) -> _Clock: ...

    def now(self) -> float: ...


def _kind(state: str) -> str:
    return "busy" if state in BUSY else "free" if state in STAFFED else "off"


@dataclass(frozen=True)
class _Seen:
    """An agent's state as last read, and when (on the run's time line) its spell began."""

    kind: str
    began: float
    status: AgentStatus


class Occupancy:
    """Rebuild each agent's busy, free and off spells from the engine's agent states."""

    def __init__(
        self, agents: Agents, sched: TimeLine, changed: Callable[[], bool] = lambda: True
    ) -> None:
        self._agents, self._sched = agents, sched
        self._changed = changed  # whether any agent's state may have been written since asked
        self._only: set[str] | None = None  # every agent of the store, unless watch() says
        self._read_at: float | None = None
        self._seen: dict[str, _Seen] = {}
        self.spells: list[tuple[str, float, float]] = []  # (kind, start, end), closed ones

    def watch(self, agent_ids: list[str]) -> None:
        """Meter these agents only (a live store has agents of its own)."""
        self._only = set(agent_ids)

    def observe(self) -> None:
        """Read every agent's state, once per instant (call it before the instant's work)."""
        now = self._sched.now()
        if self._read_at is not None and now <= self._read_at:
            return
        self._read_at = now
        if not self._changed() and not self._wrap_up_over():
            return  # a read would find every state as last seen: nothing to rebuild
        for agent_id, status in self._agents.states().items():
            if self._only is None or agent_id in self._only:
                self._see(agent_id, status, now)

    def _wrap_up_over(self) -> bool:
        """Whether a wrap-up seen running has ended since (it ends lazily, without a write)."""
        now = self._sched.clock.now()
        return any(
            s.status.wrap_up_until is not None and s.status.wrap_up_until <= now
            for s in self._seen.values()
        )

    def share(self, start: float, stop: float) -> float | None:
        """Busy time over staffed time between `start` and `stop` (None if nobody staffed)."""
        spells = self.spells + [(s.kind, s.began, stop) for s in self._seen.values()]
        busy = staffed = 0.0
        for kind, began, ended in spells:
            overlap = max(0.0, min(ended, stop) - max(began, start))
            busy += overlap if kind == "busy" else 0.0
            staffed += overlap if kind != "off" else 0.0
        return busy / staffed if staffed > 0 else None

    def _see(self, agent_id: str, status: AgentStatus, now: float) -> None:
        kind, began = _kind(status.state), self._on_line(status.since, now)
        before = self._seen.get(agent_id)
        if before is None:
            self._seen[agent_id] = _Seen(kind, began, status)
            return
        free = _free_between(before.status, status)
        if free is not None:
            freed = self._on_line(free, now)
            self.spells += [("busy", before.began, freed), ("free", freed, began)]
            self._seen[agent_id] = _Seen(kind, began, status)
        elif kind != before.kind:
            self.spells.append((before.kind, before.began, began))
            self._seen[agent_id] = _Seen(kind, began, status)
        else:
            self._seen[agent_id] = _Seen(kind, before.began, status)

    def _on_line(self, when: datetime, now: float) -> float:
        """A time of the engine's clock as seconds on the run's time line (not after now)."""
        return min(now, now + (when - self._sched.clock.now()).total_seconds())


def _free_between(before: AgentStatus, after: AgentStatus) -> datetime | None:
    """The end of a wrap-up seen last time if a new call began after it, else None."""
    ended = before.wrap_up_until
    if before.state != "wrap_up" or ended is None or after.since <= ended:
        return None
    return ended


class Observing:
    """A transport that has the meter read the agents' states before each webhook."""

    def __init__(self, inner: Transport, occupancy: Occupancy) -> None:
        self._inner, self._occupancy = inner, occupancy

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        self._occupancy.observe()
        return self._inner.send(method, url, form, headers)
