"""A master, a replica and three sentinels from one redis-server binary, for the failover tests."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import redis

from ivr.runtime.embedded import free_port
from ivr.runtime.redis_process import RedisProcess
from tests.helpers.processes import until

MASTER = "hotline"
# Sentinel calls a master down after this much silence, then needs a vote and a promotion:
# a second keeps the tests short and is far below anything an operator would set (30 s is
# Sentinel's default; docs/deploy.md says what the window costs).
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000


class LocalSentinels:
    """A master and its replica, watched by three sentinels (quorum two), on loopback."""

    def __init__(
        self, workdir: Path, binary: str | None = None, *options: str, password: str = ""
    ) -> None:
        """`password`: the data nodes ask for it (requirepass) and the sentinels give it."""
        self.workdir = workdir
        self.binary = binary
        self.password = password
        auth = ("--requirepass", password, "--masterauth", password) if password else ()
        self.options = (*options, *auth)
        self.master = self._data("master")
        self.replica = self._data("replica", "--replicaof", "127.0.0.1", str(self.master.port))
        self.sentinels = [self._sentinel(i) for i in range(3)]

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis+sentinel://{auth}{hosts}/{MASTER}/0"

    def start(self) -> str:
        """Start every process; return the URL once the replica has synchronised."""
        self.master.start()
        self.replica.start()
        for sentinel in self.sentinels:  # each returns once it monitors the master
            sentinel.start()
        with self.data_client(self.replica.port) as replica:
            until(lambda: replica.info("replication")["master_link_status"] == "up", "no sync")
        with self.sentinel_client() as one:
            # A failover needs the sentinels to know each other and the replica (by hello
            # messages, every two seconds): only then can two of them vote one in.
            until(lambda: _ready(one.sentinel_master(MASTER)), "the sentinels did not gather")
        return self.url

    def data_client(self, port: int) -> redis.Redis:
        return redis.Redis(port=port, password=self.password or None, decode_responses=True)

    def sentinel_client(self, which: int = 0) -> redis.Redis:
        return redis.Redis(port=self.sentinels[which].port, decode_responses=True)

    def master_port(self) -> int:
        """The port of the master the sentinels name now."""
        with self.sentinel_client() as one:
            return int(one.sentinel_get_master_addr_by_name(MASTER)[1])

    def stop(self) -> None:
        for proc in (*self.sentinels, self.replica, self.master):
            if proc.proc is not None:
                proc.stop()

    def _data(self, name: str, *options: str) -> RedisProcess:
        opts = ("--appendonly", "no", *self.options, *options)
        return RedisProcess(self.workdir / name, *opts, binary=self.binary)

    def _sentinel(self, index: int) -> RedisProcess:
        folder = self.workdir / f"sentinel{index}"
        folder.mkdir(parents=True)
        config = folder / "sentinel.conf"  # a sentinel rewrites its file: one each
        config.write_text(
            f"sentinel monitor {MASTER} 127.0.0.1 {self.master.port} 2\n"
            f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER} {FAILOVER_TIMEOUT_MS}\n"
            + (f"sentinel auth-pass {MASTER} {self.password}\n" if self.password else "")
        )
        return RedisProcess(
            folder,
            "--sentinel",
            port=free_port(),
            binary=self.binary,
            config=config,
            ready="+monitor master",
        )


def _ready(state: dict[str, object]) -> bool:
    return int(str(state["num-slaves"])) >= 1 and int(str(state["num-other-sentinels"])) >= 2
