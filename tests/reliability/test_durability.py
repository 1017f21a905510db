"""The embedded Redis is SIGKILLed and restarted: directory and statistics come back from the AOF.

What can be lost depends on who dies. Redis writes its append-only buffer to the file before it
replies to a command, whatever the fsync policy, so a killed *process* loses no acknowledged
write: the bytes are in the kernel's page cache and the restarted server reads them back. Only
a dead *machine* loses what was never fsynced: nothing with `always`, about the last second
with `everysec` (docs/deploy.md). The tests show both halves deterministically: after every
acknowledged write the file on disk already holds it (its size equals the server's own count of
AOF bytes), and after SIGKILL and a restart every record and every figure is back.
"""

from __future__ import annotations

import os
import signal
from datetime import date
from pathlib import Path

import pytest

from ivr.runtime.embedded import EmbeddedRedis
from ivr.settings import load_settings
from routing.callers.caller import Customer
from routing.clock import FixedClock
from routing.engine import Engine
from routing.reporting.queue_stats import Stats
from routing.store import RedisClient, connect
from tests.conftest import T0

CUSTOMERS = 200
CALLS = 150


def _engine(url: str, clock: FixedClock) -> Engine:
    return Engine(connect(url), clock, load_settings(environ={}))


def _aof_on_disk_matches_server(server: EmbeddedRedis, client: RedisClient) -> None:
    """Every byte the server counts as appended is already in the file (written, maybe not
    fsynced): a process kill cannot lose it."""
    info = client.info("persistence")
    assert info["aof_enabled"] == 1 and info["aof_rewrite_in_progress"] == 0
    assert os.path.getsize(server.dir / "appendonly.aof") == info["aof_current_size"]


def _kill_and_restart(server: EmbeddedRedis) -> str:
    pid = server._pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    server._wait_gone(pid)
    assert not server._answers()
    return EmbeddedRedis(server.dir, appendfsync=server.appendfsync).ensure_running()


def _figures(engine: Engine) -> dict[str, object]:
    stats = Stats(engine.redis, engine.clock, engine.settings, engine.keys)
    return {
        "totals": {q: {c: f.as_dict() for c, f in v.items()} for q, v in stats.totals().items()},
        "day": {q: {c: f.as_dict() for c, f in v.items()} for q, v in stats.day().items()},
    }


@pytest.mark.parametrize("appendfsync", ["configured", "always"])
def test_sigkill_loses_no_acknowledged_record_or_figure(tmp_path: Path, appendfsync: str) -> None:
    configured = load_settings(environ={}).redis.appendfsync
    policy = configured if appendfsync == "configured" else appendfsync
    assert policy in ("everysec", "always")
    server = EmbeddedRedis(tmp_path / "r", appendfsync=policy)
    clock = FixedClock(T0)
    eng = _engine(server.ensure_running(), clock)
    try:
        for i in range(CUSTOMERS):
            born = date(1940 + i % 40, 1 + i % 12, 1 + i % 28)
            phone = f"+86138{i:08d}"
            eng.directory.save(Customer(f"c{i}", f"客户{i}", born, None, (phone,)))
        _aof_on_disk_matches_server(server, eng.redis)
        for i in range(CALLS):
            sid = f"CA{i:032d}"
            senior, queue = i % 3 == 0, "senior" if i % 3 == 0 else "general"
            kw = {"queue": queue, "senior": senior, "dialect": "mandarin"}
            eng.recorder.record("entered", sid, **kw)
            if i % 5 == 4:
                eng.recorder.record("abandoned", sid, wait_s=12.0 + i % 7, **kw)
            else:
                eng.recorder.record("answered", sid, agent="a1", wait_s=float(i % 40), **kw)
                eng.recorder.record("completed", sid, agent="a1", **kw)
            if i % 50 == 49:  # checked as it goes, not only at the end
                _aof_on_disk_matches_server(server, eng.redis)
        before = _figures(eng)
        events = eng.redis.xlen(eng.keys.stats_events())
        assert before["totals"]["all"]["all"]["offered"] == CALLS  # type: ignore[index]

        back = _engine(_kill_and_restart(server), clock)
        for i in range(CUSTOMERS):
            found = back.directory.lookup(f"+86138{i:08d}")
            assert found is not None and found.name == f"客户{i}", i
        assert _figures(back) == before
        assert back.redis.xlen(back.keys.stats_events()) == events
    finally:
        server.stop()


def test_the_embedded_server_uses_the_configured_fsync_policy(tmp_path: Path) -> None:
    settings = load_settings(environ={})
    server = EmbeddedRedis(tmp_path / "r", appendfsync=settings.redis.appendfsync)
    client = connect(server.ensure_running())
    try:
        assert client.config_get("appendfsync") == {"appendfsync": settings.redis.appendfsync}
        assert client.config_get("appendonly") == {"appendonly": "yes"}
    finally:
        server.stop()
