"""Return-visit campaigns (回访): lists of customers to call back, their calling hours and retry
plan, and who must never be called (docs/campaigns.md).

This module keeps the campaigns and answers "who may be dialled now": a customer is due when
their campaign is active, the time in the customer's own time zone (phonenumbers' time zones of
the number, else the hotline's) is inside the campaign's hours, the hotline's day is not a
holiday, their next attempt is due, and their number is not on the do-not-call list. It also
keeps each customer's attempts (when, which agent, how it ended: the compliance log) and their
outcome. Dialling them (progressive: an agent reserved first) is routing/outbound/visits.py's.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from phonenumbers import parse as parse_number
from phonenumbers import timezone as number_timezone
from phonenumbers.phonenumberutil import NumberParseException
from redis.exceptions import RedisError

from routing.callers import numbers
from routing.clock import Clock, epoch_ms
from routing.exceptions import ImportRowError, SilverlineError, StoreUnavailable
from routing.keys import Keys
from routing.settings import EngineSettings
from routing.store import RedisClient

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
MAX_NOTE = 200
MAX_CUSTOMER_NAME = 30
STATES = ("active", "paused")
# A customer's place in the campaign: pending (to call), then one of the outcomes.
OUTCOMES = ("pending", "confirmed", "escalate", "wrong_person", "call_back_later", "refused",
            "failed")  # fmt: skip


# How an attempt that reached nobody to talk to ended; as many as the plan's attempts: failed.
UNREACHED = ("busy", "no-answer", "failed", "canceled", "voicemail", "hung_up", "no_person")
# The wrap-up codes that are a visit's outcome (config [wrap_up] codes holds them too).
# do_not_call: the customer asked never to be called again: refused, and on the list.
VISIT_CODES = ("confirmed", "escalate", "wrong_person", "call_back_later", "refused", "do_not_call")


def _talked(entry: dict[str, Any]) -> bool:
    """Whether an attempt of the log reached the customer (talked, or coded by the agent)."""
    return entry.get("outcome") not in (*UNREACHED, "dialled")


class CampaignError(SilverlineError):
    """A campaign that cannot be made or changed as asked; says why."""


@dataclass(frozen=True)
class Campaign:
    name: str
    reason: str  # what the agent is told before the customer answers
    hours: str  # "HH:MM-HH:MM" in the customer's time zone
    queue: str = "senior"  # whose agents work it (senior-trained by default)
    attempts: int = 3
    spacing_minutes: int = 120
    state: str = "active"
    created_ms: int = 0

    def window(self) -> tuple[time, time]:
        found = _HOURS.match(self.hours)
        assert found, self.hours
        h1, m1, h2, m2 = (int(g) for g in found.groups())
        return time(h1, m1), time(h2, m2)


@dataclass
class Target:
    """One customer of a campaign."""

    number: str
    name: str = ""
    note: str = ""
    outcome: str = "pending"
    attempts: int = 0
    next_ms: int = 0  # when the next attempt may be made (0: at once)
    log: list[dict[str, Any]] = field(default_factory=list)  # every attempt: at, agent, outcome


@dataclass
class CampaignImport:
    rows: int = 0
    added: int = 0
    skipped_dnc: list[str] = field(default_factory=list)
    problems: list[ImportRowError] = field(default_factory=list)
    written: bool = False


class Campaigns:
    def __init__(
        self, redis: RedisClient, clock: Clock, settings: EngineSettings, keys: Keys
    ) -> None:
        self.redis, self.clock, self.settings, self.keys = redis, clock, settings, keys

    # -- making and changing ---------------------------------------------------------------

    def add(self, campaign: Campaign, path: Path, skip_invalid: bool = False) -> CampaignImport:
        """Make `campaign` from the CSV at `path` (a header naming `number`; `name` and `note`
        optional). Every bad row is reported with its line; nothing is written when any row
        is bad unless `skip_invalid`; numbers on the do-not-call list are left out."""
        check_campaign(campaign, self.settings)
        if self.get(campaign.name) is not None:
            raise CampaignError(f"a campaign named {campaign.name!r} exists already")
        report = CampaignImport()
        targets = list(self._read(path, report))
        if report.problems and not skip_invalid:
            return report
        dnc = self.do_not_call()
        keep = [t for t in targets if digest(t.number) not in dnc]
        report.skipped_dnc = [t.number for t in targets if digest(t.number) in dnc]
        made = {**asdict(campaign), "created_ms": epoch_ms(self.clock.now())}
        pipe = self.redis.pipeline(transaction=True)  # all or nothing
        pipe.hset(self.keys.campaigns(), campaign.name, json.dumps(made, ensure_ascii=False))
        if keep:
            pipe.hset(
                self.keys.campaign_targets(campaign.name),
                mapping={t.number: json.dumps(asdict(t), ensure_ascii=False) for t in keep},
            )
        self._run(pipe)
        report.added, report.written = len(keep), True
        return report

    def set_state(self, name: str, state: str) -> Campaign:
        found = self.get(name)
        if found is None:
            raise CampaignError(f"no campaign {name!r}")
        if state not in STATES:
            raise CampaignError(f"a campaign is {' or '.join(STATES)}, not {state!r}")
        changed = Campaign(**{**asdict(found), "state": state})
        self._run_one(lambda: self.redis.hset(self.keys.campaigns(), name, _dump(changed)))
        return changed

    def forbid(self, number: str) -> str:
        """Put `number` on the do-not-call list: no campaign dials it again."""
        e164 = numbers.normalise(number, self.settings.hotline.default_region)
        if e164 is None:
            raise CampaignError(f"{number!r} is not a phone number")
        self._run_one(lambda: self.redis.sadd(self.keys.do_not_call(), digest(e164)))
        return e164

    # -- reading ---------------------------------------------------------------------------

    def get(self, name: str) -> Campaign | None:
        raw = self._run_one(lambda: self.redis.hget(self.keys.campaigns(), name))
        return Campaign(**json.loads(raw)) if raw else None

    def all(self) -> list[Campaign]:
        raw = self._run_one(lambda: self.redis.hgetall(self.keys.campaigns()))
        return sorted((Campaign(**json.loads(v)) for v in raw.values()), key=lambda c: c.name)

    def targets(self, name: str) -> list[Target]:
        raw = self._run_one(lambda: self.redis.hgetall(self.keys.campaign_targets(name)))
        return sorted((Target(**json.loads(v)) for v in raw.values()), key=lambda t: t.number)

    def progress(self, name: str) -> dict[str, int]:
        """Customers by outcome, and how many were reached: spoken to by an agent, whether or
        not the visit's outcome has been coded yet (a talk still to code is pending)."""
        counts = dict.fromkeys(OUTCOMES, 0)
        reached = 0
        for t in self.targets(name):
            counts[t.outcome] += 1
            reached += t.outcome not in {"pending", "failed"} or any(map(_talked, t.log))
        counts["reached"] = reached
        counts["total"] = sum(counts[o] for o in OUTCOMES)
        return counts

    def do_not_call(self) -> set[str]:
        """The do-not-call list: digests of the numbers (`digest`), never the numbers."""
        return set(self._run_one(lambda: self.redis.smembers(self.keys.do_not_call())))

    def forget(self, phones: set[str]) -> int:
        """Remove `phones` from every campaign (a customer deleted); return how many entries.
        The do-not-call list keeps their digest: a later list still cannot call them."""
        names = self._run_one(lambda: self.redis.hkeys(self.keys.campaigns()))
        gone = 0
        for name in names:
            key = self.keys.campaign_targets(name)
            gone += int(self._run_one(lambda k=key: self.redis.hdel(k, *phones)))
        return gone

    def entries_of(self, phones: set[str]) -> list[dict[str, Any]]:
        """Every campaign entry of `phones`, with its campaign (a customer's export)."""
        out = []
        for c in self.all():
            key = self.keys.campaign_targets(c.name)
            for raw in self._run_one(lambda k=key: self.redis.hmget(k, sorted(phones))):
                if raw:
                    out.append({"campaign": c.name, "reason": c.reason, **json.loads(raw)})
        return out

    def due(self, name: str) -> list[Target]:
        """The customers of campaign `name` who may be dialled now, longest due first."""
        campaign = self.get(name)
        now = self.clock.now()
        if campaign is None or campaign.state != "active" or self._holiday(now):
            return []
        dnc, now_ms = self.do_not_call(), epoch_ms(now)
        found = [
            t
            for t in self.targets(name)
            if t.outcome in {"pending", "call_back_later"}
            and t.next_ms <= now_ms
            and digest(t.number) not in dnc
            and self.in_hours(campaign, t.number, now)
        ]
        return sorted(found, key=lambda t: (t.next_ms, t.number))

    def in_hours(self, campaign: Campaign, number: str, when: datetime) -> bool:
        """Whether `when` falls in the campaign's hours in the customer's own time zone."""
        opens, closes = campaign.window()
        local = when.astimezone(self.customer_tz(number)).time()
        return opens <= local < closes

    def customer_tz(self, number: str) -> ZoneInfo:
        """The number's time zone when phonenumbers knows exactly one, else the hotline's."""
        zone = _zone_of(number)
        return ZoneInfo(zone) if zone else self.settings.tz

    # -- attempts (routing/outbound/visits.py) ------------------------------------------------

    def started(self, campaign: Campaign, number: str, sid: str, agent: str) -> None:
        """An attempt on `number` begins (`sid`, with `agent` reserved): counted and logged;
        the next one is not due before the campaign's spacing."""
        now = epoch_ms(self.clock.now())

        def begin(t: Target) -> bool:
            t.attempts += 1
            t.next_ms = now + campaign.spacing_minutes * 60_000
            t.log.append({"sid": sid, "at": now, "agent": agent, "outcome": "dialled"})
            return True

        self._change(campaign.name, number, begin)

    def attempt_over(self, name: str, number: str, sid: str, outcome: str) -> Target | None:
        """Attempt `sid` ended: "talked" (a wrap-up code follows) or one of UNREACHED; after
        the plan's attempts all unreached, the customer is failed. A repeat changes nothing."""
        campaign = self.get(name)
        now = epoch_ms(self.clock.now())

        def end(t: Target) -> bool:
            entry = next((e for e in t.log if e.get("sid") == sid), None)
            if entry is None or entry["outcome"] != "dialled":
                return False
            entry["outcome"], entry["ended"] = outcome, now
            missed = sum(1 for e in t.log if e["outcome"] in UNREACHED)
            if campaign and t.outcome == "pending" and missed >= campaign.attempts:
                t.outcome = "failed"
            return True

        return self._change(name, number, end)

    def record_outcome(
        self, name: str, number: str, sid: str, code: str, at: time | None = None
    ) -> Target | None:
        """The agent's wrap-up `code` for attempt `sid` is the customer's outcome; for
        call_back_later, `at` (the customer's local time) is when the next attempt is due."""
        if code not in VISIT_CODES:
            raise CampaignError(f"{code!r} is not a visit outcome ({', '.join(VISIT_CODES)})")
        campaign = self.get(name)
        now = self.clock.now()

        def decide(t: Target) -> bool:
            entry = next((e for e in t.log if e.get("sid") == sid), None)
            if entry is not None:
                entry["outcome"] = code
            t.outcome = "refused" if code == "do_not_call" else code
            if code == "call_back_later":
                spacing = campaign.spacing_minutes if campaign else 120
                due = self.next_local(number, at, now) if at else now + timedelta(minutes=spacing)
                t.next_ms = epoch_ms(due)
            return True

        return self._change(name, number, decide)

    def next_local(self, number: str, at: time, now: datetime) -> datetime:
        """The next `at` (hours and minutes) in the customer's own time zone after `now`."""
        local = now.astimezone(self.customer_tz(number))
        when = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
        return when if when > local else when + timedelta(days=1)

    def forbidden(self, number: str) -> bool:
        """Whether `number` is on the do-not-call list (asked at dial time)."""
        key = self.keys.do_not_call()
        return bool(self._run_one(lambda: self.redis.sismember(key, digest(number))))

    def _change(self, name: str, number: str, change: Callable[[Target], bool]) -> Target | None:
        """Read, change and write one customer's entry, as one transaction.

        An attempt's steps come one after another, but not from one process: every server's
        ticker starts visits, and the status callback, the dial's action and the agent's
        wrap-up may reach different servers at once. The entry is watched (WATCH/MULTI) and
        `change` is run again on a fresh read when another writer got in first, so no step
        overwrites another's line of the log.
        """
        key = self.keys.campaign_targets(name)

        def attempt(pipe: Any) -> Target | None:
            raw = pipe.hget(key, number)
            if not raw:
                return None  # deleted meanwhile (customers delete): nothing to keep
            target = Target(**json.loads(raw))
            if change(target):
                pipe.multi()
                pipe.hset(key, number, json.dumps(asdict(target), ensure_ascii=False))
            return target

        found: Target | None = self._run_one(
            lambda: self.redis.transaction(attempt, key, value_from_callable=True)
        )
        return found

    # -- internals -------------------------------------------------------------------------

    def _holiday(self, now: datetime) -> bool:
        day = now.astimezone(self.settings.tz).date().isoformat()
        return day in self.settings.business_hours.holidays

    def _read(self, path: Path, report: CampaignImport) -> Iterator[Target]:
        try:
            with path.open(newline="", encoding="utf-8-sig") as f:
                yield from self._rows(csv.DictReader(f), report)
        except (OSError, UnicodeDecodeError) as exc:
            raise CampaignError(f"cannot read {path}: {exc}") from exc

    def _rows(self, reader: csv.DictReader[str], report: CampaignImport) -> Iterator[Target]:
        fields = set(reader.fieldnames or [])
        if "number" not in fields:
            raise CampaignError(
                f"the header must name number (and may name name, note): {sorted(fields)}"
            )
        seen: dict[str, int] = {}
        for row in reader:
            report.rows += 1
            line = reader.line_num
            try:
                target = self._target(row)
            except ValueError as exc:
                report.problems.append(ImportRowError(line, str(exc)))
                continue
            if target.number in seen:
                report.problems.append(
                    ImportRowError(
                        line, f"{target.number} is listed twice (line {seen[target.number]})"
                    )
                )
                continue
            seen[target.number] = line
            yield target

    def _target(self, row: dict[str, str]) -> Target:
        raw = (row.get("number") or "").strip()
        e164 = numbers.normalise(raw, self.settings.hotline.default_region) if raw else None
        if e164 is None:
            raise ValueError(f"number {raw!r} is not a phone number one can call")
        name = (row.get("name") or "").strip()
        note = (row.get("note") or "").strip()
        if len(name) > MAX_CUSTOMER_NAME:
            raise ValueError(f"name is longer than {MAX_CUSTOMER_NAME} characters")
        if len(note) > MAX_NOTE:
            raise ValueError(f"note is longer than {MAX_NOTE} characters")
        return Target(e164, name, note)

    def _run(self, pipe: Any) -> None:
        try:
            pipe.execute()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not take the campaign: {exc}") from exc

    def _run_one(self, call: Any) -> Any:
        try:
            return call()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer: {exc}") from exc


def check_campaign(c: Campaign, settings: EngineSettings) -> None:
    """Refuse a campaign that cannot be worked, naming what is wrong."""
    if not _NAME.match(c.name):
        raise CampaignError("a campaign's name is lower-case letters, digits, - and _ (up to 40)")
    if not c.reason.strip():
        raise CampaignError("--reason must say why we call (the agent reads it first)")
    if not _HOURS.match(c.hours) or c.window()[0] >= c.window()[1]:
        raise CampaignError(
            f"--hours must be HH:MM-HH:MM, the first before the second: {c.hours!r}"
        )
    if c.queue not in settings.queues:
        raise CampaignError(f"no queue {c.queue!r}")
    if not 1 <= c.attempts <= 10:
        raise CampaignError("--attempts must be 1 to 10")
    if not 10 <= c.spacing_minutes <= 7 * 24 * 60:
        raise CampaignError("--spacing must be 10 minutes to a week")


@functools.lru_cache(maxsize=65_536)
def _zone_of(number: str) -> str:
    """The one time zone phonenumbers gives `number`, or "". Cached: the dialler asks for
    every customer of a campaign at each beat, and parsing is the costly part of `due`."""
    try:
        zones = number_timezone.time_zones_for_number(parse_number(number, None))
    except NumberParseException:
        return ""
    return zones[0] if len(zones) == 1 and zones[0] != "Etc/Unknown" else ""


def digest(number: str) -> str:
    """What the do-not-call list keeps of a number: its SHA-256, so that deleting a customer
    (routing/governance/privacy.py) leaves no number in the store while their wish still holds."""
    return hashlib.sha256(number.encode()).hexdigest()


def _dump(c: Campaign) -> str:
    return json.dumps(asdict(c), ensure_ascii=False)
