"""The return-visit attempt log with several writers at once: every server's ticker starts
visits, and an attempt's status callback, dial action and wrap-up may reach different servers
together. Each step is one transaction on the customer's entry, so none overwrites another's."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from redis.cluster import RedisCluster

from routing.clock import FixedClock
from routing.keys import Keys
from routing.outbound.campaigns import Campaign, Campaigns
from routing.settings import load_engine_settings
from routing.store import RedisClient, connect

LOAN = Campaign("loan-2026-11", "policy loan confirmation", "00:00-23:59", attempts=10)
NUMBER = "+8613800138000"
STEPS = 150  # per server; read-change-write lost 65 of the 300 lines in one run


def servers(r: RedisClient, redis_url: str, clock: FixedClock, tmp_path: Path) -> list[Campaigns]:
    """The campaign list as two servers see it: one client each, on the same Redis."""
    settings, keys = load_engine_settings(), Keys("sl")
    other = connect(redis_url, cluster=isinstance(r, RedisCluster), socket_timeout=5.0)
    made = [Campaigns(r, clock, settings, keys), Campaigns(other, clock, settings, keys)]
    path = tmp_path / "list.csv"
    path.write_text(f"number,name\n{NUMBER},陈伯\n", encoding="utf-8")
    assert made[0].add(LOAN, path).written
    return made


def together(*work: Callable[[], None]) -> None:
    """Run each of `work` in a thread of its own, started at the same moment; re-raise."""
    start = threading.Barrier(len(work))
    failed: list[BaseException] = []

    def run(step: Callable[[], None]) -> None:
        start.wait()
        try:
            step()
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test's thread)
            failed.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]


def test_two_servers_logging_attempts_at_once_lose_no_line(
    r: RedisClient, redis_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    a, b = servers(r, redis_url, clock, tmp_path)
    try:
        together(
            lambda: [a.started(LOAN, NUMBER, f"VSa{i}", "a01") for i in range(STEPS)] and None,
            lambda: [b.started(LOAN, NUMBER, f"VSb{i}", "a02") for i in range(STEPS)] and None,
        )
        [target] = a.targets(LOAN.name)
        assert len(target.log) == 2 * STEPS
        assert target.attempts == 2 * STEPS
    finally:
        b.redis.close()


def test_an_attempt_s_end_and_its_wrap_up_on_two_servers_both_stay(
    r: RedisClient, redis_url: str, clock: FixedClock, tmp_path: Path
) -> None:
    a, b = servers(r, redis_url, clock, tmp_path)
    try:
        sids = [f"VS{i}" for i in range(STEPS)]
        for sid in sids:
            a.started(LOAN, NUMBER, sid, "a01")
        # one server hears how each call ended while the other takes the agents' wrap-ups of
        # earlier calls: each changes a different line of the same entry
        together(
            lambda: [a.attempt_over(LOAN.name, NUMBER, s, "no-answer") for s in sids[::2]] and None,
            lambda: (
                [b.record_outcome(LOAN.name, NUMBER, s, "escalate") for s in sids[1::2]] and None
            ),
        )
        [target] = a.targets(LOAN.name)
        outcomes = [e["outcome"] for e in target.log]
        assert outcomes == ["no-answer", "escalate"] * (STEPS // 2)
    finally:
        b.redis.close()
