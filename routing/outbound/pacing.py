"""The account's calls per second, shared by every worker and instance through Redis.

Twilio queues the calls an account creates through REST at its CPS (1 by default; inbound
calls and <Dial> are not limited: https://www.twilio.com/docs/voice/api/call-resource,
"Calls Per Second"). A queued agent leg is a caller kept waiting, so Silverline paces its own
creates under the limit: a create is taken only when it would not wait, agent legs before
call-backs before return visits, seniors' legs before others' (routing/lua/pace.lua), and
the call flow connects a caller another way when their agent's leg is refused (<Dial>).
"""

from __future__ import annotations

from redis.exceptions import RedisError

from routing.clock import Clock, epoch_ms
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.scripts import lua_source
from routing.store import RedisClient

# How many gaps the account must have been idle before a kind may take a second: a senior's
# agent leg first (the green channel), another caller's next, then call-backs, then visits
KINDS = {"senior": 0, "agent": 1, "callback": 2, "visit": 3}


class Pacing:
    """Take the account's seconds for the calls Silverline creates."""

    def __init__(self, redis: RedisClient, clock: Clock, keys: Keys) -> None:
        self.redis, self.clock, self.keys = redis, clock, keys
        self._take = redis.register_script(lua_source("pace"))

    def take(self, kind: str, calls_per_second: float) -> bool:
        """Take a slot for a call of `kind` created now; False: it would wait (or `kind`
        must leave the second to a more urgent one). A limit of 0 takes every call."""
        if kind not in KINDS:
            raise ValueError(f"a created call is one of {sorted(KINDS)}, not {kind!r}")
        if calls_per_second <= 0:
            return self._run(1.0, 0, "") if self._held() else True
        return self._run(calls_per_second, KINDS[kind], "")

    def hold_off(self, seconds: float, calls_per_second: float) -> None:
        """Refuse every create for `seconds`: REST failed to place one, and a caller
        connected by <Dial> meanwhile needs none."""
        self._run(calls_per_second or 1.0, 0, str(round(seconds * 1000)))

    def _held(self) -> bool:
        """An unlimited account's creates are held off (hold_off) right now."""
        try:
            raw = self.redis.get(self.keys.calls_per_second())
        except RedisError as exc:
            raise StoreUnavailable("cannot pace created calls") from exc
        return raw is not None and int(raw) > epoch_ms(self.clock.now())

    def _run(self, calls_per_second: float, gaps: int, hold_ms: str) -> bool:
        gap = max(1, round(1000 / calls_per_second))
        args: list[str | int] = [epoch_ms(self.clock.now()), gap, gaps * gap]
        if hold_ms:
            args.append(hold_ms)
        try:
            return bool(self._take(keys=[self.keys.calls_per_second()], args=args))
        except RedisError as exc:
            raise StoreUnavailable("cannot pace created calls") from exc
