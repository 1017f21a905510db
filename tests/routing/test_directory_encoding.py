"""The directory's compact storage on each Redis found here (the wheel's 6.2, Debian's 7.x):
with the embedded server's hash settings a bucket stays one small ziplist (6.2) or listpack
(7), which the memory figure in BENCHMARKS.md relies on; Redis's defaults do not keep it so."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import redis

from ivr.runtime.redis_process import RedisProcess
from routing.callers.caller import Customer
from routing.callers.directory import Directory
from routing.clock import FixedClock
from routing.keys import Keys
from routing.settings import load_engine_settings

EMBEDDED = ("--hash-max-ziplist-entries", "1024", "--hash-max-ziplist-value", "128")
PER_BUCKET = 600  # a bucket of a six-million-customer directory; above Redis's default 512
BUCKETS = 3
NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)


@contextmanager
def filled(tmp_path: Path, binary: str, *options: str) -> Iterator[redis.Redis]:
    """A server of `binary` with `options`, holding BUCKETS full buckets of customers."""
    server = RedisProcess(tmp_path / "redis", "--appendonly", "no", *options, binary=binary)
    server.start()
    try:
        with redis.Redis.from_url(server.url, decode_responses=True) as client:
            directory = Directory(client, FixedClock(NOW), load_engine_settings(), Keys())
            directory.save_many(
                [
                    Customer(n, "陈婉仪", date(1950, 1, 2), None, (n,))
                    for b in range(BUCKETS)
                    for n in [f"+86138{i:04d}{b:04d}" for i in range(PER_BUCKET)]
                ]
            )
            yield client
    finally:
        server.stop()


def buckets(client: redis.Redis) -> list[str]:
    found = sorted(client.scan_iter(match="*dir*"))
    assert len(found) == BUCKETS, found
    return found


def test_with_the_embedded_settings_each_bucket_is_compact(
    tmp_path: Path, redis_binary: str
) -> None:
    with filled(tmp_path, redis_binary, *EMBEDDED) as client:
        major = int(client.info("server")["redis_version"].split(".")[0])
        compact = "listpack" if major >= 7 else "ziplist"
        keys = buckets(client)
        assert {client.object("encoding", k) for k in keys} == {compact}
        used = sum(int(client.memory_usage(k, samples=0) or 0) for k in keys)
        # measured: 28.1 bytes a customer on 6.2.14, 34.2 on 7.0.15 (hashtables: 92.8, 85.8)
        assert used / (BUCKETS * PER_BUCKET) < 40


def test_with_redis_s_defaults_a_full_bucket_is_a_hashtable(
    tmp_path: Path, redis_binary: str
) -> None:
    with filled(tmp_path, redis_binary) as client:
        keys = buckets(client)
        assert {client.object("encoding", k) for k in keys} == {"hashtable"}
        used = sum(int(client.memory_usage(k, samples=0) or 0) for k in keys)
        assert used / (BUCKETS * PER_BUCKET) > 60
