"""Days with hours of their own: a half day before Spring Festival, a make-up working Saturday,
a day closed; validation naming the key (issue 21, point 8)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from routing.exceptions import SettingsError
from routing.queues.hours import hours_on, is_open, special_today
from routing.settings import DEFAULT_CONFIG, BusinessHours, load_engine_settings

TZ = load_engine_settings(environ={}).tz
HOURS = BusinessHours(
    open="08:00",
    close="20:00",
    weekdays=(1, 2, 3, 4, 5),
    holidays=("2027-02-08",),
    special_days={
        "2027-02-05": "08:00-12:00",  # Friday: the half day before Spring Festival
        "2027-02-20": "09:00-17:00",  # Saturday: a make-up working day
        "2027-02-09": "closed",  # Tuesday
        "2027-02-08": "10:00-11:00",  # also a holiday: the special day wins
    },
)


def at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=TZ).astimezone(UTC)


@pytest.mark.parametrize(
    ("local", "open_"),
    [
        ("2027-02-05T07:59", False),
        ("2027-02-05T08:00", True),
        ("2027-02-05T11:59", True),
        ("2027-02-05T12:00", False),  # the half day is over
        ("2027-02-05T19:00", False),
        ("2027-02-04T19:00", True),  # the day before: regular hours
        ("2027-02-20T08:30", False),
        ("2027-02-20T09:00", True),  # a Saturday that opens
        ("2027-02-20T17:00", False),
        ("2027-02-13T10:00", False),  # an ordinary Saturday
        ("2027-02-09T10:00", False),  # a Tuesday closed
        ("2027-02-08T10:30", True),
        ("2027-02-08T12:00", False),
    ],
)
def test_a_special_day_keeps_its_own_hours(local: str, open_: bool) -> None:
    assert is_open(at(local), HOURS, TZ) is open_


def test_the_day_s_hours_are_told() -> None:
    assert special_today(at("2027-02-05T13:00"), HOURS, TZ) == ("08:00", "12:00")
    assert special_today(at("2027-02-09T13:00"), HOURS, TZ) is None  # closed: nothing to tell
    assert special_today(at("2027-02-04T21:00"), HOURS, TZ) is None
    assert hours_on(datetime(2027, 2, 9).date(), HOURS) is None


@pytest.mark.parametrize(
    ("day", "span", "named"),
    [
        ("2027-02-30", "08:00-12:00", "business_hours.special_days.2027-02-30"),
        ("Feb 5", "08:00-12:00", "business_hours.special_days.Feb 5"),
        ("2027-02-05", "8-12", "business_hours.special_days.2027-02-05"),
        ("2027-02-05", "12:00-08:00", "business_hours.special_days.2027-02-05"),
        ("2027-02-05", "08:00-24:00", "business_hours.special_days.2027-02-05"),
        ("2027-02-05", "shut", "business_hours.special_days.2027-02-05"),
    ],
)
def test_a_bad_special_day_is_refused_naming_its_key(day: str, span: str, named: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_engine_settings({"business_hours.special_days": {day: span}}, environ={})
    assert f"'{named}'" in str(refused.value)


def test_a_special_day_that_is_not_a_string_is_refused_naming_its_key() -> None:
    with pytest.raises(SettingsError, match="business_hours.special_days.2027-02-05"):
        load_engine_settings({"business_hours.special_days": {"2027-02-05": 12}}, environ={})


def test_special_days_load_from_the_config_file(tmp_path: Path) -> None:
    shipped = DEFAULT_CONFIG.read_text(encoding="utf-8")
    assert "\nspecial_days = {}\n" in shipped
    config = tmp_path / "silverline.toml"
    config.write_text(
        shipped.replace(
            "\nspecial_days = {}\n",
            '\nspecial_days = { "2027-02-05" = "08:00-12:00", "2027-02-06" = "closed" }\n',
        ),
        encoding="utf-8",
    )
    settings = load_engine_settings(environ={}, config_path=config)
    assert settings.business_hours.special_days == {
        "2027-02-05": "08:00-12:00",
        "2027-02-06": "closed",
    }
