"""Choose the Redis the process uses: REDIS_URL when set, else the embedded server."""

from __future__ import annotations

import atexit

from ivr.runtime.embedded import EmbeddedRedis
from routing.settings import PROJECT_ROOT, Settings
from routing.store import RedisClient, connect


def embedded_for(settings: Settings) -> EmbeddedRedis:
    data_dir = settings.redis.data_dir
    if not data_dir.startswith("/"):
        data_dir = str(PROJECT_ROOT / data_dir)
    return EmbeddedRedis(data_dir, appendfsync=settings.redis.appendfsync)


def open_store(settings: Settings) -> tuple[RedisClient, str]:
    """Return a client and the URL it talks to, starting the embedded server when needed.

    A process that starts or joins the embedded server stays one of its users until it exits;
    the last user to exit shuts it down.
    """
    url = settings.redis.url
    if not url:
        server = embedded_for(settings)
        url = server.acquire()
        atexit.register(server.release)
    client = connect(
        url, cluster=settings.redis.cluster, socket_timeout=settings.redis.socket_timeout
    )
    return client, url
