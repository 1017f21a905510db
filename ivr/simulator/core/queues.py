"""Twilio queues by name: members in order, sizes, and the figures a wait URL is sent."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from ivr.simulator.core.calls import new_sid

DEFAULT_MAX_SIZE = 1000


class QueueFull(Exception):  # noqa: N818  (an outcome Twilio reports as queue-full)
    """The queue is at its maximum size."""


@dataclass
class Member:
    call_sid: str
    enqueued_at: float


@dataclass
class Queue:
    """One Twilio queue; members are served from the front."""

    sid: str
    name: str
    created_at: float
    max_size: int = DEFAULT_MAX_SIZE
    members: list[Member] = field(default_factory=list)
    waited_total: float = 0.0
    waited_count: int = 0

    def push(self, call_sid: str, now: float) -> Member:
        """Add a caller at the back; raise QueueFull if there is no room."""
        if len(self.members) >= self.max_size:
            raise QueueFull(self.name)
        member = Member(call_sid, now)
        self.members.append(member)
        return member

    def remove(self, call_sid: str, now: float) -> float | None:
        """Take the caller out; return how long they waited, or None if not a member."""
        for i, member in enumerate(self.members):
            if member.call_sid == call_sid:
                del self.members[i]
                waited = now - member.enqueued_at
                self.waited_total += waited
                self.waited_count += 1
                return waited
        return None

    def position(self, call_sid: str) -> int:
        """1-based position, 0 if not a member."""
        for i, member in enumerate(self.members):
            if member.call_sid == call_sid:
                return i + 1
        return 0

    def member(self, call_sid: str) -> Member | None:
        if call_sid == "Front":
            return self.members[0] if self.members else None
        return next((m for m in self.members if m.call_sid == call_sid), None)

    def average_wait(self) -> int:
        """Mean wait of callers who left, in whole seconds (Twilio's AvgQueueTime)."""
        return int(self.waited_total / self.waited_count) if self.waited_count else 0

    def wait_params(self, call_sid: str, now: float) -> dict[str, str]:
        """What the wait URL is sent about this member."""
        member = self.member(call_sid)
        waited = int(now - member.enqueued_at) if member else 0
        return {
            "QueueSid": self.sid,
            "QueuePosition": str(self.position(call_sid)),
            "QueueTime": str(waited),
            "AvgQueueTime": str(self.average_wait()),
            "CurrentQueueSize": str(len(self.members)),
            "MaxQueueSize": str(self.max_size),
        }


class Queues:
    """All queues of the account, created on demand by name."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.by_name: dict[str, Queue] = {}
        self.by_sid: dict[str, Queue] = {}

    def named(self, name: str, now: float, max_size: int | None = None) -> Queue:
        queue = self.by_name.get(name)
        if queue is None:
            queue = Queue(new_sid("QU", self._rng), name, now)
            self.by_name[name] = queue
            self.by_sid[queue.sid] = queue
        if max_size is not None:
            queue.max_size = max_size
        return queue
