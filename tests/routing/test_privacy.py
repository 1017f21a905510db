"""Retention of personal data in the engine: what expires, and what `enforce` trims."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from routing.callers.caller import Caller, Customer
from routing.clock import FixedClock
from routing.engine import Engine
from routing.settings import load_engine_settings
from routing.store import RedisClient

SENIOR = Caller("+8613900139001", "+8613900139001", None, 72, "mandarin", True)


def engine_at(r: RedisClient, when: datetime, **privacy: int) -> Engine:
    overrides = {f"privacy.{k}": v for k, v in privacy.items()}
    return Engine(r, FixedClock(when), load_engine_settings(overrides))


def test_a_call_record_expires_the_configured_hours_after_its_last_change(r: RedisClient) -> None:
    now = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    eng = engine_at(r, now, call_record_hours=6)
    eng.router.arrive("CA1", SENIOR, "senior")
    expiry_ms = r.zscore(eng.keys.routing_call_expiry(), "CA1")
    assert expiry_ms == (now + timedelta(hours=6)).timestamp() * 1000


def test_enforce_trims_events_and_call_back_requests_past_their_retention(
    r: RedisClient,
) -> None:
    now = datetime.now(UTC)  # stream ids are Redis's own (wall) time
    eng = engine_at(r, now, event_days=1, callback_days=2)
    events = eng.keys.stats_events()
    r.xadd(events, {"kind": "wrap_up", "call": "CA1", "note": "call back 13900139001"})
    assert eng.callbacks.request_after_hours("CA2", SENIOR)
    assert eng.privacy.enforce() == {"events": 0, "callback_requests": 0}  # all recent

    later = engine_at(r, now + timedelta(days=1, minutes=1), event_days=1, callback_days=2)
    assert later.privacy.enforce() == {"events": 1, "callback_requests": 0}
    assert r.xlen(events) == 0
    assert [req.call_sid for req in later.callbacks.pending()] == ["CA2"]

    last = engine_at(r, now + timedelta(days=2, minutes=1), event_days=1, callback_days=2)
    assert last.privacy.enforce() == {"events": 0, "callback_requests": 1}
    assert last.callbacks.count() == 0
    assert r.exists(last.keys.after_hours_callback("CA2")) == 0


def test_the_ticker_trims_at_most_once_a_minute(r: RedisClient) -> None:
    now = datetime.now(UTC)
    clock = FixedClock(now)
    eng = Engine(r, clock, load_engine_settings({"privacy.event_days": 1}))
    assert eng.privacy.enforce_due() == {"events": 0, "callback_requests": 0}
    r.xadd(eng.keys.stats_events(), {"kind": "entered", "call": "CA1"})
    clock.advance(30)
    assert eng.privacy.enforce_due() is None  # half a minute after the last: not yet
    clock.advance(86_400)
    assert eng.privacy.enforce_due() == {"events": 1, "callback_requests": 0}
    assert eng.privacy.enforce_due() is None


def test_a_call_back_request_expires_after_the_configured_days(r: RedisClient) -> None:
    eng = engine_at(r, datetime.now(UTC), callback_days=3)
    assert eng.callbacks.request_after_hours("CA3", SENIOR)
    ttl_s = r.ttl(eng.keys.after_hours_callback("CA3"))
    assert 3 * 86_400 - 5 <= ttl_s <= 3 * 86_400


def test_delete_forgets_the_customer_everywhere_the_engine_keeps_them(r: RedisClient) -> None:
    """The same deletion as tests/cli/test_privacy.py, on whichever store runs (a cluster too)."""
    eng = engine_at(r, datetime(2026, 11, 23, 2, 0, tzinfo=UTC))
    eng.directory.save(Customer("c9", "欧阳秀英", date(1954, 3, 1), None, (SENIOR.number or "",)))
    caller = eng.directory.identify(SENIOR.number or "", eng.clock.now())
    eng.router.arrive("CA-D", caller, "senior")
    eng.router.hangup("CA-D")
    assert eng.callbacks.request_after_hours("CA-N", caller)
    r.xadd(eng.keys.stats_events(), {"kind": "wrap_up", "call": "CA-X", "note": "欧阳秀英 回电"})
    gone = eng.privacy.delete("13900139001")
    # CA-D entered and abandoned; the note names her
    assert gone == {
        "numbers": 1, "calls": 1, "callback_requests": 1, "events": 3, "campaign_entries": 0,
    }  # fmt: skip
    assert eng.directory.lookup(SENIOR.number or "") is None
    assert eng.router.call("CA-D") is None
    assert eng.callbacks.pending() == []
    assert [f for _, f in r.xrange(eng.keys.stats_events()) if "欧阳" in f.get("note", "")] == []
