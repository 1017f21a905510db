"""The Flask-free engine: everything routing/ offers, built from a Redis client and a clock."""

from __future__ import annotations

from routing.agents import Agents
from routing.callbacks import CallbackRequests
from routing.clock import Clock
from routing.complaints import ComplaintBox
from routing.directory import Directory
from routing.keys import Keys
from routing.recorder import Recorder
from routing.router import Router
from routing.settings import Settings
from routing.statsquery import Stats
from routing.store import RedisClient
from routing.users import Users
from routing.wrapup import WrapUps


class Engine:
    """Bundle of the engine's parts; the web app, the CLI and the simulator each build one."""

    def __init__(self, redis: RedisClient, clock: Clock, settings: Settings) -> None:
        self.redis = redis
        self.clock = clock
        self.settings = settings
        self.keys = Keys(settings.redis.key_prefix)
        self.directory = Directory(redis, clock, settings, self.keys)
        self.callbacks = CallbackRequests(redis, clock, self.keys)
        self.complaints = ComplaintBox(redis, clock, self.keys)
        self.stats = Stats(redis, clock, settings, self.keys)
        self.agents = Agents(redis, clock, settings, self.keys)
        self.router = Router(self.agents)
        self.recorder = Recorder(self.agents.script, clock)
        self.users = Users(redis, clock, self.keys, settings.auth.login_attempts)
        self.wrap_ups = WrapUps(redis, clock, self.keys, settings)
