"""Return-visit campaigns: the list import, calling hours in the customer's time zone,
holidays, retries due, pausing and the do-not-call list."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from routing.clock import FixedClock
from routing.keys import Keys
from routing.outbound.campaigns import Campaign, CampaignError, Campaigns
from routing.settings import load_engine_settings
from routing.store import RedisClient
from tests.conftest import T0  # a Monday, 10:00 in Shanghai

LOAN = Campaign("loan-2026-11", "保单贷款确认 policy loan confirmation", "09:00-17:00")


def campaigns(r: RedisClient, clock: FixedClock, **overrides: object) -> Campaigns:
    return Campaigns(r, clock, load_engine_settings(overrides or None), Keys("sl"))


def csv_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "list.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_list_with_a_bad_row_writes_nothing_and_names_the_line(
    r: RedisClient, clock: FixedClock, tmp_path: Path
) -> None:
    c = campaigns(r, clock)
    path = csv_file(
        tmp_path, "number,name\n13800138000,陈伯\nnot-a-number,王姨\n13800138000,又一次\n"
    )
    report = c.add(LOAN, path)
    assert not report.written and c.get(LOAN.name) is None
    assert [(p.line, p.reason) for p in report.problems] == [
        (3, "number 'not-a-number' is not a phone number one can call"),
        (4, "+8613800138000 is listed twice (line 2)"),
    ]
    assert r.keys("*campaign*") == []
    skipped = c.add(LOAN, path, skip_invalid=True)
    assert skipped.written and skipped.added == 1
    [target] = c.targets(LOAN.name)
    assert (target.number, target.name, target.outcome) == ("+8613800138000", "陈伯", "pending")


def test_a_header_without_number_and_bad_settings_are_refused(
    r: RedisClient, clock: FixedClock, tmp_path: Path
) -> None:
    c = campaigns(r, clock)
    with pytest.raises(CampaignError, match="the header must name number"):
        c.add(LOAN, csv_file(tmp_path, "phone,name\n13800138000,陈伯\n"))
    path = csv_file(tmp_path, "number\n13800138000\n")
    with pytest.raises(CampaignError, match="--hours must be HH:MM-HH:MM"):
        c.add(Campaign("x", "why", "17:00-09:00"), path)
    with pytest.raises(CampaignError, match="--reason"):
        c.add(Campaign("x", " ", "09:00-17:00"), path)
    c.add(LOAN, path)
    with pytest.raises(CampaignError, match="exists already"):
        c.add(LOAN, path)


def test_customers_are_due_only_in_hours_in_their_own_time_zone(
    r: RedisClient, clock: FixedClock, tmp_path: Path
) -> None:
    c = campaigns(r, clock)
    # Shanghai and New York (where it is 21:00 the evening before at T0)
    c.add(LOAN, csv_file(tmp_path, "number\n13800138000\n+12125550100\n"))
    assert [t.number for t in c.due(LOAN.name)] == ["+8613800138000"]
    clock.advance(12 * 3600)  # 22:00 in Shanghai, 09:00 in New York
    assert [t.number for t in c.due(LOAN.name)] == ["+12125550100"]
    assert str(c.customer_tz("+12125550100")) == "America/New_York"


def test_a_paused_campaign_a_holiday_and_do_not_call_dial_nobody(
    r: RedisClient, clock: FixedClock, tmp_path: Path
) -> None:
    today = T0.date().isoformat()
    c = campaigns(r, clock)
    c.add(LOAN, csv_file(tmp_path, "number\n13800138000\n13900139000\n"))
    c.set_state(LOAN.name, "paused")
    assert c.due(LOAN.name) == []
    c.set_state(LOAN.name, "active")
    c.forbid("139 0013 9000")
    assert [t.number for t in c.due(LOAN.name)] == ["+8613800138000"]
    on_holiday = campaigns(r, clock, **{"business_hours.holidays": [today]})
    assert on_holiday.due(LOAN.name) == []
    clock.advance(timedelta(days=1).total_seconds())
    assert [t.number for t in on_holiday.due(LOAN.name)] == ["+8613800138000"]


def test_progress_counts_customers_by_outcome(
    r: RedisClient, clock: FixedClock, tmp_path: Path
) -> None:
    c = campaigns(r, clock)
    c.add(LOAN, csv_file(tmp_path, "number\n13800138000\n13900139000\n"))
    assert c.progress(LOAN.name) == {
        "pending": 2, "confirmed": 0, "escalate": 0, "wrong_person": 0,
        "call_back_later": 0, "refused": 0, "failed": 0, "reached": 0, "total": 2,
    }  # fmt: skip


def test_a_customer_spoken_to_is_reached_before_the_agent_codes_the_outcome(
    r: RedisClient, clock: FixedClock, tmp_path: Path
) -> None:
    c = campaigns(r, clock)
    c.add(LOAN, csv_file(tmp_path, "number\n13800138000\n13900139000\n"))
    c.started(LOAN, "+8613800138000", "VS1", "a01")
    c.attempt_over(LOAN.name, "+8613800138000", "VS1", "talked")  # not coded yet
    c.started(LOAN, "+8613900139000", "VS2", "a02")
    c.attempt_over(LOAN.name, "+8613900139000", "VS2", "voicemail")
    progress = c.progress(LOAN.name)
    assert (progress["pending"], progress["reached"]) == (2, 1)
    c.record_outcome(LOAN.name, "+8613800138000", "VS1", "confirmed")
    progress = c.progress(LOAN.name)
    assert (progress["pending"], progress["confirmed"], progress["reached"]) == (1, 1, 1)
