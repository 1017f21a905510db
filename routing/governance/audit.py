"""The audit trail: who did what to whom, when and from where, kept `privacy.audit_days`.

Entries go to one list per UTC day (`Keys.audit_day`), which Redis expires `audit_days` after
the day ends: the retention is enforced by the store itself, with no sweeper to forget. The
web app records sign-ins, exports and supervisors' actions with the request's remote address;
the command line records with the operating-system login name and "local". An entry never
holds a customer's number, name, birth date or resident ID (a deletion must leave none
behind): customers are named by a masked number, as the agent console shows them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import redis

from routing.clock import Clock, epoch_ms
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.store import RedisClient

ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "user_added",
    "user_removed",
    "agent_saved",
    "agent_removed",
    "agent_state_set",
    "agent_state_forced",
    "callback_scheduled",
    "export",
    "customers_imported",
    "customer_exported",
    "customer_deleted",
    "campaign_added",
    "campaign_state_set",
    "do_not_call_added",
)
VIAS = ("web", "cli")
MAX_FIELD = 200  # a typed user name or a target is cut here: the trail is not a dump


@dataclass(frozen=True)
class AuditEntry:
    """One thing someone did."""

    at: datetime
    action: str
    by: str  # the signed-in user, the name tried at a failed sign-in, or the OS login name
    via: str  # "web" or "cli"
    address: str  # the request's remote address; "local" on the command line
    target: str = ""  # what it was done to: an agent id, a user name, a masked number
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["at"] = self.at.isoformat()
        found["detail"] = dict(self.detail)
        return found


class AuditTrail:
    """Append to and read the audit trail."""

    def __init__(self, redis_client: RedisClient, clock: Clock, keys: Keys, days: int) -> None:
        self.redis = redis_client
        self.clock = clock
        self.keys = keys
        self.days = days

    def record(
        self,
        action: str,
        by: str,
        via: str,
        address: str,
        target: str = "",
        **detail: Any,
    ) -> AuditEntry:
        """Append an entry stamped with the clock's time; ValueError for an unknown action."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")
        if via not in VIAS:
            raise ValueError(f"an audit entry comes via web or cli, not {via!r}")
        entry = AuditEntry(
            self.clock.now(), action, by[:MAX_FIELD], via, address[:MAX_FIELD],
            target[:MAX_FIELD], detail,
        )  # fmt: skip
        self._append(entry)
        return entry

    def _append(self, entry: AuditEntry) -> None:
        day = entry.at.astimezone(UTC).date()
        key = self.keys.audit_day(day.strftime("%Y%m%d"))
        ends = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        raw = json.dumps({**entry.as_dict(), "at": epoch_ms(entry.at)}, ensure_ascii=False)
        try:
            pipe = self.redis.pipeline(transaction=False)  # one key: one slot
            pipe.rpush(key, raw)
            pipe.expireat(key, ends + timedelta(days=self.days))
            pipe.execute()
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis did not take an audit entry: {exc}") from exc

    def entries(self, since: datetime | None = None, limit: int = 500) -> list[AuditEntry]:
        """Entries at or after `since` (default: all kept), newest first, `limit` at most."""
        now = self.clock.now()
        oldest = now - timedelta(days=self.days)  # what Redis may not have expired yet
        start = max(since, oldest) if since else oldest
        found: list[AuditEntry] = []
        day = now.astimezone(UTC).date()
        while day >= start.astimezone(UTC).date() and len(found) < limit:
            found.extend(e for e in self._day(day, limit - len(found)) if e.at >= start)
            day -= timedelta(days=1)
        return found[:limit]

    def _day(self, day: date, newest: int) -> list[AuditEntry]:
        """The day's `newest` entries, newest first: a view reads what it shows, not the day."""
        key = self.keys.audit_day(day.strftime("%Y%m%d"))
        try:
            raw = self.redis.lrange(key, -newest, -1)
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer an audit lookup: {exc}") from exc
        return [_entry(json.loads(r)) for r in reversed(raw)]


def _entry(data: dict[str, Any]) -> AuditEntry:
    return AuditEntry(
        at=datetime.fromtimestamp(int(data["at"]) / 1000, tz=UTC),
        action=str(data["action"]),
        by=str(data["by"]),
        via=str(data["via"]),
        address=str(data["address"]),
        target=str(data.get("target", "")),
        detail=dict(data.get("detail", {})),
    )


def parse_since(text: str, tz: tzinfo) -> datetime:
    """`YYYY-MM-DD` (that local day's start in the hotline's zone) or an ISO 8601 time with
    an offset; ValueError names the expected forms."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=tz)
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(_SINCE_FORMS) from exc
    if when.tzinfo is None:
        raise ValueError(_SINCE_FORMS)
    return when


_SINCE_FORMS = (
    "since must be a date (YYYY-MM-DD) or a time with its offset (2026-11-23T10:00+08:00)"
)
