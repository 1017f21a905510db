"""Call-back requests left out of hours (or booked by a supervisor for a caller who hung up),
kept until the hotline is open and then queued."""

from __future__ import annotations

import json
from dataclasses import dataclass

from routing.callers.caller import Caller
from routing.clock import Clock, epoch_ms
from routing.keys import Keys
from routing.store import RedisClient

_KEEP_S = 8 * 24 * 3600  # a request outlives the longest closure (a week-long holiday)


@dataclass(frozen=True)
class CallbackRequest:
    call_sid: str
    number: str
    name: str
    age: int | None
    dialect: str
    senior: bool
    requested_ms: int
    queue: str = ""  # "": the senior or general queue; "complaints": when complaint hours open


class CallbackRequests:
    """The out-of-hours call-back book: one sorted set by request time, one hash per request."""

    def __init__(
        self, redis: RedisClient, clock: Clock, keys: Keys, keep_days: int | None = None
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.keys = keys
        # privacy.callback_days: the request holds the caller's number
        self.keep_s = keep_days * 86_400 if keep_days else _KEEP_S

    def request_after_hours(self, call_sid: str, caller: Caller, queue: str = "") -> bool:
        """Book a call-back for `caller` (into `queue` when given); False when this call
        already booked one."""
        return self.book(call_sid, caller, caller.name, epoch_ms(self.clock.now()), queue)

    def book(self, call_sid: str, caller: Caller, name: str, at_ms: int, queue: str = "") -> bool:
        """Book a call-back scored `at_ms` (the oldest is queued first), into `queue` when
        given; False when `call_sid` has one booked already."""
        if not caller.number:
            return False
        record = {
            "number": caller.number,
            "name": name,
            "age": caller.age,
            "dialect": caller.dialect,
            "senior": caller.senior,
            "queue": queue,
        }
        pipe = self.redis.pipeline(transaction=False)
        pipe.zadd(self.keys.after_hours_callbacks(), {call_sid: at_ms}, nx=True)
        pipe.set(
            self.keys.after_hours_callback(call_sid), json.dumps(record), ex=self.keep_s, nx=True
        )
        added, _ = pipe.execute()
        return bool(added)

    def is_booked(self, call_sid: str) -> bool:
        """Whether a call-back for `call_sid` waits in the book."""
        return self.redis.zscore(self.keys.after_hours_callbacks(), call_sid) is not None

    def pending(self, limit: int = 1000) -> list[CallbackRequest]:
        """The oldest requests first."""
        sids = self.redis.zrange(self.keys.after_hours_callbacks(), 0, limit - 1, withscores=True)
        if not sids:
            return []
        records = self.redis.mget([self.keys.after_hours_callback(sid) for sid, _ in sids])
        return [
            _request(sid, int(ms), raw) for (sid, ms), raw in zip(sids, records, strict=True) if raw
        ]

    def count(self) -> int:
        """How many requests wait to be queued."""
        return int(self.redis.zcard(self.keys.after_hours_callbacks()))

    def take(self, call_sid: str) -> bool:
        """Remove a request once it is queued; False if another process took it first."""
        removed = self.redis.zrem(self.keys.after_hours_callbacks(), call_sid)
        return bool(removed)


def _request(call_sid: str, requested_ms: int, raw: str) -> CallbackRequest:
    data = json.loads(raw)
    return CallbackRequest(
        call_sid=call_sid,
        number=data["number"],
        name=data.get("name", ""),
        age=data.get("age"),
        dialect=data.get("dialect", "mandarin"),
        senior=bool(data.get("senior")),
        requested_ms=requested_ms,
        queue=str(data.get("queue", "")),
    )
