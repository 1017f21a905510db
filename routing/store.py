"""Make the Redis client every part of Silverline shares, from a URL."""

from __future__ import annotations

from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

RedisClient = Any  # redis.Redis or RedisCluster; both speak the same commands we use


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
    if cluster:
        return RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


def server_version(client: RedisClient) -> str:
    """Return the server's version string (one round trip)."""
    info = client.info("server")
    if isinstance(info, dict) and "redis_version" in info:
        return str(info["redis_version"])
    # RedisCluster answers per node: take any node's version.
    first = next(iter(info.values())) if isinstance(info, dict) else {}
    return str(first.get("redis_version", "unknown")) if isinstance(first, dict) else "unknown"
