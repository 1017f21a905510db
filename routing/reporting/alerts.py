"""Alerts for supervisors: rules over the live queues, the last minutes' service level and the
agents' states (config `[alerts]`, docs/supervisors.md "Alerts").

`evaluate` finds the alerts holding now and replaces the active set in one script call
(routing/lua/alerts.lua), which also queues a notice for each alert that fired or resolved
when a webhook is configured: several workers evaluating at once post each change once. The
notices are posted by ivr/runtime/alert_webhook.py, in a thread of its own, never in a call's
webhook; a failed post is retried with doubling waits.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError

from routing.clock import epoch_ms
from routing.exceptions import StoreUnavailable
from routing.queues.events import local_day
from routing.queues.router import QueueSnapshot, Router
from routing.reporting.queue_stats import Stats
from routing.scripts import lua_source

log = logging.getLogger("silverline.alerts")
FIRST_RETRY_MS = 5_000


@dataclass(frozen=True)
class Alert:
    rule: str  # senior_waiting, service_level_low, agent_stranded
    subject: str  # the queue or the agent
    since: datetime  # when the condition began
    value: float  # seconds waited, the service level, seconds in the state
    zh: str
    en: str

    @property
    def id(self) -> str:
        return f"{self.rule}:{self.subject}"

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "subject": self.subject,
            "since": self.since.isoformat(),
            "value": round(self.value, 4),
            "zh": self.zh,
            "en": self.en,
        }


class Alerts:
    """The alert rules over the router's live state and the statistics reader's figures, on
    the same store, clock, settings and keys as the statistics."""

    def __init__(self, router: Router, stats: Stats) -> None:
        self.router, self.stats = router, stats
        self.redis, self.clock, self.settings, self.keys = (
            stats.redis, stats.clock, stats.settings, stats.keys
        )  # fmt: skip
        self._apply = self.redis.register_script(lua_source("alerts"))
        self._next_ms = 0

    def evaluate(self, force: bool = False) -> tuple[list[str], list[str]]:
        """Find the alerts holding now (at most every `alerts.check_seconds` unless `force`);
        return the ids that fired and those that resolved."""
        now = self.clock.now()
        now_ms = epoch_ms(now)
        if not force and now_ms < self._next_ms:
            return [], []
        self._next_ms = now_ms + self.settings.alerts.check_seconds * 1000
        found = {a.id: a.json() for a in self.find(now)}
        notify = "1" if self.settings.alerts.webhook_url else "0"
        keys = [self.keys.alerts_active(), self.keys.alerts_outbox()]
        try:
            out = self._apply(keys=keys, args=[now_ms, json.dumps(found), notify])
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not take the alerts: {exc}") from exc
        split = out.index("|")
        return list(out[:split]), list(out[split + 1 :])

    def find(self, now: datetime) -> list[Alert]:
        snap = self.router.snapshot()
        return [*self._seniors(snap), *self._service_levels(now), *self._stranded(snap)]

    def active(self) -> list[dict[str, Any]]:
        """The alerts holding now, oldest first."""
        try:
            held = self.redis.hvals(self.keys.alerts_active())
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer the alerts: {exc}") from exc
        return sorted((json.loads(raw) for raw in held), key=lambda a: (a["since"], a["id"]))

    def due_notices(self, limit: int = 20) -> list[dict[str, Any]]:
        """Notices due for posting, each claimed by this caller alone (ZREM decides)."""
        outbox = self.keys.alerts_outbox()
        now_ms = epoch_ms(self.clock.now())
        raw = self.redis.zrangebyscore(outbox, "-inf", now_ms, start=0, num=limit)
        return [json.loads(r) for r in raw if self.redis.zrem(outbox, r)]

    def retry(self, notice: dict[str, Any]) -> bool:
        """Queue `notice` again after a failed post; False when out of attempts (dropped)."""
        attempt = int(notice.get("attempt", 0)) + 1
        if attempt >= self.settings.alerts.webhook_attempts:
            log.error("alert webhook: giving up on %s after %d attempts", notice["alert"]["id"],
                      attempt)  # fmt: skip
            return False
        due = epoch_ms(self.clock.now()) + FIRST_RETRY_MS * 2 ** (attempt - 1)
        again = {**notice, "attempt": attempt}
        self.redis.zadd(self.keys.alerts_outbox(), {json.dumps(again, sort_keys=True): due})
        return True

    def _seniors(self, snap: QueueSnapshot) -> list[Alert]:
        limit = self.settings.alerts.senior_wait_seconds
        out = []
        for name, fig in snap.queues.items():
            if not limit or fig.seniors_oldest is None:
                continue
            waited = (snap.at - fig.seniors_oldest).total_seconds()
            if waited > limit:
                zh = f"{name} 队列有老年客户已等待 {waited:.0f} 秒"
                en = f"A senior has waited {waited:.0f} s in {name}"
                out.append(Alert("senior_waiting", name, fig.seniors_oldest, waited, zh, en))
        return out

    def _service_levels(self, now: datetime) -> list[Alert]:
        """Each queue's service level over the intervals overlapping the last window."""
        a = self.settings.alerts
        start = now - timedelta(minutes=a.service_level_minutes)
        size = timedelta(minutes=self.settings.stats.interval_minutes)
        first, today = local_day(start, self.settings), local_day(now, self.settings)
        out = []
        for name, conf in self.settings.queues.items():
            recent = [
                iv.figures["all"]
                for iv in self.stats.intervals(first, today, name)
                if start < iv.start + size and iv.start <= now
            ]
            answered_sl = sum(f.answered_sl for f in recent)
            counted = sum(f.answered + f.abandoned for f in recent)
            if counted < a.service_level_min_calls:
                continue
            level = answered_sl / counted
            if level < conf.sl_percent / 100:
                zh = (
                    f"{name} 队列近 {a.service_level_minutes} 分钟服务水平 {level:.0%}，"
                    f"低于 {conf.sl_percent}%"
                )
                en = (
                    f"{name}: service level {level:.0%} over the last {a.service_level_minutes} "
                    f"minutes, under {conf.sl_percent}%"
                )
                out.append(Alert("service_level_low", name, start, level, zh, en))
        return out

    def _stranded(self, snap: QueueSnapshot) -> list[Alert]:
        a = self.settings.alerts
        limits = {"offered": a.offered_stuck_seconds, "on_call": a.on_call_max_seconds}
        out = []
        for agent, status in snap.agents.items():
            limit = limits.get(status.state)
            held = (snap.at - status.since).total_seconds()
            if limit is None or held <= limit:
                continue
            words = {"offered": ("振铃", "ringing"), "on_call": ("通话", "on one call")}
            zh_state, en_state = words[status.state]
            zh = f"坐席 {agent} 已{zh_state} {held / 60:.0f} 分钟，可能滞留"
            en = f"Agent {agent} has been {en_state} for {held / 60:.0f} min: stranded?"
            out.append(Alert("agent_stranded", agent, status.since, held, zh, en))
        return out
