"""The Flask-free engine: everything routing/ offers, built from a Redis client and a clock."""

from __future__ import annotations

from routing.callbacks import CallbackRequests
from routing.clock import Clock
from routing.keys import Keys
from routing.settings import Settings
from routing.store import RedisClient


class Engine:
    """Bundle of the engine's parts; the web app, the CLI and the simulator each build one."""

    def __init__(self, redis: RedisClient, clock: Clock, settings: Settings) -> None:
        self.redis = redis
        self.clock = clock
        self.settings = settings
        self.keys = Keys(settings.redis.key_prefix)
        self.callbacks = CallbackRequests(redis, clock, self.keys)
