"""Today's callers who hung up while waiting, and a call-back to one booked by a supervisor.

The list is read on demand, never by the dashboard's live board: the `abandoned` events of
today's local day from the statistics stream (newest first, stopping at the day's start), and
each call's record for who it was (kept `privacy.call_record_hours`). Seniors come first,
then the longest wait.

A call-back booked here joins the out-of-hours call-back book (routing/queues/callbacks.py) scored
by the caller's original entry time, so among booked call-backs the one who first called is
placed first; the ticker queues it as a call-back at its next beat while the hotline is open
(ivr/runtime/ticker.py), and its entry is a record of its own ("<call sid>:cb"): the abandoned
call's record and statistics are left as they were.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from routing.callers.caller import Caller
from routing.clock import Clock, epoch_ms
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.queues.callbacks import CallbackRequests
from routing.queues.router import CallInfo, Router
from routing.settings import EngineSettings
from routing.store import RedisClient

MAX_LISTED = 200
CHUNK = 1000
CALLBACK_SUFFIX = ":cb"


@dataclass(frozen=True)
class AbandonedCaller:
    """One caller who hung up while waiting today."""

    call_sid: str
    info: CallInfo
    waited_s: int
    abandoned_at: datetime
    callback: str  # "none", "booked" (waiting for the ticker), "queued" (an entry exists)

    def as_dict(self, masked_number: str) -> dict[str, Any]:
        i = self.info
        return {
            "call_sid": self.call_sid, "senior": i.senior, "name": i.caller_name,
            "number": masked_number, "age": i.caller_age, "dialect": i.caller_dialect,
            "queue": i.queue, "entered_at": i.entered_at.isoformat(), "waited_s": self.waited_s,
            "abandoned_at": self.abandoned_at.isoformat(), "callback": self.callback,
            "can_call_back": self.callback == "none" and bool(i.caller_number),
        }  # fmt: skip


class Abandoned:
    """Read today's abandoned callers; book a call-back to one."""

    def __init__(
        self,
        redis_client: RedisClient,
        clock: Clock,
        settings: EngineSettings,
        keys: Keys,
        router: Router,
        callbacks: CallbackRequests,
    ) -> None:
        self.redis, self.clock, self.settings, self.keys = redis_client, clock, settings, keys
        self.router, self.callbacks = router, callbacks

    def today(self) -> list[AbandonedCaller]:
        """Today's abandoned callers still on record: seniors first, then the longest wait."""
        found = []
        for sid, fields in self._events_today():
            info = self.router.call(sid)
            if info is None or info.state != "gone":  # forgotten, or not an abandon after all
                continue
            at = datetime.fromtimestamp(int(fields["at_ms"]) / 1000, tz=UTC)
            wait = int(fields.get("wait_ms", 0)) // 1000
            found.append(AbandonedCaller(sid, info, wait, at, self._callback_state(sid)))
        found.sort(key=lambda a: (not a.info.senior, -a.waited_s, a.abandoned_at))
        return found[:MAX_LISTED]

    def book_callback(self, call_sid: str) -> AbandonedCaller:
        """Book a call-back to the caller of abandoned call `call_sid`.

        KeyError when there is no such abandoned call; ValueError when it has no number or a
        call-back is already booked or queued.
        """
        info = self.router.call(call_sid)
        if info is None or info.state != "gone":
            raise KeyError(call_sid)
        if not info.caller_number:
            raise ValueError("the caller's number was withheld: there is no number to call")
        if self._callback_state(call_sid) != "none":
            raise ValueError("a call-back to this caller is already booked")
        caller = Caller(
            info.caller_number, info.caller_number, None, info.caller_age,
            info.caller_dialect, info.senior,
        )  # fmt: skip
        entry = call_sid + CALLBACK_SUFFIX
        if not self.callbacks.book(entry, caller, info.caller_name, epoch_ms(info.entered_at)):
            raise ValueError("a call-back to this caller is already booked")
        return AbandonedCaller(call_sid, info, 0, self.clock.now(), "booked")

    def _callback_state(self, call_sid: str) -> str:
        entry = call_sid + CALLBACK_SUFFIX
        if self.router.call(entry) is not None:
            return "queued"
        return "booked" if self.callbacks.is_booked(entry) else "none"

    def _events_today(self) -> list[tuple[str, dict[str, str]]]:
        """(sid, fields) of today's `abandoned` events, newest first."""
        now = self.clock.now()
        local = now.astimezone(self.settings.tz)
        day_start = epoch_ms(local.replace(hour=0, minute=0, second=0, microsecond=0))
        found: list[tuple[str, dict[str, str]]] = []
        top = "+"
        while True:
            chunk = self._read(top)
            for _, fields in chunk:
                if int(fields.get("at_ms", 0)) < day_start:
                    return found
                if fields.get("kind") == "abandoned":
                    found.append((fields["call"], fields))
            if len(chunk) < CHUNK:
                return found
            top = "(" + chunk[-1][0]

    def _read(self, top: str) -> list[tuple[str, dict[str, str]]]:
        try:
            got: list[tuple[str, dict[str, str]]] = self.redis.xrevrange(
                self.keys.stats_events(), top, "-", CHUNK
            )
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer the abandoned list: {exc}") from exc
        return got
