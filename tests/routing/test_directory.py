"""The customer directory: lookups, age on the call's date, dialect, compact storage."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from routing.callers.caller import Customer
from routing.callers.directory import Directory, age_on, decode, encode
from routing.clock import FixedClock
from routing.keys import Keys
from routing.settings import load_engine_settings
from routing.store import RedisClient


def make_directory(r: RedisClient, clock: FixedClock, **overrides: object) -> Directory:
    settings = load_engine_settings(overrides, environ={})
    return Directory(r, clock, settings, Keys(settings.redis.key_prefix))


@pytest.fixture
def directory(r: RedisClient, clock: FixedClock) -> Directory:
    return make_directory(r, clock)


def customer(phones: tuple[str, ...], born: date, dialect: str | None = None) -> Customer:
    return Customer(phones[0], "陈婉仪", born, dialect, phones)


def test_national_and_e164_forms_find_the_same_record(directory: Directory) -> None:
    directory.save(customer(("+8613800138000", "+861012345678"), date(1950, 5, 1)))
    when = datetime(2026, 11, 23, 2, tzinfo=UTC)
    for raw in ("13800138000", "+8613800138000", "010-12345678", "+86 10 1234 5678"):
        caller = directory.identify(raw, when)
        assert caller.known, raw
        assert caller.customer is not None
        assert caller.customer.id == "+8613800138000"
        assert caller.customer.phones == ("+8613800138000", "+861012345678")
        assert caller.age == 76
        assert caller.senior


@pytest.mark.parametrize("raw", ["", "anonymous", "+266696687", "client:bob", "sip:x@y", "123"])
def test_withheld_and_invalid_numbers_are_unknown_default_dialect(
    directory: Directory, raw: str
) -> None:
    caller = directory.identify(raw, datetime(2026, 11, 23, 2, tzinfo=UTC))
    assert caller.number is None
    assert not caller.known
    assert caller.age is None
    assert not caller.senior
    assert caller.dialect == "mandarin"
    assert caller.raw_from == raw


def test_unknown_number_is_not_a_customer_but_gets_its_region_dialect(
    directory: Directory,
) -> None:
    caller = directory.identify("+85291234567", datetime(2026, 11, 23, 2, tzinfo=UTC))
    assert caller.number == "+85291234567"
    assert not caller.known
    assert caller.dialect == "cantonese"
    assert not caller.senior


@pytest.mark.parametrize(
    ("number", "dialect"),
    [
        ("13902212345", "cantonese"),  # Guangzhou mobile
        ("028-85551234", "sichuanese"),  # Chengdu landline
        ("+85291234567", "cantonese"),  # Hong Kong
        ("+85366123456", "cantonese"),  # Macau: key "澳门" begins "澳门特区"
        ("021-61234567", "shanghainese"),
        ("0591-87654321", "minnan"),  # Fuzhou
        ("023-61234567", "sichuanese"),  # Chongqing
        ("0512-65123456", "shanghainese"),  # Suzhou: a city-level key
        ("025-84123456", "mandarin"),  # Nanjing: Jiangsu without a province key
        ("13800138000", "mandarin"),  # Beijing
        ("+14155552671", "mandarin"),  # abroad: the hotline default
    ],
)
def test_dialect_from_region(directory: Directory, number: str, dialect: str) -> None:
    assert directory.identify(number, datetime(2026, 11, 23, 2, tzinfo=UTC)).dialect == dialect


def test_longest_region_key_wins(r: RedisClient, clock: FixedClock) -> None:
    d = make_directory(r, clock, **{"dialect_regions.江苏省": "minnan"})
    when = datetime(2026, 11, 23, 2, tzinfo=UTC)
    assert d.identify("0512-65123456", when).dialect == "shanghainese"
    assert d.identify("025-84123456", when).dialect == "minnan"


def test_record_preference_beats_region(directory: Directory) -> None:
    directory.save(customer(("+8613902212345",), date(1950, 1, 1), dialect="english"))
    caller = directory.identify("13902212345", datetime(2026, 11, 23, 2, tzinfo=UTC))
    assert caller.dialect == "english"


def test_default_dialect_is_config(r: RedisClient, clock: FixedClock) -> None:
    d = make_directory(r, clock, **{"hotline.default_dialect": "english"})
    assert d.identify("anonymous", datetime(2026, 11, 23, 2, tzinfo=UTC)).dialect == "english"


@pytest.mark.parametrize(
    ("born", "utc", "age"),
    [
        # The 60th birthday itself, 10:00 in Shanghai.
        (date(1966, 11, 23), datetime(2026, 11, 23, 2, tzinfo=UTC), 60),
        (date(1966, 11, 24), datetime(2026, 11, 23, 2, tzinfo=UTC), 59),
        # 23:59 on 23 Nov in Shanghai is 15:59 UTC; midnight in Shanghai is 16:00 UTC.
        (date(1966, 11, 24), datetime(2026, 11, 23, 15, 59, tzinfo=UTC), 59),
        (date(1966, 11, 24), datetime(2026, 11, 23, 16, 0, tzinfo=UTC), 60),
        # 29 February: 60 on the day in a leap year...
        (date(1964, 2, 29), datetime(2024, 2, 28, 4, tzinfo=UTC), 59),
        (date(1964, 2, 29), datetime(2024, 2, 29, 4, tzinfo=UTC), 60),
        # ...and on 1 March in a common year.
        (date(1952, 2, 29), datetime(2013, 2, 28, 4, tzinfo=UTC), 60),
        (date(1952, 2, 29), datetime(2013, 3, 1, 4, tzinfo=UTC), 61),
        (date(1952, 2, 29), datetime(2013, 2, 28, 16, 0, tzinfo=UTC), 61),
    ],
)
def test_age_on_the_calls_date_in_the_hotline_time_zone(
    directory: Directory, born: date, utc: datetime, age: int
) -> None:
    directory.save(customer(("+8613800138000",), born))
    caller = directory.identify("13800138000", utc)
    assert caller.age == age
    assert caller.senior is (age >= 60)


def test_time_zone_and_threshold_come_from_config(r: RedisClient, clock: FixedClock) -> None:
    d = make_directory(r, clock, **{"hotline.timezone": "UTC", "hotline.senior_age": 65})
    d.save(customer(("+8613800138000",), date(1961, 11, 24)))
    late = d.identify("13800138000", datetime(2026, 11, 23, 20, tzinfo=UTC))
    assert late.age == 64 and not late.senior
    on_day = d.identify("13800138000", datetime(2026, 11, 24, 0, tzinfo=UTC))
    assert on_day.age == 65 and on_day.senior


def test_age_on_counts_whole_years() -> None:
    assert age_on(date(2000, 6, 15), date(2026, 6, 14)) == 25
    assert age_on(date(2000, 6, 15), date(2026, 6, 15)) == 26


def test_record_codec_round_trips_and_is_compact() -> None:
    one = customer(("+8613800138000",), date(1950, 5, 1), "cantonese")
    assert encode(one, "+8613800138000") == "陈婉仪\t19500501\tcantonese\t"
    assert decode(encode(one, "+8613800138000"), "+8613800138000") == one
    two = customer(("+8613800138000", "+85291234567"), date(1950, 5, 1))
    assert decode(encode(two, "+85291234567"), "+85291234567") == two


def test_age_is_never_stored(directory: Directory, r: RedisClient) -> None:
    directory.save(customer(("+8613800138000",), date(1950, 5, 1)))
    stored = r.hgetall(directory.keys.directory_bucket("8000"))
    assert stored == {"861380013": "陈婉仪\t19500501\t\t"}


def test_lookup_is_one_round_trip(directory: Directory, r: RedisClient) -> None:
    directory.save(customer(("+8613800138000",), date(1950, 5, 1)))
    sent: list[tuple[object, ...]] = []
    original = r.execute_command

    def counting(*args: object, **kwargs: object) -> object:
        sent.append(args)
        return original(*args, **kwargs)

    r.execute_command = counting  # type: ignore[method-assign]
    directory.identify("13800138000", datetime(2026, 11, 23, 2, tzinfo=UTC))
    assert [a[0] for a in sent] == ["HGET"]


def test_save_many_updates_in_place_and_drops_numbers_no_longer_listed(
    directory: Directory,
) -> None:
    a, b, c = "+8613800138000", "+8613800138001", "+8613800138002"
    first = directory.save_many([customer((a, b), date(1950, 5, 1))])
    assert (first.added, first.updated) == (1, 0)
    again = directory.save_many([Customer(a, "陈婉仪", date(1951, 5, 1), "cantonese", (a, c))])
    assert (again.added, again.updated) == (0, 1)
    assert directory.lookup(b) is None
    found = directory.lookup(c)
    assert found is not None and found.birth_date == date(1951, 5, 1)
    assert found.phones == (a, c)


def test_a_dropped_number_taken_by_another_customer_is_kept(directory: Directory) -> None:
    a, b = "+8613800138000", "+8613800138001"
    directory.save_many([customer((a, b), date(1950, 5, 1))])
    other = Customer(b, "王建国", date(1960, 1, 1), None, (b,))
    directory.save_many([Customer(a, "陈婉仪", date(1950, 5, 1), None, (a,)), other])
    assert directory.lookup(b) == other


def test_demo_customers_are_realistic_and_deterministic(
    directory: Directory, clock: FixedClock
) -> None:
    from routing.demo import seed_customers

    made = seed_customers(directory, clock, count=300, seed=3)
    assert made == seed_customers(directory, clock, count=300, seed=3)
    when = clock.now()
    ages = [directory.age(c, when) for c in made]
    assert min(ages) >= 20 and max(ages) <= 95 and sum(a >= 60 for a in ages) > 50
    numbers_ = [p for c in made for p in c.phones]
    assert len(numbers_) == len(set(numbers_))
    assert any(n.startswith("+852") for n in numbers_)
    assert any(not n.startswith(("+86", "+852")) for n in numbers_)
    dialects = {directory.identify(c.id, when).dialect for c in made}
    assert {"cantonese", "shanghainese", "minnan", "sichuanese", "mandarin"} <= dialects


@pytest.mark.parametrize(
    ("number", "age", "dialect"),
    [
        ("+8613902200060", 72, "cantonese"),
        ("+8613800138000", 68, "mandarin"),
        ("+8613800138035", 35, "mandarin"),
        ("+85291234567", 81, "cantonese"),
        ("+862885551234", 75, "sichuanese"),
        ("+862161234567", 64, "shanghainese"),
        ("+8613918888888", 45, "english"),
    ],
)
def test_well_known_demo_callers(
    directory: Directory, clock: FixedClock, number: str, age: int, dialect: str
) -> None:
    from routing.demo import seed_customers

    seed_customers(directory, clock, count=0)
    for days in (0, 264):  # the documented ages hold for 265 days after seeding
        caller = directory.identify(number, clock.now() + timedelta(days=days))
        assert (caller.age, caller.dialect, caller.senior) == (age, dialect, age >= 60)


def test_an_id_other_than_the_primary_number_is_kept(directory: Directory) -> None:
    own = Customer("c1", "陈伯", date(1954, 3, 1), "cantonese", ("+8613800138000", "+85291234567"))
    directory.save(own)
    assert directory.lookup("+85291234567") == own
    assert directory.lookup("+8613800138000") == own
