"""Wrap-up codes: recorded once per call and agent, counted per interval and class and per
agent and day, and kept in the statistics event stream (runs on a Redis Cluster too)."""

from __future__ import annotations

import pytest

from routing.clock import FixedClock
from routing.exceptions import SettingsError
from routing.keys import Keys
from routing.queues.wrapup import NOTE_MAX_CHARS, WrapUps, csv_cell
from routing.settings import load_engine_settings
from routing.store import RedisClient


@pytest.fixture
def wrap_ups(r: RedisClient, clock: FixedClock) -> WrapUps:
    return WrapUps(r, clock, Keys("sl"), load_engine_settings())


def test_a_code_is_counted_once_per_call_and_agent(
    wrap_ups: WrapUps, r: RedisClient, clock: FixedClock
) -> None:
    assert wrap_ups.record("CA1", "a01", "claim", "", queue="senior", senior=True)
    assert not wrap_ups.record("CA1", "a01", "complaint", "", queue="senior", senior=True)
    assert wrap_ups.record("CA1", "a02", "claim", "", queue="senior", senior=True)  # transfer
    assert wrap_ups.record("CA2", "a01", "policy", " two\n words ", queue="policy", senior=False)
    interval = "20261123T1000"  # T0 is 10:00 in Asia/Shanghai
    assert wrap_ups.in_interval("senior", interval) == {"s:claim": 2}
    assert wrap_ups.by_agent(wrap_ups.today()) == {
        "a01": {"claim": 1, "policy": 1},
        "a02": {"claim": 1},
    }
    rows = wrap_ups.by_class(["senior", "policy"], [interval, "20261123T1015"])
    assert rows[0] == {
        "senior": {"claim": 2},
        "other": {"policy": 1},
        "all": {"claim": 2, "policy": 1},
    }
    assert rows[1] == {"senior": {}, "other": {}, "all": {}}
    assert csv_cell(rows[0]["all"]) == "claim=2;policy=1"
    events = [f for _, f in r.xrange(Keys("sl").stats_events())]
    assert [(e["call"], e["agent"], e["code"]) for e in events] == [
        ("CA1", "a01", "claim"),
        ("CA1", "a02", "claim"),
        ("CA2", "a01", "policy"),
    ]
    assert events[2]["note"] == "two words" and events[2]["kind"] == "wrap_up"
    assert 0 < r.pttl(Keys("sl").stats_wrap_up("senior", interval))  # expires with retention


def test_unknown_codes_and_long_notes_are_refused(wrap_ups: WrapUps, r: RedisClient) -> None:
    with pytest.raises(ValueError, match="unknown wrap-up code 'gossip'"):
        wrap_ups.record("CA1", "a01", "gossip", "", queue="senior", senior=True)
    with pytest.raises(ValueError, match=str(NOTE_MAX_CHARS)):
        wrap_ups.record("CA1", "a01", "claim", "x" * 501, queue="senior", senior=True)
    assert r.dbsize() == 0


@pytest.mark.parametrize(
    "codes",
    [
        [{"code": "Claim!", "zh": "理赔", "en": "Claim"}],
        [{"code": "claim", "zh": "理赔", "en": "Claim"}, {"code": "claim", "zh": "x", "en": "x"}],
    ],
)
def test_bad_wrap_up_codes_stop_start_up_naming_the_key(codes: list[dict[str, str]]) -> None:
    with pytest.raises(SettingsError, match="wrap_up.codes"):
        load_engine_settings({"wrap_up.codes": codes}, environ={})
