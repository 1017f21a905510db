"""Keys that moved between releases, moved once when the app starts.

The statistics keys moved from their own `{<p>:st}` hash tag to the routing tag (the routing
script now records each decision's figures in the same call; see routing/keys.py). History
recorded before that would otherwise vanish from the dashboard and the API.
"""

from __future__ import annotations

import logging

from redis.exceptions import ResponseError

from routing.keys import Keys
from routing.store import RedisClient

log = logging.getLogger("silverline")

STATS_MOVED = "stats_under_routing_tag"  # field of Keys.meta(): "1" once the move is done


def move_statistics(redis: RedisClient, keys: Keys) -> int:
    """Move statistics keys from the old `{<p>:st}` tag to `keys.stats_prefix()`; once.

    Returns how many keys moved. DUMP and RESTORE (with the key's remaining time to live)
    work across Redis Cluster slots, where RENAME does not. A key that already exists under
    its new name is left alone, old copy included, and reported.
    """
    if redis.hget(keys.meta(), STATS_MOVED) == "1":
        return 0
    old_prefix = f"{{{keys.prefix}:st}}"
    moved = kept = 0
    for name in list(redis.scan_iter(match=f"{old_prefix}:*", count=1000)):
        new_name = keys.stats_prefix() + name[len(old_prefix) :]
        raw = redis.dump(name)
        if raw is None:  # expired meanwhile
            continue
        ttl_ms = max(int(redis.pttl(name)), 0)  # -1: no expiry, RESTORE's 0
        try:
            redis.restore(new_name, ttl_ms, raw)
        except ResponseError as exc:
            if "BUSYKEY" not in str(exc):
                raise
            kept += 1
            continue
        redis.delete(name)
        moved += 1
    if kept:
        log.warning("%d statistics keys exist under both names; the old ones were kept", kept)
    if moved:
        log.info("moved %d statistics keys under the routing hash tag", moved)
    redis.hset(keys.meta(), STATS_MOVED, "1")
    return moved
