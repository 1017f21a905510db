"""Wrap-up codes: the reason an agent gives for each call, counted per interval and per agent.

The codes are configuration (`[wrap_up] codes`). A reason is recorded once per call and agent
by wrapup.lua, atomically with its counts: in the queue's interval (by caller class, for the
interval CSV), in the day's per-agent counts, and in the statistics event stream beside the
call's own events. Every key carries the routing hash tag (routing/keys.py).
"""

from __future__ import annotations

from datetime import date, datetime

from redis.exceptions import RedisError

from routing.clock import Clock, epoch_ms
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.queues.events import Intervals, route_config
from routing.scripts import lua_source
from routing.settings import EngineSettings
from routing.store import RedisClient

NOTE_MAX_CHARS = 500  # a line or two; the stream is an audit trail, not a case file


class WrapUps:
    """Record and read wrap-up codes."""

    def __init__(
        self, redis: RedisClient, clock: Clock, keys: Keys, settings: EngineSettings
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.keys = keys
        self.settings = settings
        self.codes = tuple(c.code for c in settings.wrap_up.codes)
        self._intervals = Intervals(settings)
        source = lua_source("wrapup")
        self._script = redis.register_script(source)

    def record(
        self, call_sid: str, agent_id: str, code: str, note: str, *, queue: str, senior: bool
    ) -> bool:
        """Record `code` for the call; False when this agent already gave one for it."""
        if code not in self.codes:
            raise ValueError(f"unknown wrap-up code {code!r}; configured: {', '.join(self.codes)}")
        note = " ".join(note.split())
        if len(note) > NOTE_MAX_CHARS:
            raise ValueError(f"a wrap-up note takes at most {NOTE_MAX_CHARS} characters")
        now = epoch_ms(self.clock.now())
        interval, expire = self._intervals.at(now)
        keys = [
            self.keys.stats_call(call_sid),
            self.keys.stats_wrap_up(queue, interval),
            self.keys.stats_wrap_up_day(interval[:8]),
            self.keys.stats_events(),
            self.keys.stats_agents(interval),
        ]
        stats = route_config(self.settings)
        klass = "s" if senior else "o"
        args = [now, call_sid, queue, klass, agent_id, code, note, expire]
        try:
            done = self._script(keys=keys, args=[*args, stats["ttl"], stats["maxlen"]])
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not record the wrap-up: {exc}") from exc
        return bool(done == 1)

    def in_interval(self, queue: str, interval: str) -> dict[str, int]:
        """The codes given after a queue's calls in one interval: "<class>:<code>" -> count."""
        return self._counts(self.keys.stats_wrap_up(queue, interval))

    def by_class(self, queues: list[str], intervals: list[str]) -> list[dict[str, dict[str, int]]]:
        """Per interval (in order), the codes given over `queues`: class -> code -> count.

        Classes as the statistics name them: "senior", "other", and "all" (their sum).
        """
        pipe = self.redis.pipeline(transaction=False)  # hash tags differ by nothing: one slot
        for interval in intervals:
            for queue in queues:
                pipe.hgetall(self.keys.stats_wrap_up(queue, interval))
        try:
            raw = pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer a wrap-up lookup: {exc}") from exc
        n = len(queues)
        return [_classes(raw[i * n : (i + 1) * n]) for i in range(len(intervals))]

    def by_agent(self, day: date) -> dict[str, dict[str, int]]:
        """The codes each agent gave on a local day: agent -> code -> count."""
        out: dict[str, dict[str, int]] = {}
        for field, count in self._counts(self.keys.stats_wrap_up_day(f"{day:%Y%m%d}")).items():
            agent, _, code = field.rpartition(":")
            out.setdefault(agent, {})[code] = count
        return out

    def today(self) -> date:
        """The hotline's local day now."""
        now: datetime = self.clock.now()
        return now.astimezone(self.settings.tz).date()

    def _counts(self, key: str) -> dict[str, int]:
        try:
            raw = self.redis.hgetall(key)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer a wrap-up lookup: {exc}") from exc
        return {str(k): int(v) for k, v in raw.items()}


def _classes(hashes: list[dict[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {"senior": {}, "other": {}, "all": {}}
    for counts in hashes:
        for field, value in counts.items():
            klass, _, code = field.partition(":")
            for name in ("senior" if klass == "s" else "other", "all"):
                out[name][code] = out[name].get(code, 0) + int(value)
    return out


def csv_cell(counts: dict[str, int]) -> str:
    """Codes and counts for a CSV cell: "call_back=1;claim=2" (codes sorted), "" for none."""
    return ";".join(f"{code}={n}" for code, n in sorted(counts.items()) if n)
