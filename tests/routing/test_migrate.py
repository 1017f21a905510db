"""Statistics recorded under the old hash tag move under the routing tag, once, losing nothing."""

from __future__ import annotations

from routing.keys import Keys
from routing.migrate import STATS_MOVED, move_statistics
from routing.store import RedisClient

OLD = "{sl:st}"


def test_old_statistics_move_with_their_contents_and_time_to_live(r: RedisClient) -> None:
    keys = Keys("sl")
    r.hset(f"{OLD}:iv:senior:20261123T1000", mapping={"s:offered": 3, "s:max_wait_ms": 9000})
    r.pexpire(f"{OLD}:iv:senior:20261123T1000", 86_400_000)
    r.hset(f"{OLD}:total:senior", mapping={"s:offered": 40})
    r.hset(f"{OLD}:call:CA1", mapping={"k:entered": 1, "outcome": "answered"})
    r.xadd(f"{OLD}:events", {"kind": "entered", "call": "CA1"})
    r.set("{sl:stats}:unrelated", "stays")

    assert move_statistics(r, keys) == 4

    moved = r.hgetall(keys.stats_interval("senior", "20261123T1000"))
    assert moved == {"s:offered": "3", "s:max_wait_ms": "9000"}
    assert 86_000_000 < r.pttl(keys.stats_interval("senior", "20261123T1000")) <= 86_400_000
    assert r.hgetall(keys.stats_total("senior")) == {"s:offered": "40"}
    assert r.pttl(keys.stats_total("senior")) == -1  # the all-time totals never expire
    assert r.hget(keys.stats_call("CA1"), "outcome") == "answered"
    assert [e["kind"] for _, e in r.xrange(keys.stats_events())] == ["entered"]
    assert not list(r.scan_iter(match=f"{OLD}:*"))
    assert r.get("{sl:stats}:unrelated") == "stays"
    assert r.hget(keys.meta(), STATS_MOVED) == "1"


def test_the_move_runs_once_and_never_overwrites(r: RedisClient) -> None:
    keys = Keys("sl")
    r.hset(keys.stats_total("general"), "o:offered", 5)  # recorded after the upgrade
    r.hset(f"{OLD}:total:general", "o:offered", 7)
    assert move_statistics(r, keys) == 0
    assert r.hget(keys.stats_total("general"), "o:offered") == "5"
    assert r.hget(f"{OLD}:total:general", "o:offered") == "7"  # kept, not lost

    r.hset(f"{OLD}:total:senior", "s:offered", 1)
    assert move_statistics(r, keys) == 0  # done once: not scanned again
    assert r.exists(f"{OLD}:total:senior") == 1
