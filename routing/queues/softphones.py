"""Agents' softphones as their consoles report them: registered with Twilio, or not.

The console's Voice SDK Device says when it is registered for incoming calls and when it is
not (its `registered` and `unregistered` events:
https://www.twilio.com/docs/voice/sdks/javascript/twiliodevice#events); the console reports
each, and beats "registered" while it stays so. An available agent whose phone is reported
unregistered, or whose beats stop (a closed tab, a failed token refresh, a lost network), is
put away with the reason kept, so that no offer rings nowhere; they are made available again
when their phone registers. An agent whose console never reported (a phone number, a command
line or a simulator at work) is left as they are.
"""

from __future__ import annotations

import json
from typing import Any

from redis.exceptions import RedisError

from routing.clock import Clock, epoch_ms
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.queues.router import Offer, Router
from routing.store import RedisClient

ALIVE_MS = 30_000  # registered this long after a beat: three beats may be lost
NOT_REGISTERED = "phone not registered"


class Softphones:
    """Registration of each agent's softphone, and who is kept away for the lack of it."""

    def __init__(self, redis: RedisClient, clock: Clock, keys: Keys, router: Router) -> None:
        self.redis, self.clock, self.keys, self.router = redis, clock, keys, router

    def watched(self) -> int:
        """How many agents' phones the sweep looks at (0: a beat's sweep does nothing)."""
        try:
            return int(self.redis.hlen(self.keys.softphones()))
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer: {exc}") from exc

    def report(self, agent_id: str, registered: bool) -> list[Offer]:
        """The console says the agent's phone is registered (a beat) or not; offers to act on
        (an agent made available again may be given a caller at once)."""
        try:
            record = self._record(agent_id)
            if registered:
                return self._release(agent_id, record)
            self._hold(agent_id, record)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not take the phone's report: {exc}") from exc
        return []

    def sweep(self) -> None:
        """Put away available agents whose phone is not registered: reported so, or its beats
        stopped for ALIVE_MS (the ticker, every beat; the engine's clock, not Redis expiry)."""
        now = epoch_ms(self.clock.now())
        try:
            records = self.redis.hgetall(self.keys.softphones())
            for agent_id, raw in records.items():
                record = json.loads(raw)
                if not record.get("reg") or now - int(record.get("at", 0)) > ALIVE_MS:
                    self._hold(agent_id, record)
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer the phones' sweep: {exc}") from exc

    def why_away(self) -> dict[str, str]:
        """Agents kept away by their phone, and why (the supervisor's dashboard)."""
        try:
            records = self.redis.hgetall(self.keys.softphones())
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer: {exc}") from exc
        return {aid: NOT_REGISTERED for aid, raw in records.items() if json.loads(raw).get("held")}

    def _record(self, agent_id: str) -> dict[str, Any]:
        raw = self.redis.hget(self.keys.softphones(), agent_id)
        return json.loads(raw) if raw else {}

    def _save(self, agent_id: str, record: dict[str, Any]) -> None:
        record["at"] = epoch_ms(self.clock.now())
        self.redis.hset(self.keys.softphones(), agent_id, json.dumps(record))

    def _hold(self, agent_id: str, record: dict[str, Any]) -> None:
        """Not registered: away if they were available (the reason kept), else noted."""
        held = bool(record.get("held"))
        if self.router.agents.state(agent_id).state == "available":
            self.router.set_agent_state(agent_id, "away")
            held = True
        if record.get("reg") or held != bool(record.get("held")):
            self._save(agent_id, {"reg": False, "held": held})

    def _release(self, agent_id: str, record: dict[str, Any]) -> list[Offer]:
        """Registered (a beat): available again if their phone alone kept them away."""
        offers: list[Offer] = []
        if record.get("held") and self.router.agents.state(agent_id).state == "away":
            offers = self.router.set_agent_state(agent_id, "available")
        self._save(agent_id, {"reg": True, "held": False})
        return offers
