"""Complaints: the hours the complaint queue keeps, and complaints recorded out of them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from routing.clock import Clock, epoch_ms
from routing.keys import Keys
from routing.queues.hours import is_open, special_span
from routing.settings import EngineSettings
from routing.store import RedisClient

KEEP = 10_000  # recorded complaints kept in the box; the recordings themselves stay at Twilio
SEEN_FOR_S = 8 * 86400  # longer than any replay: Twilio's retries, a spool kept through an outage


def complaints_open(when: datetime, settings: EngineSettings) -> bool:
    """Whether the complaint queue takes callers at `when`: the hotline is open and the time
    is within `ivr.complaint_hours` (the hours read out to callers)."""
    if not is_open(when, settings.business_hours, settings.tz):
        return False
    return within(when, settings.ivr.complaint_hours, settings.tz)


def within(when: datetime, span: str, tz: ZoneInfo) -> bool:
    """Whether local `when` falls in "HH:MM-HH:MM" (opening included, closing not)."""
    opens, closes = special_span(span)
    return opens <= when.astimezone(tz).time() < closes


@dataclass(frozen=True)
class RecordedComplaint:
    call_sid: str
    number: str
    name: str
    recording_url: str
    seconds: int
    at_ms: int


class ComplaintBox:
    """Complaints left as recordings out of complaint hours: newest first, capped at KEEP."""

    def __init__(self, redis: RedisClient, clock: Clock, keys: Keys) -> None:
        self.redis = redis
        self.clock = clock
        self.keys = keys

    def add(
        self, call_sid: str, number: str, name: str, url: str, seconds: int, recording_sid: str = ""
    ) -> bool:
        """Keep a recorded complaint once per recording (else per call); False for a replay.

        Twilio retries a webhook it got no answer to, and a signed request can be sent again:
        either would file the same complaint twice without the mark.
        """
        seen = self.keys.recorded_complaint_seen(recording_sid or call_sid)
        if not self.redis.set(seen, "1", nx=True, ex=SEEN_FOR_S):
            return False
        record = {"sid": call_sid, "number": number, "name": name, "url": url, "s": seconds}
        record["at"] = epoch_ms(self.clock.now())
        try:
            pipe = self.redis.pipeline(transaction=False)
            pipe.lpush(self.keys.recorded_complaints(), json.dumps(record, ensure_ascii=False))
            pipe.ltrim(self.keys.recorded_complaints(), 0, KEEP - 1)
            pipe.execute()
        except Exception:
            self.redis.delete(seen)  # not kept: its replay (the spool's, Twilio's) must add it
            raise
        return True

    def latest(self, limit: int = 100) -> list[RecordedComplaint]:
        raw = self.redis.lrange(self.keys.recorded_complaints(), 0, limit - 1)
        return [_complaint(json.loads(item)) for item in raw]

    def count(self) -> int:
        return int(self.redis.llen(self.keys.recorded_complaints()))


def _complaint(data: dict[str, object]) -> RecordedComplaint:
    return RecordedComplaint(
        str(data["sid"]),
        str(data["number"]),
        str(data["name"]),
        str(data["url"]),
        int(str(data["s"])),
        int(str(data["at"])),
    )
