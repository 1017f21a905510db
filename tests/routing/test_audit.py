"""The audit trail in Redis: entries newest first, `since`, and expiry after the retention."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from routing.clock import FixedClock
from routing.governance.audit import AuditTrail
from routing.keys import Keys
from routing.store import RedisClient

T0 = datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC)


@pytest.fixture
def trail(r: RedisClient, clock: FixedClock) -> AuditTrail:
    return AuditTrail(r, clock, Keys("sl"), days=30)


def test_entries_come_back_newest_first_with_who_what_where(
    trail: AuditTrail, clock: FixedClock
) -> None:
    trail.record("sign_in", "sue", "web", "10.0.0.7")
    clock.advance(60)
    trail.record("agent_state_forced", "sue", "web", "10.0.0.7", "a01", to_state="away")
    clock.advance(86_400)  # the next day's list
    trail.record("user_removed", "root", "cli", "local", "bob")
    found = trail.entries()
    assert [e.action for e in found] == ["user_removed", "agent_state_forced", "sign_in"]
    forced = found[1]
    assert (forced.by, forced.via, forced.address, forced.target) == (
        "sue",
        "web",
        "10.0.0.7",
        "a01",
    )
    assert forced.detail == {"to_state": "away"}
    assert forced.at == T0 + timedelta(seconds=60)
    assert [e.action for e in trail.entries(since=T0 + timedelta(seconds=30))] == [
        "user_removed",
        "agent_state_forced",
    ]
    assert [e.action for e in trail.entries(limit=1)] == ["user_removed"]


def test_each_day_expires_the_retention_after_it_ends(
    trail: AuditTrail, r: RedisClient, clock: FixedClock
) -> None:
    trail.record("export", "sue", "web", "10.0.0.7", "all")
    key = Keys("sl").audit_day("20261123")
    day_end = datetime(2026, 11, 24, tzinfo=UTC)
    # Redis counts expiry on its own clock (6.2 has no EXPIRETIME): compare with the wall's.
    left_s = r.pttl(key) / 1000
    assert left_s == pytest.approx((day_end + timedelta(days=30)).timestamp() - time.time(), abs=5)
    clock.advance(31 * 86_400)  # past the retention: not read even if Redis were late
    assert trail.entries() == []


def test_unknown_actions_and_channels_are_refused(trail: AuditTrail) -> None:
    with pytest.raises(ValueError, match="unknown audit action"):
        trail.record("coffee", "sue", "web", "10.0.0.7")
    with pytest.raises(ValueError, match="web or cli"):
        trail.record("sign_in", "sue", "email", "10.0.0.7")


def test_long_fields_are_cut(trail: AuditTrail) -> None:
    entry = trail.record("sign_in_failed", "x" * 5000, "web", "10.0.0.7")
    assert len(trail.entries()[0].by) == 200 == len(entry.by)
