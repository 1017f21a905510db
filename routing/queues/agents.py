"""Agents: who they are, how to reach them, what they can take, and what they are doing now."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

from redis.exceptions import RedisError

from routing.clock import Clock, epoch_ms
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.queues.routing_script import RoutingScript
from routing.settings import EngineSettings
from routing.store import RedisClient

AgentState = Literal["offline", "available", "offered", "on_call", "wrap_up", "away"]
AGENT_STATES: tuple[str, ...] = get_args(AgentState)
SETTABLE_STATES = ("available", "away", "offline")  # the rest follow from calls
# Agent ids become Twilio Client identities (client:<id>, the default contact), which the Voice
# SDKs take as letters, digits and underscore (Twilio moved its own samples from user-jane to
# user_jane; error 31105 refuses delimiter characters: https://www.twilio.com/docs/api/errors/31105).
_ID = re.compile(r"^[a-z0-9][a-z0-9_]{0,31}$")
_IDENTITY = re.compile(r"^client:[A-Za-z0-9_]{1,256}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass(frozen=True)
class Agent:
    id: str  # short slug, e.g. "a01"
    name: str  # display name, e.g. "王丽"
    contact: str  # "client:a01" (Twilio Client identity) or an E.164 number
    skills: frozenset[str]  # "senior" (senior-trained) and topic skills: policy, claims, ...
    dialects: tuple[str, ...]  # spoken; the first is the language of the agent's whisper
    auto_answer: bool = False  # their phone picks up by itself, with a short tone (a headset)
    # keeps an open line while signed in: a leg waiting in their own room, which a caller
    # joins with no ringing (docs/time-to-human.md, "Open lines"); billed while idle
    persistent: bool = False

    @property
    def senior_trained(self) -> bool:
        return "senior" in self.skills


@dataclass(frozen=True)
class AgentStatus:
    state: AgentState
    since: datetime
    call_sid: str  # the caller offered to or talking with the agent; "" when none
    missed: int  # offers missed in a row
    wrap_up_until: datetime | None = None  # the end of a wrap-up in progress
    open_line: str = ""  # the CallSid of their open line, connected to their room; "": none
    line_placed: str = ""  # the CallSid of their open line placed, ringing or connected; "": none


class Agents:
    """The agent registry and agents' states, kept in Redis beside the queues."""

    def __init__(
        self,
        redis: RedisClient,
        clock: Clock,
        settings: EngineSettings,
        keys: Keys,
        script: RoutingScript,
    ) -> None:
        self.redis = redis
        self.clock = clock
        self.settings = settings
        self.keys = keys
        self.script = script  # built by the Engine, shared with Router and Recorder

    def save(self, agent: Agent) -> None:
        """Add an agent, or update one keeping their state (new agents start offline)."""
        _check(agent)
        self.script.run("save", self._now(), profile_json(agent))

    def remove(self, agent_id: str) -> None:
        """Remove an agent; a caller only offered to them goes back to their place in line."""
        self.script.run("remove", self._now(), {"id": agent_id})

    def get(self, agent_id: str) -> Agent | None:
        raw = self._read(lambda: self.redis.hget(self.keys.routing_agents(), agent_id))
        return agent_from(json.loads(raw)) if raw else None

    def all(self) -> list[Agent]:
        """Every agent, by id."""
        raw = self._read(lambda: self.redis.hgetall(self.keys.routing_agents()))
        return sorted((agent_from(json.loads(v)) for v in raw.values()), key=lambda a: a.id)

    def state(self, agent_id: str) -> AgentStatus:
        """The agent's state now (an unknown agent is offline)."""
        raw = self._read(lambda: self.redis.hget(self.keys.routing_agent_states(), agent_id))
        return status_from(json.loads(raw) if raw else None, self._now())

    def states(self) -> dict[str, AgentStatus]:
        """Every agent's state now, by id."""
        raw = self._read(lambda: self.redis.hgetall(self.keys.routing_agent_states()))
        now = self._now()
        return {aid: status_from(json.loads(v), now) for aid, v in sorted(raw.items())}

    def _now(self) -> int:
        return epoch_ms(self.clock.now())

    @staticmethod
    def _read(fetch: Any) -> Any:
        try:
            return fetch()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer an agent lookup: {exc}") from exc


def _check(agent: Agent) -> None:
    if not _ID.match(agent.id):
        raise ValueError(
            f"agent id {agent.id!r} must be a short lower-case slug such as a01: letters, "
            "digits and underscores, as it is the agent's Twilio Client identity"
        )
    if agent.contact.startswith("client:"):
        if not _IDENTITY.match(agent.contact):
            raise ValueError(
                f"agent contact {agent.contact!r}: a Client identity takes letters, digits "
                "and underscores only"
            )
        if agent.contact != f"client:{agent.id}":
            # The console's softphone registers as the signed-in agent's id (the Access
            # Token's identity, ivr/web/softphone.py); another name would ring nobody, or
            # another agent's browser.
            raise ValueError(
                f"agent {agent.id!r}: a softphone contact is the agent's own identity, "
                f"client:{agent.id}, not {agent.contact!r} (or give an E.164 number)"
            )
    elif not _E164.match(agent.contact):
        raise ValueError(f"agent contact {agent.contact!r} must be client:<id> or E.164")


def profile_json(agent: Agent) -> dict[str, Any]:
    """The agent as the routing script stores it."""
    return {
        "id": agent.id,
        "name": agent.name,
        "contact": agent.contact,
        "skills": sorted(agent.skills),
        "dialects": list(agent.dialects),
        "auto_answer": agent.auto_answer,
        "persistent": agent.persistent,
    }


def agent_from(data: dict[str, Any]) -> Agent:
    return Agent(
        id=data["id"],
        name=data["name"],
        contact=data["contact"],
        skills=frozenset(data.get("skills") or []),
        dialects=tuple(data.get("dialects") or []),
        auto_answer=bool(data.get("auto_answer")),
        persistent=bool(data.get("persistent")),
    )


def status_from(data: dict[str, Any] | None, now_ms: int) -> AgentStatus:
    """Decode a stored state; a wrap-up that has run out reads as available (it ends lazily)."""
    if not data:
        return AgentStatus("offline", _at(now_ms), "", 0)
    state, since = data["s"], int(data["t"])
    if state == "wrap_up" and int(data.get("w", 0)) <= now_ms:
        state, since = data.get("nx") or "available", int(data["w"])
    wrap_up_until = _at(int(data["w"])) if state == "wrap_up" else None
    return AgentStatus(
        cast(AgentState, state),
        _at(since),
        data.get("c", ""),
        int(data["m"]),
        wrap_up_until,
        data.get("ol") or "",
        "" if data.get("op") in (None, "?") else str(data["op"]),  # "?": claimed, not yet placed
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
