"""The complaint queue keeps the hours read out to callers (issue 21, point 3)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from routing.exceptions import SettingsError
from routing.queues.complaints import complaints_open
from routing.settings import load_engine_settings

SETTINGS = load_engine_settings(environ={})  # complaints 09:00-18:00, the hotline 08:00-20:00


def at(local: str) -> datetime:
    return datetime.fromisoformat(local).replace(tzinfo=SETTINGS.tz).astimezone(UTC)


@pytest.mark.parametrize(
    ("local", "open_"),
    [
        ("2026-11-23T08:30", False),  # the hotline is open, complaints are not
        ("2026-11-23T09:00", True),
        ("2026-11-23T17:59", True),
        ("2026-11-23T18:00", False),
        ("2026-11-23T19:00", False),
        ("2026-11-23T23:00", False),
    ],
)
def test_complaints_are_taken_only_in_their_hours(local: str, open_: bool) -> None:
    assert complaints_open(at(local), SETTINGS) is open_


def test_a_half_day_closes_the_complaint_queue_too() -> None:
    half = load_engine_settings(
        {"business_hours.special_days": {"2026-11-23": "08:00-12:00"}}, environ={}
    )
    assert complaints_open(at("2026-11-23T11:00"), half)
    assert not complaints_open(at("2026-11-23T13:00"), half)


@pytest.mark.parametrize("bad", ["9-18", "18:00-09:00", "09:00 to 18:00", ""])
def test_bad_complaint_hours_are_refused_naming_the_key(bad: str) -> None:
    with pytest.raises(SettingsError, match="'ivr.complaint_hours'"):
        load_engine_settings({"ivr.complaint_hours": bad}, environ={})
