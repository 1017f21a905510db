"""Make the Redis client every part of Silverline shares, from a URL.

`redis+sentinel://[[user]:password@]host:port[,host:port...]/MASTER_NAME[/db]` reaches the
master through Sentinel (redis-py's `redis.sentinel.Sentinel`): every new connection asks a
sentinel where the master is, and a pool whose master moved drops its idle connections, so a
failover is followed without a restart. The password is the data nodes'; sentinels that ask
for one of their own take `?sentinel_password=...`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry
from redis.sentinel import Sentinel, SentinelConnectionPool

from routing.exceptions import SettingsError

RedisClient = Any  # redis.Redis or RedisCluster; both speak the same commands we use
SENTINEL_SCHEME = "redis+sentinel"
_SENTINEL_FORM = "redis+sentinel://[:password@]host:port[,host:port...]/MASTER_NAME[/db]"


@dataclass(frozen=True)
class SentinelUrl:
    """What a `redis+sentinel://` URL names."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None


class _SentinelMaster(redis.Redis):
    """The master's client; closing it closes the clients of the sentinels it asks too."""

    def close(self) -> None:
        """Close the master's connections and the sentinels'."""
        pool = self.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        manager: Sentinel = pool.sentinel_manager
        super().close()
        manager.close()


def connect(url: str, *, cluster: bool = False, socket_timeout: float = 0.5) -> RedisClient:
    """Return a client for `url` (nothing is sent until the first command).

    A webhook must fall back to a human within Twilio's 15 s, so a dead or hung Redis may cost
    it at most one `socket_timeout`: a refused or dropped connection is retried once at once (a
    pooled connection goes stale when Redis restarts), a timeout is not retried at all.
    """
    options: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_timeout,
        "decode_responses": True,
        "health_check_interval": 30,
        "retry": Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
    }
    if url.startswith(f"{SENTINEL_SCHEME}://"):
        if cluster:
            raise SettingsError("redis.cluster cannot be used with a redis+sentinel:// URL")
        return _through_sentinel(parse_sentinel_url(url), options)
    if cluster:
        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


def parse_sentinel_url(url: str) -> SentinelUrl:
    """Read a `redis+sentinel://` URL; a malformed one is a SettingsError naming the form."""
    parts = urlsplit(url)
    userinfo, _, hosts = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    path = [p for p in parts.path.split("/") if p]
    try:
        sentinels = tuple(_host_port(h) for h in hosts.split(","))
        db = int(path[1]) if len(path) == 2 else 0
        if parts.scheme != SENTINEL_SCHEME or len(path) not in (1, 2) or db < 0:
            raise ValueError
    except ValueError:
        raise SettingsError(f"redis.url (REDIS_URL) must be {_SENTINEL_FORM}") from None
    query = parse_qs(parts.query)
    return SentinelUrl(
        sentinels,
        unquote(path[0]),
        db,
        unquote(user) or None,
        unquote(password) or None,
        query.get("sentinel_password", [None])[0],
    )


def _host_port(text: str) -> tuple[str, int]:
    host, _, port = text.strip().rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(text)
    return host.strip("[]"), int(port)


def _through_sentinel(found: SentinelUrl, options: dict[str, Any]) -> RedisClient:
    # A sentinel gets the same short timeouts: master discovery asks them one after another,
    # so a dead one costs a webhook at most one more `socket_timeout` before the next answers.
    asked = {k: v for k, v in options.items() if k.startswith("socket_")}
    if found.sentinel_password:
        asked["password"] = found.sentinel_password
    sentinel = Sentinel(list(found.sentinels), sentinel_kwargs=asked)
    return sentinel.master_for(
        found.master,
        redis_class=_SentinelMaster,
        db=found.db,
        username=found.username,
        password=found.password,
        **options,
    )


def server_version(client: RedisClient) -> str:
    """Return the server's version string (one round trip)."""
    info = client.info("server")
    if isinstance(info, dict) and "redis_version" in info:
        return str(info["redis_version"])
    # RedisCluster answers per node: take any node's version.
    first = next(iter(info.values())) if isinstance(info, dict) else {}
    return str(first.get("redis_version", "unknown")) if isinstance(first, dict) else "unknown"
