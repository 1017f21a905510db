"""Personal data: a customer's copy, their deletion, the retention, and what is held where.

What Silverline keeps about a customer (docs/data-protection.md): the directory record (name,
birth date, preferred dialect, phone numbers; a resident ID only ever yields the birth date at
import and is not kept), the records of their calls (number, name, age), out-of-hours
call-back requests (number, name, age), and the statistics events of their calls (call sids,
and any wrap-up note an agent wrote). `export` gathers all of it; `delete` removes all of it,
unless a call of theirs is live (a caller on the line keeps their place); the counted
aggregates stay, as they name nobody. `enforce` trims what has outlived its retention where
Redis cannot expire it by itself (stream entries, sorted-set members); the rest expires.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import redis

from routing.callers import numbers
from routing.callers.caller import Customer
from routing.callers.directory import Directory, age_on
from routing.clock import Clock, epoch_ms
from routing.exceptions import CustomerBusy, StoreUnavailable
from routing.keys import Keys
from routing.outbound.campaigns import Campaigns
from routing.scripts import lua_source
from routing.settings import EngineSettings
from routing.store import RedisClient

SCAN_COUNT = 1000
ENFORCE_EVERY_MS = 60_000


@dataclass(frozen=True)
class Family:
    """One kind of key that holds personal data, for the privacy report."""

    key: str  # its name pattern, from routing/keys.py
    holds: str  # what personal data it holds
    kept: str  # for how long
    count: int  # how many entries (or keys) it holds now


def mask(number: str) -> str:
    """A number with all but its country code and last four digits hidden (as the console)."""
    head = 3 if number.startswith("+") else 0
    return number[:head] + "•" * max(0, len(number) - head - 4) + number[-4:]


class PersonalData:
    """Export, delete and age out customers' personal data."""

    def __init__(self, directory: Directory, campaigns: Campaigns | None = None) -> None:
        """On the directory's store, clock, settings and keys: the customers it keeps."""
        self.directory, self.campaigns = directory, campaigns
        self.redis: RedisClient = directory.redis
        self.clock: Clock = directory.clock
        self.settings: EngineSettings = directory.settings
        self.keys: Keys = directory.keys
        self._forget = self.redis.register_script(lua_source("forget"))
        self._next_enforce_ms = 0

    def normalise(self, raw: str) -> str:
        """`raw` as E.164; ValueError when it is not a phone number."""
        found = numbers.normalise(raw, self.settings.hotline.default_region)
        if found is None:
            raise ValueError(f"{raw!r} is not a valid phone number")
        return found

    def export(self, raw_number: str) -> dict[str, Any]:
        """Everything held about the customer behind `raw_number`, as JSON-ready data."""
        number = self.normalise(raw_number)
        customer = self.directory.lookup(number)
        phones = set(customer.phones) if customer else {number}
        calls = self._calls_of(phones)
        return {
            "number": number,
            "at": self.clock.now().isoformat(),
            "customer": None if customer is None else self._customer_json(customer),
            "calls": [{"call_sid": sid, "record": rec} for sid, rec in calls.items()],
            "callback_requests": [r for _, r in self._callbacks_of(phones)],
            "events": [f for _, f in self._events_of(set(calls), self._needles(phones))],
            "campaigns": self.campaigns.entries_of(phones) if self.campaigns else [],
        }

    def _customer_json(self, customer: Customer) -> dict[str, Any]:
        today = self.directory.local_date(self.clock.now())
        return {
            "id": customer.id,
            "name": customer.name,
            "birth_date": customer.birth_date.isoformat(),
            "age_today": age_on(customer.birth_date, today),
            "dialect": customer.dialect,
            "phones": list(customer.phones),
            "resident_id": None,  # never kept: it only gave the birth date at import
        }

    def delete(self, raw_number: str) -> dict[str, int]:
        """Remove the customer behind `raw_number` and every trace of their numbers.

        CustomerBusy (nothing removed) while a call of theirs is live. Returns what went,
        by kind: directory numbers, calls, call-back requests, events.
        """
        number = self.normalise(raw_number)
        customer = self.directory.lookup(number)
        phones = set(customer.phones) if customer else {number}
        calls = self._calls_of(phones)
        needles = self._needles(phones, customer.name if customer else "",
                                customer.birth_date.isoformat() if customer else "")  # fmt: skip
        live = self._forget_calls(list(calls))
        if live:
            raise CustomerBusy(f"a call of theirs is live ({', '.join(live)}); try after it ends")
        events = [eid for eid, _ in self._events_of(set(calls), needles)]
        requests = [sid for sid, _ in self._callbacks_of(phones)]
        gone = sum(1 for phone in sorted(phones) if self.directory.delete(phone))
        in_campaigns = self.campaigns.forget(phones) if self.campaigns else 0
        pipe = self.redis.pipeline(transaction=False)
        for sid in requests:
            pipe.zrem(self.keys.after_hours_callbacks(), sid)
            pipe.delete(self.keys.after_hours_callback(sid))
        for sid in calls:
            pipe.delete(self.keys.stats_call(sid))
        if events:
            pipe.xdel(self.keys.stats_events(), *events)
        if len(pipe):
            self._call(pipe.execute)
        return {
            "numbers": gone,
            "calls": len(calls),
            "callback_requests": len(requests),
            "events": len(events),
            "campaign_entries": in_campaigns,
        }

    def enforce_due(self) -> dict[str, int] | None:
        """`enforce`, at most once a minute of the engine's clock (the ticker beats each
        second: two round trips a beat would add a day's worth to a simulated day)."""
        now_ms = epoch_ms(self.clock.now())
        if now_ms < self._next_enforce_ms:
            return None
        self._next_enforce_ms = now_ms + ENFORCE_EVERY_MS
        return self.enforce()

    def next_enforce_ms(self) -> int:
        """When `enforce_due` next trims (ms since the epoch, engine clock)."""
        return self._next_enforce_ms

    def enforce(self) -> dict[str, int]:
        """Trim what outlived its retention and that Redis does not expire by itself."""
        now = self.clock.now()
        p = self.settings.privacy
        # Stream ids are Redis's own time in ms, which is the wall clock the app runs on.
        oldest_event = epoch_ms(now - timedelta(days=p.event_days))
        oldest_request = epoch_ms(now - timedelta(days=p.callback_days))
        book = self.keys.after_hours_callbacks()
        stale = self._call(self.redis.zrangebyscore, book, "-inf", oldest_request)
        pipe = self.redis.pipeline(transaction=False)
        pipe.xtrim(self.keys.stats_events(), minid=str(oldest_event))
        for sid in stale:
            pipe.zrem(book, sid)
            pipe.delete(self.keys.after_hours_callback(sid))
        trimmed = self._call(pipe.execute)
        return {"events": int(trimmed[0]), "callback_requests": len(stale)}

    def _forget_calls(self, sids: list[str]) -> list[str]:
        if not sids:
            return []
        k = self.keys
        keys = [
            k.routing_calls(), k.routing_call_expiry(), k.routing_heard(),
            k.routing_callback_retry(), k.routing_callback_failed(), k.routing_pulls(),
        ]  # fmt: skip
        return list(self._call(self._forget, keys, sids))

    def _calls_of(self, phones: set[str]) -> dict[str, dict[str, Any]]:
        """The call records whose caller number is one of `phones`, by sid."""
        found: dict[str, dict[str, Any]] = {}
        scan = self.redis.hscan_iter(self.keys.routing_calls(), count=SCAN_COUNT)
        for sid, raw in self._guarded(scan):
            record = json.loads(raw)
            if record.get("num") in phones:
                found[sid] = record
        return found

    def _callbacks_of(self, phones: set[str]) -> list[tuple[str, dict[str, Any]]]:
        book = self.keys.after_hours_callbacks()
        sids = self._call(self.redis.zrange, book, 0, -1)
        if not sids:
            return []
        raws = self._call(self.redis.mget, [self.keys.after_hours_callback(s) for s in sids])
        requests = [(s, json.loads(r)) for s, r in zip(sids, raws, strict=True) if r]
        return [(s, r) for s, r in requests if r.get("number") in phones]

    def _events_of(self, sids: set[str], needles: list[str]) -> list[tuple[str, dict[str, str]]]:
        """Stream entries of the calls `sids`, or whose note names one of `needles`."""
        found = []
        for eid, fields in self._stream():
            note = fields.get("note", "")
            if fields.get("call") in sids or any(n in note for n in needles):
                found.append((eid, fields))
        return found

    def _stream(self) -> Iterator[tuple[str, dict[str, str]]]:
        start = "-"
        while True:
            chunk = self._call(self.redis.xrange, self.keys.stats_events(), start, "+", 5000)
            yield from chunk
            if len(chunk) < 5000:
                return
            start = "(" + chunk[-1][0]

    @staticmethod
    def _needles(phones: set[str], *more: str) -> list[str]:
        """How a note may spell the numbers (E.164, digits, national) and the other facts."""
        spelled = set(more) - {""}
        for phone in phones:
            spelled |= {phone, phone[1:], numbers.national(phone)}
        return sorted(s for s in spelled if len(s) >= 4)

    def _guarded(self, items: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from items
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer a personal-data scan: {exc}") from exc

    @staticmethod
    def _call(fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer a personal-data request: {exc}") from exc


def families(data: PersonalData) -> list[Family]:
    """What personal data the store holds, under which keys, for how long, and how much now."""
    return _customer_families(data) + _staff_families(data)


def _customer_families(data: PersonalData) -> list[Family]:
    p, k, count = data.settings.privacy, data.keys, _Counter(data.redis)
    return [
        Family(k.directory_bucket("<last 4 digits>"),
               "customers: name, birth date, preferred dialect, phone numbers (a resident ID "
               "gives the birth date at import and is not kept)",
               "until `silverline customers delete` or a re-import without the number",
               count.directory(k)),
        Family(k.routing_calls(), "each call: the caller's number, name, age, dialect, queue",
               f"{p.call_record_hours} h after the call's last change (privacy.call_record_hours)",
               count.of("hlen", k.routing_calls())),
        Family(k.after_hours_callback("<call sid>"),
               "out-of-hours call-back requests: number, name, age, dialect",
               f"{p.callback_days} days (privacy.callback_days)",
               count.of("zcard", k.after_hours_callbacks())),
        Family(k.stats_events(),
               "statistics events: call sids, agent ids, wrap-up notes (free text)",
               f"{p.event_days} days (privacy.event_days), at most "
               f"{data.settings.stats.stream_maxlen} entries", count.of("xlen", k.stats_events())),
        Family(k.campaign_targets("<campaign>"),
               "return-visit campaigns: number, name, note, each attempt's outcome",
               "until the customer is deleted (the do-not-call list keeps a SHA-256 of the "
               "number, never the number)", count.of("hlen", k.campaigns())),
    ]  # fmt: skip


def _staff_families(data: PersonalData) -> list[Family]:
    p, k, count = data.settings.privacy, data.keys, _Counter(data.redis)
    today = data.clock.now().astimezone(UTC).date()
    audit_days = [(today - timedelta(days=n)).strftime("%Y%m%d") for n in range(p.audit_days + 1)]
    return [
        Family(k.audit_day("<YYYYMMDD>"),
               "the audit trail: staff names, their addresses, masked customer numbers",
               f"{p.audit_days} days after each day (privacy.audit_days)",
               sum(count.of("llen", k.audit_day(d)) for d in audit_days)),
        Family(k.user("<name>"), "staff sign-ins: user name, role, password hash",
               "until `silverline users remove`", count.of("scard", k.users())),
        Family(k.login_failures("<name>", "<address>"),
               "failed sign-ins: the name typed, the address", "15 minutes", -1),
        Family(k.routing_agents(), "agents: name, contact (a phone number or client id)",
               "until `silverline agents remove`", count.of("hlen", k.routing_agents())),
        Family(k.routing_forced(), "forced state changes: supervisor names, call sids",
               f"the newest 1000, at most {data.settings.stats.retention_days} days",
               count.of("llen", k.routing_forced())),
    ]  # fmt: skip


class _Counter:
    """How many entries a family holds now (-1 in a report: not counted, short-lived keys)."""

    def __init__(self, redis_client: RedisClient) -> None:
        self.redis = redis_client

    def of(self, command: str, key: str) -> int:
        try:
            return int(getattr(self.redis, command)(key))
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer the privacy report: {exc}") from exc

    def directory(self, keys: Keys) -> int:
        """Numbers in the directory: every bucket's size, in one pipelined round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for i in range(10_000):
            pipe.hlen(keys.directory_bucket(f"{i:04d}"))
        try:
            return sum(int(n) for n in pipe.execute())
        except redis.RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer the privacy report: {exc}") from exc
