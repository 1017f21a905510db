"""What `silverline serve` checks of the Redis it is given before the first caller: it refuses
one that evicts, naming the setting and the fix, and warns about persistence switched off and
hash encodings the directory relies on, in the names each Redis version uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from ivr.runtime.doctor import check_store
from ivr.runtime.embedded import free_port
from ivr.runtime.redis_process import RedisProcess, installed_servers
from routing.exceptions import SettingsError
from tests.served import BOOTED, WITHIN_S, Served

pytestmark = pytest.mark.wall_clock  # real servers or processes: `make unit` runs it apart

# The embedded server's settings (ivr/runtime/embedded.py): nothing to warn about.
EMBEDDED = ("--appendonly", "yes", "--hash-max-ziplist-entries", "1024",
            "--hash-max-ziplist-value", "128")  # fmt: skip


@contextmanager
def started(tmp_path: Path, binary: str, *options: str) -> Iterator[redis.Redis]:
    """A redis-server of `binary` with `options`, and a client of it; both closed after."""
    server = RedisProcess(tmp_path / "redis", *options, binary=binary)
    server.start()
    try:
        with redis.Redis.from_url(server.url, decode_responses=True) as client:
            yield client
    finally:
        server.stop()


def test_an_evicting_redis_is_refused_with_the_setting_and_its_fix(
    tmp_path: Path, redis_binary: str
) -> None:
    with started(tmp_path, redis_binary, *EMBEDDED, "--maxmemory-policy", "allkeys-lru") as client:
        with pytest.raises(SettingsError) as refused:
            check_store(client)
        said = str(refused.value)
        assert "maxmemory-policy allkeys-lru" in said
        assert "CONFIG SET maxmemory-policy noeviction" in said


def test_the_embedded_settings_raise_no_warning(tmp_path: Path, redis_binary: str) -> None:
    with started(tmp_path, redis_binary, *EMBEDDED) as client:
        assert check_store(client) == []


def test_persistence_off_and_default_hashes_warn_in_the_servers_own_names(
    tmp_path: Path, redis_binary: str
) -> None:
    with started(tmp_path, redis_binary, "--appendonly", "no") as client:
        version = int(client.info("server")["redis_version"].split(".")[0])
        warned = {c.name: c for c in check_store(client)}
        assert set(warned) == {"redis persistence", "redis hashes"}
        assert "appendonly yes" in warned["redis persistence"].fix
        name = "listpack" if version >= 7 else "ziplist"
        fix = warned["redis hashes"].fix
        assert f"hash-max-{name}-entries 1024" in fix and f"hash-max-{name}-value 128" in fix


def test_only_the_short_hash_setting_is_named(tmp_path: Path, redis_binary: str) -> None:
    options = (*EMBEDDED[:4], "--hash-max-ziplist-value", "64")
    with started(tmp_path, redis_binary, *options) as client:
        [hashes] = check_store(client)
        assert "value 128" in hashes.fix and "entries" not in hashes.fix


def test_serve_refuses_an_evicting_redis_before_it_listens(tmp_path: Path) -> None:
    with started(tmp_path, installed_servers()[min(installed_servers())]) as client:
        client.config_set("maxmemory-policy", "volatile-lru")
        url = f"redis://127.0.0.1:{client.connection_pool.connection_kwargs['port']}/0"
        served = Served(free_port(), url, tmp_path / "spool")
        try:
            with pytest.raises(AssertionError, match="the server exited"):
                served.wait_for(BOOTED)  # an old server went on to boot its workers
            code = served.proc.wait(timeout=WITHIN_S)
        finally:
            served.kill()
        log = "".join(served.log)
        assert code == 1, log
        assert "maxmemory-policy volatile-lru" in log and "noeviction" in log
