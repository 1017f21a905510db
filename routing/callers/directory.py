"""The customer directory in Redis: number -> customer, and who is calling on a given date.

A customer is stored once per phone number, so any of their numbers resolves with one HGET.
Numbers are spread over 10,000 hash buckets by their last four digits (evenly spread, unlike
prefixes, which cluster by carrier and city); the field is the digits before those four, an
integer that a listpack stores in a few bytes. The value is tab-separated:

    name <TAB> birth date YYYYMMDD <TAB> preferred dialect or "" <TAB> phones [<TAB> id]

where phones lists the customer's numbers (E.164 digits, comma-separated, primary first) with
the bucket's own number left empty, so a one-number customer stores just "". The customer's
id is their primary number unless a fifth field names another. Age is never stored: it is
computed per call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import redis

from routing.callers import numbers
from routing.callers.caller import Caller, Customer
from routing.clock import Clock
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.settings import EngineSettings
from routing.store import RedisClient

SUFFIX_DIGITS = 4
BUCKETS = 10**SUFFIX_DIGITS


@dataclass(frozen=True)
class SaveCounts:
    """What a batch write did: records new to the directory, records replaced in place."""

    added: int
    updated: int


def age_on(birth: date, day: date) -> int:
    """Whole years from `birth` to `day` (29 February birthdays count from 1 March)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


# A customer as the importer hands it over: name, birth date as YYYYMMDD, preferred dialect
# or "", phone numbers (E.164, primary first), id ("": the primary number).
Record = tuple[str, str, str, tuple[str, ...], str]
# One stored number: (bucket key, field, value).
Entry = tuple[str, str, str]


def record(customer: Customer) -> Record:
    """`customer` in the importer's form."""
    birth = customer.birth_date.isoformat().replace("-", "")
    own_id = "" if customer.id == customer.phones[0] else customer.id
    return customer.name, birth, customer.dialect or "", customer.phones, own_id


def encode(customer: Customer, number: str) -> str:
    """The stored value of `customer` in the bucket entry of `number`."""
    return _encode(record(customer), number)


def _encode(rec: Record, number: str) -> str:
    name, birth, dialect, phones, own_id = rec
    listed = "" if len(phones) == 1 else ",".join("" if p == number else p[1:] for p in phones)
    value = f"{name}\t{birth}\t{dialect}\t{listed}"
    return f"{value}\t{own_id}" if own_id else value


def decode(value: str, number: str) -> Customer:
    """The customer stored as `value` in the bucket entry of `number`."""
    name, birth, dialect, phones, *own_id = value.split("\t")
    numbers_ = tuple(f"+{p}" if p else number for p in phones.split(","))
    born = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    return Customer(own_id[0] if own_id else numbers_[0], name, born, dialect or None, numbers_)


class Directory:
    """Customer records by phone number, and caller identification on top of them."""

    def __init__(
        self, redis: RedisClient, clock: Clock, settings: EngineSettings, keys: Keys
    ) -> None:
        self.redis, self.clock, self.settings, self.keys = redis, clock, settings, keys
        # Longest key first, so "江苏省苏州市" wins over a province-wide "江苏省".
        self._regions = sorted(settings.dialect_regions.items(), key=lambda kv: -len(kv[0]))

    def identify(self, raw_from: str, when: datetime) -> Caller:
        """Who is calling from `raw_from` (Twilio's `From`) at `when`: record, age, dialect."""
        number = numbers.normalise(raw_from, self.settings.hotline.default_region)
        customer = self.lookup(number) if number else None
        age = age_on(customer.birth_date, self.local_date(when)) if customer else None
        return Caller(
            raw_from=raw_from,
            number=number,
            customer=customer,
            age=age,
            dialect=self.dialect_for(number, customer),
            senior=age is not None and age >= self.settings.hotline.senior_age,
        )

    def lookup(self, number: str) -> Customer | None:
        """The customer who owns E.164 `number`, or None (one round trip)."""
        key, field = self._place(number)
        value = self._call(self.redis.hget, key, field)
        return decode(value, number) if value is not None else None

    def save(self, customer: Customer, pipe: Any = None) -> None:
        """Write `customer` under each of their numbers (on `pipe` when given)."""
        target = pipe if pipe is not None else self.redis.pipeline(transaction=False)
        for number in customer.phones:
            key, field = self._place(number)
            target.hset(key, field, encode(customer, number))
        if pipe is None:
            self._call(target.execute)

    def save_many(self, customers: Sequence[Customer]) -> SaveCounts:
        """Write a batch of customers; see `save_entries`."""
        return self.save_entries([e for c in customers for e in self.entries(record(c))])

    def entries(self, rec: Record) -> list[Entry]:
        """The bucket entries that store `rec`, one per number (opaque outside this module)."""
        bucket = self.keys.directory_bucket
        return [(bucket(n[-SUFFIX_DIGITS:]), n[1:-SUFFIX_DIGITS], _encode(rec, n)) for n in rec[3]]

    def occupied_buckets(self) -> set[str]:
        """The bucket keys that hold any customer (one pipelined round trip)."""
        keys = [self.keys.directory_bucket(f"{i:0{SUFFIX_DIGITS}d}") for i in range(BUCKETS)]
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.exists(key)
        return {key for key, n in zip(keys, self._call(pipe.execute), strict=True) if n}

    def save_entries(
        self, entries: Sequence[Entry], occupied: set[str] | None = None
    ) -> SaveCounts:
        """Write a batch in two round trips, updating records in place.

        Numbers that a re-imported customer no longer lists are removed, unless another
        customer has taken them meanwhile (a third round trip, only when there are any).
        A customer counts as updated when their primary number was already there.
        `occupied` (from `occupied_buckets`, taken before a bulk load whose numbers are all
        distinct) spares reading buckets that were empty: nothing there can be replaced.
        """
        buckets: dict[str, dict[str, str]] = defaultdict(dict)
        for key, field, value in entries:
            buckets[key][field] = value
        old = self._read({k: f for k, f in buckets.items() if occupied is None or k in occupied})
        pipe = self.redis.pipeline(transaction=False)
        for key, fields in buckets.items():
            pipe.hset(key, mapping=fields)
        self._call(pipe.execute)
        if old:
            self._drop_stale(self._stale(entries, old))
        if not old:  # a bulk load into empty buckets: count without building pairs
            return SaveCounts(sum(1 for _, _, v in entries if _is_primary(v)), 0)
        primaries = [(k, f) for k, f, v in entries if _is_primary(v)]
        updated = sum(1 for k, f in primaries if (k, f) in old)
        return SaveCounts(len(primaries) - updated, updated)

    def delete(self, number: str) -> bool:
        """Remove the entry of one number; True when there was one."""
        key, field = self._place(number)
        return bool(self._call(self.redis.hdel, key, field))

    def dialect_for(self, number: str | None, customer: Customer | None) -> str:
        """The record's preference, else the number's region's dialect, else the default."""
        if customer is not None and customer.dialect:
            return customer.dialect
        by_region = self.region_dialect(number) if number is not None else None
        return by_region or self.settings.hotline.default_dialect

    def region_dialect(self, number: str) -> str | None:
        """The dialect of the longest dialect_regions key that begins the number's region."""
        region = numbers.region_description(number)
        for prefix, code in self._regions:
            if region.startswith(prefix):
                return code
        return None

    def local_date(self, when: datetime) -> date:
        """The calendar date at `when` in the hotline's time zone."""
        return when.astimezone(self.settings.tz).date()

    def age(self, customer: Customer, when: datetime) -> int:
        """The customer's age at `when`, on the hotline's calendar."""
        return age_on(customer.birth_date, self.local_date(when))

    def _place(self, number: str) -> tuple[str, str]:
        digits = number[1:]
        return self.keys.directory_bucket(digits[-SUFFIX_DIGITS:]), digits[:-SUFFIX_DIGITS]

    def _number(self, key: str, field: str) -> str:
        return f"+{field}{key[-SUFFIX_DIGITS:]}"

    def _read(self, buckets: dict[str, dict[str, str]]) -> dict[tuple[str, str], str]:
        """The values stored now under the fields of `buckets`, by (key, field)."""
        pipe = self.redis.pipeline(transaction=False)
        for key, fields in buckets.items():
            pipe.hmget(key, list(fields))
        found: dict[tuple[str, str], str] = {}
        for (key, fields), values in zip(buckets.items(), self._call(pipe.execute), strict=True):
            for field, value in zip(fields, values, strict=True):
                if value is not None:
                    found[key, field] = value
        return found

    def _stale(
        self, entries: Sequence[Entry], old: dict[tuple[str, str], str]
    ) -> list[tuple[str, Customer]]:
        """Numbers an old record listed that the new record under the same number does not."""
        stale: list[tuple[str, Customer]] = []
        for key, field, value in entries:
            was_value = old.get((key, field))
            if was_value is None or not _listed(was_value):  # a one-number record
                continue
            number = self._number(key, field)
            was, now = decode(was_value, number), decode(value, number)
            stale += [(p, was) for p in was.phones if p not in now.phones]
        return stale

    def _drop_stale(self, stale: list[tuple[str, Customer]]) -> None:
        if not stale:
            return
        pipe = self.redis.pipeline(transaction=False)
        for number, _ in stale:
            pipe.hget(*self._place(number))
        current = self._call(pipe.execute)
        pipe = self.redis.pipeline(transaction=False)
        for (number, was), value in zip(stale, current, strict=True):
            if value is not None and decode(value, number) == was:
                pipe.hdel(*self._place(number))
        self._call(pipe.execute)

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except redis.RedisError as exc:
            raise StoreUnavailable(f"customer directory: {exc}") from exc


def _listed(value: str) -> str:
    """The phones field of a stored value: "" for a one-number customer."""
    return value.split("\t", 4)[3]


def _is_primary(value: str) -> bool:
    """Whether an entry is its customer's primary number (its own place, first, is blank)."""
    listed = value.split("\t", 4)[3]  # _listed(), inlined: called once per imported number
    return not listed or listed[0] == ","
