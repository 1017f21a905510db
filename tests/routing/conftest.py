"""Routing tests' helpers, defined once: a `Desk` (router, agents, stream, clock), callers."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import pytest

from routing.callers.caller import Caller
from routing.clock import FixedClock
from routing.keys import Keys
from routing.queues.agents import Agent, Agents
from routing.queues.router import Router
from routing.queues.routing_script import RoutingLua, RoutingScript
from routing.settings import EngineSettings, load_engine_settings
from routing.store import RedisClient


@dataclass
class Desk:
    """A router with its agents, recorder stream and clock, for one test."""

    r: RedisClient
    clock: FixedClock
    keys: Keys
    agents: Agents
    router: Router

    def agent(self, aid: str, skills: str = "", dialects: str = "mandarin") -> Agent:
        """Add an agent and make them available."""
        a = Agent(
            aid, aid.upper(), f"client:{aid}", frozenset(skills.split()), tuple(dialects.split())
        )
        self.agents.save(a)
        self.router.set_agent_state(aid, "available")
        return a

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Recorded events (from the statistics stream), oldest first."""
        entries = self.r.xrange(self.keys.stats_events())
        return [f for _, f in entries if kind is None or f["kind"] == kind]


@functools.cache
def default_settings() -> EngineSettings:
    return load_engine_settings()


def build(r: RedisClient, clock: FixedClock, prefix: str = "sl", **overrides: Any) -> Desk:
    settings = load_engine_settings(overrides) if overrides else default_settings()
    keys = Keys(prefix)
    script = RoutingScript(r, RoutingLua(settings, keys))
    agents = Agents(r, clock, settings, keys, script)
    router = Router(agents, script)
    return Desk(r, clock, keys, agents, router)


def caller(
    dialect: str = "mandarin", senior: bool = False, number: str = "+8613800138000"
) -> Caller:
    return Caller("", number, None, 75 if senior else 40, dialect, senior)


@pytest.fixture
def desk(r: RedisClient, clock: FixedClock) -> Desk:
    return build(r, clock)
