from datetime import UTC, datetime

from routing.queues.hours import is_open
from routing.settings import BusinessHours, load_engine_settings

TZ = load_engine_settings(environ={}).tz


def at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=TZ).astimezone(UTC)


def test_open_between_opening_and_closing_in_the_hotline_zone() -> None:
    hours = BusinessHours(open="08:00", close="20:00")
    assert not is_open(at("2026-11-23T07:59"), hours, TZ)
    assert is_open(at("2026-11-23T08:00"), hours, TZ)
    assert is_open(at("2026-11-23T19:59"), hours, TZ)
    assert not is_open(at("2026-11-23T20:00"), hours, TZ)
    # 23:30 UTC on Sunday is 07:30 Monday in Shanghai: closed; 00:30 UTC is 08:30: open.
    assert not is_open(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), hours, TZ)
    assert is_open(datetime(2026, 11, 23, 0, 30, tzinfo=UTC), hours, TZ)


def test_weekdays_and_holidays() -> None:
    hours = BusinessHours(
        open="08:00", close="20:00", weekdays=(1, 2, 3, 4, 5), holidays=("2026-11-24",)
    )
    assert is_open(at("2026-11-23T10:00"), hours, TZ)  # Monday
    assert not is_open(at("2026-11-24T10:00"), hours, TZ)  # a holiday
    assert not is_open(at("2026-11-28T10:00"), hours, TZ)  # Saturday


def test_hours_past_midnight_and_round_the_clock() -> None:
    night = BusinessHours(open="22:00", close="06:00")
    assert is_open(at("2026-11-23T23:00"), night, TZ)
    assert is_open(at("2026-11-23T05:59"), night, TZ)
    assert not is_open(at("2026-11-23T12:00"), night, TZ)
    assert is_open(at("2026-11-23T03:00"), BusinessHours(open="00:00", close="00:00"), TZ)
