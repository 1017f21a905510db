"""Queues from config and the one routing script that keeps queues and agents together.

Every routing decision is one call of `route.lua`: the script applies the event, assigns
waiting callers to free agents until none is left that may take any of them, and records the
statistics of what happened (record_lib.lua). Its configuration and its keys are fixed by the
settings, so they are written into the script's source as Lua constants once, at start-up,
instead of travelling (and being decoded) with every call: a call sends the operation, the
time and its arguments. The keys all carry the routing hash tag, and the one key a call
declares (the agent profiles) carries it too, so a Redis Cluster runs it on their slot.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError, ResponseError

from dialects.registry import DIALECTS
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.queues.events import LIBRARY, Intervals, route_config
from routing.scripts import lua_source
from routing.settings import EngineSettings, LadderStep
from routing.store import RedisClient

FORCED_KEEP = 1000
# The statistics queue of return visits' events: apart from the inbound queues, whose service
# level and speed of answer an outbound call answered at once would flatter.
VISIT_QUEUE = "visits"  # forced state changes kept: months of them at a few a day


# The settings the routing script reads, by the name it reads them under (cfg.<name>): the
# settings section, the key, and the factor to the script's unit (ms; Lua constants are
# integers, so a share is per mille). A setting the script needs is one row here.
SCRIPT_SETTINGS: dict[str, tuple[str, str, int]] = {
    "wrap_up_ms": ("routing", "wrap_up_seconds", 1000),
    "max_missed_offers": ("routing", "max_missed_offers", 1),
    "callback_attempts": ("routing", "callback_attempts", 1),
    "callback_retry_ms": ("routing", "callback_retry_seconds", 1000),
    "announce_every_ms": ("routing", "announce_every", 1000),
    "callback_offer_after_ms": ("routing", "callback_offer_after", 1000),
    # the agent who missed a caller is not rung for them again within a dial timeout
    "exclude_missed_ms": ("routing", "dial_timeout", 1000),
    "senior_reserve": ("routing", "senior_reserve", 1),
    "senior_reserve_release_ms": ("routing", "senior_reserve_release", 1000),
    "senior_wrap_up_break_ms": ("routing", "senior_wrap_up_break", 1000),
    # a live call not heard of for this long is looked up (OPS.stale), and closed
    # unreported after max_call_seconds if Twilio cannot say (OPS.reconcile)
    "reconcile_after_ms": ("routing", "reconcile_after", 1000),
    "max_call_ms": ("routing", "max_call_seconds", 1000),
    "call_record_ttl_ms": ("privacy", "call_record_hours", 3_600_000),  # personal data
    "forced_keep_ms": ("stats", "retention_days", 86_400_000),
    # return visits: the share of staffed agents they may hold; agents kept idle for callers
    "visit_share_permille": ("campaigns", "agent_share", 1000),
    "visit_keep_idle": ("campaigns", "keep_idle", 1),
}


@dataclass(frozen=True)
class QueueRule:
    """One queue's routing rule, read from `settings.queues`."""

    name: str
    priority: int
    skill: str  # "" = any agent
    widen_to_any_after: int  # seconds; 0 = never
    drop_dialect_after: int  # seconds the caller waits for their dialect; 0 = never waits
    sl_seconds: int
    sl_percent: int
    age_after: int = 0  # seconds after which the caller goes ahead of every priority; 0 = never
    ladder: tuple[LadderStep, ...] = ()  # who may take the caller, rung by rung (steps())
    overflow: tuple[str, int, int, str] = ("", 0, 0, "")  # kind, after s, length, to


def queue_rules(settings: EngineSettings) -> list[QueueRule]:
    """The configured queues, in config order."""
    return [
        QueueRule(
            name,
            q.priority,
            q.skill,
            q.widen_to_any_after,
            q.drop_dialect_after,
            q.sl_seconds,
            q.sl_percent,
            q.age_after,
            q.steps(),
            (q.overflow_kind(), q.overflow_after, q.overflow_length, q.overflow_to),
        )
        for name, q in settings.queues.items()
    ]


class RoutingLua:
    """The routing script's Lua source, made once from the settings and the keys (no Redis)."""

    def __init__(self, settings: EngineSettings, keys: Keys) -> None:
        self.settings = settings
        self.keys = keys
        self.rules = queue_rules(settings)
        self.rule = {r.name: r for r in self.rules}
        self.dialects = list(DIALECTS)
        rungs = {step.skill for r in self.rules for step in r.ladder}
        self.skills = sorted(({r.skill for r in self.rules} | rungs) - {""})
        self.parts = self._parts(settings)  # (where from, text), in the order they run
        self.source = "".join(text for _, text in self.parts)
        # the name EVALSHA calls the script by, as Redis computes it (SCRIPT LOAD's answer)
        self.sha = hashlib.sha1(self.source.encode("utf-8")).hexdigest()

    def numbered(self) -> str:
        """The source with each line's number, as Redis's error messages count them."""
        lines = self.source.splitlines()
        width = len(str(len(lines)))
        return "".join(f"{n:>{width}}  {line}\n" for n, line in enumerate(lines, 1))

    def origin(self, line: int) -> tuple[str, int]:
        """The file and line that line `line` of the script comes from (Redis's user_script:N)."""
        first = 1
        for where, text in self.parts:
            count = text.count("\n")
            if first <= line < first + count:
                return where, line - first + 1
            first += count
        raise ValueError(f"the routing script has lines 1 to {first - 1}, not {line}")

    def _parts(self, settings: EngineSettings) -> list[tuple[str, str]]:
        """route.lua after its constants (cfg, K, SK, FORCED) and the recording functions.

        Redis 6.2 has no Functions: the whole source runs at every call, constants included.
        So the queues' ladders and the ~100 key names of the waiting and availability indexes
        are built per queue and per skill the first time a call reads them (`lazy`), not all of
        them at every call.
        """
        constants = (
            LAZY
            + f"local cfg = {_lazy_literal(self._config_of(settings), ('ladder',))}\n"
            + f"local K = {_lazy_literal(self._keys_by_name(), ('waiting', 'available'))}\n"
            + f"local SK = {lua_literal(self.keys.stats_formats())}\n"
            + f"local FORCED = {lua_literal(self.keys.routing_forced())}\n"
        )
        made = (_BUILDER + " (constants)", constants)
        return [made, ("routing/lua/record_lib.lua", LIBRARY), *_presized(route_parts())]

    def _config_of(self, settings: EngineSettings) -> dict[str, Any]:
        """`cfg` as the script reads it: the settings of SCRIPT_SETTINGS, then what is made
        from the queues, dialects and skills."""
        cfg = {name: round(getattr(getattr(settings, section), key) * unit)
               for name, (section, key, unit) in SCRIPT_SETTINGS.items()}  # fmt: skip
        return cfg | {
            "queues": [_queue_config(q) for q in self.rules],
            # the ladder's rungs, per queue: made for a queue when a call first reads it
            "ladder": {q.name: _ladder(q) for q in self.rules},
            # the dialects and skills by index ("*" the first skill), and a queue's waiting
            # buckets: each dialect, then "other"
            "dialects": {d: i for i, d in enumerate(self.dialects, 1)},
            "skills": {s: i for i, s in enumerate(["*", *self.skills], 1)},
            "buckets": [*self.dialects, "other"],
            # forced changes explain figures, so they are kept as long as the statistics
            "forced_keep": FORCED_KEEP,
            "stats": route_config(settings),
            "visit_queue": VISIT_QUEUE,
        }

    def _keys_by_name(self) -> dict[str, Any]:
        """Every key route.lua touches, by the name it reads it under (route.lua's header)."""
        k = self.keys
        return {
            "agents": k.routing_agents(),
            "agent_states": k.routing_agent_states(),
            "calls": k.routing_calls(),
            "call_expiry": k.routing_call_expiry(),
            "wrap_up": k.routing_wrap_up(),
            "open_lines": k.routing_open_lines(),
            "staffed": k.routing_staffed(),
            "pulls": k.routing_pulls(),
            "callback_retry": k.routing_callback_retry(),
            "callback_failed": k.routing_callback_failed(),
            "ewt": k.routing_ewt(),
            "visiting": k.routing_visiting(),
            "heard": k.routing_heard(),
            # every queue's waiting callers and waiting seniors, in config order (EXISTS)
            "all_waiting": [k.routing_waiting(q.name) for q in self.rules],
            "senior_waiting": [k.routing_waiting(q.name, "sr") for q in self.rules],
            "waiting": {
                q.name: {
                    "all": k.routing_waiting(q.name),
                    "sr": k.routing_waiting(q.name, "sr"),
                    "by": {d: k.routing_waiting(q.name, d) for d in [*self.dialects, "other"]},
                }
                for q in self.rules
            },
            "available": {
                skill: {
                    "any": k.routing_available(skill),
                    "by": {d: k.routing_available(skill, d) for d in self.dialects},
                }
                for skill in ["*", *self.skills]
            },
        }


class ScriptReport:
    """What each routing call says of itself, for the simulator's ticker and occupancy meter.

    The simulator hands one to the engine it builds (Engine's `script_report`) and enables it
    for traffic runs: each call then also answers what a tick at its instant would find
    (route.lua's `after`, ARGV[6]), so the ticker skips the ticks a call has made needless
    (Router.last_call) and the meter reads the agents' states again only after a call that
    wrote one (states_changed).
    """

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled
        self.last: tuple[int, dict[str, Any]] | None = None  # (now ms, `after`) of the last call
        self.states_written = True  # until a call says otherwise (or failed, or ran without)

    def states_changed(self) -> bool:
        """Whether a call may have written an agent's state since this was last asked."""
        changed, self.states_written = self.states_written, not self.enabled
        return changed

    def starting(self) -> tuple[tuple[int, dict[str, Any]] | None, bool]:
        """Forget the last call until this one answers; the last call and whether states
        were written before it."""
        prev, written = self.last, self.states_written
        self.last, self.states_written = None, True
        return prev, written

    def answered(
        self, op: str, now_ms: int, after: dict[str, Any], before: tuple[Any, bool]
    ) -> None:
        """Keep what the call said (its `after`), given what `starting` returned."""
        prev, written = before
        self.last = (now_ms, _carried(op, now_ms, after, prev))
        self.states_written = written or bool(after["states"])


class RoutingScript:
    """Run the routing script: one operation per call, atomically (registered once per client)."""

    def __init__(
        self, redis: RedisClient, lua: RoutingLua, report: ScriptReport | None = None
    ) -> None:
        self.redis = redis
        self.lua = lua
        # what the router reads of the script's configuration, as the script was made with it
        self.rules, self.rule = lua.rules, lua.rule
        self.dialects, self.skills = lua.dialects, lua.skills
        self.report = report or ScriptReport()
        self.intervals = Intervals(lua.settings)
        self._declared = [lua.keys.routing_agents()]
        self._script = redis.register_script(lua.source)

    def run(self, op: str, now_ms: int, args: dict[str, Any]) -> dict[str, Any]:
        """Run one operation atomically and return its decoded answer."""
        interval, expire_ms = self.intervals.at(now_ms)
        call_args: list[str | int] = [op, now_ms, json.dumps(args), interval, expire_ms]
        report = self.report if self.report.enabled else None
        if report is not None:
            call_args.append("1")
            before = report.starting()
        try:
            raw = self._script(keys=self._declared, args=call_args)
        except ResponseError as exc:
            if "unknown agent" in str(exc) or "unknown queue" in str(exc):
                raise KeyError(str(exc)) from exc
            raise StoreUnavailable(f"routing script failed: {exc}") from exc
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer the routing call: {exc}") from exc
        answer: dict[str, Any] = json.loads(raw)
        if report is not None:
            report.answered(op, now_ms, answer.pop("after"), before)
        return answer


# Operations that change neither who waits nor who is free (they note an agent's leg, a claim
# on it, the caller's room, a connection): a tick just after one finds what a tick just before
# it would have found. Every operation that does change them settles, so before a neutral one
# the queues were settled as of the last such operation, and what has come due since (a
# wrap-up's end, a widening) is what its `after.at` says.
_NEUTRAL = frozenset({"agent_leg", "claim_leg", "dial_instead", "room_event", "connected"})


def _carried(
    op: str, now_ms: int, after: dict[str, Any], prev: tuple[int, dict[str, Any]] | None
) -> dict[str, Any]:
    """`after` of this call, counted as settled if it is neutral and either nothing is due
    yet or it follows a settled call at this very instant: a tick would find nothing then
    either (the simulator's ticker, Router.last_call)."""
    if after["settled"] or op not in _NEUTRAL:
        return after
    nothing_due = after.get("at") is None or int(after["at"]) > now_ms
    settled_now = prev is not None and prev[0] == now_ms and bool(prev[1]["settled"])
    return {**after, "settled": nothing_due or settled_now}


# The sources of the routing script's body (routing/lua/route/), in the order they are joined:
# the prelude (the call's arguments, the keys and the state one call shares), the libraries
# (F: indexes, calls, agents, matching callers with agents, overflow, answers), then the
# operations (OPS) by whom they serve; all but the prelude inside define() (the prelude says
# why), then the dispatch. An order, not a glob: a new file is added here on purpose.
ROUTE_SOURCES = (
    "route/lib/indexes",
    "route/lib/calls",
    "route/lib/agents",
    "route/lib/matching",
    "route/lib/overflow",
    "route/lib/answers",
    "route/ops/calls",
    "route/ops/supervisors",
    "route/ops/open_lines",
    "route/ops/visits",
)
_BUILDER = "routing/queues/routing_script.py"
_DEFINE = "local function define()  -- the libraries and the operations, up to the dispatch\n"
_DEFINED = "end  -- define\ndefine()\n"


def route_parts() -> list[tuple[str, str]]:
    """The routing script's body in ROUTE_SOURCES' order, each part with where it comes from."""
    defined = [_indented(*_file(name)) for name in ROUTE_SOURCES]
    wrap, unwrap = (_BUILDER + " (define)", _DEFINE), (_BUILDER + " (define)", _DEFINED)
    return [_file("route/prelude"), wrap, *defined, unwrap, _file("route/dispatch")]


def _file(name: str) -> tuple[str, str]:
    return f"routing/lua/{name}.lua", lua_source(name)


def _indented(where: str, text: str) -> tuple[str, str]:
    """A source file as the body of define() in the printed script: each line two spaces in
    (no source holds a long string, whose lines this would change)."""
    if "[[" in text or "[=" in text:
        raise ValueError(f"{where} holds a Lua long string: define() cannot indent it")
    return where, "".join(f"  {line}" if line.strip() else line for line in text.splitlines(True))


# A table whose entry `name` is made by build[name]() the first time a call reads it (and kept
# for the rest of that call only: nothing outlives a script call).
LAZY = """local function lazy(make)
  return setmetatable({}, {__index = function(t, name)
    local v = make(name)
    if v ~= nil then rawset(t, name, v) end
    return v
  end})
end
"""


def _lazy_literal(table: dict[str, Any], lazy: tuple[str, ...]) -> str:
    """`table` as a Lua expression in which the tables named in `lazy` are `lazy` tables:
    each of their entries is made the first time a call reads it (one function makes them all:
    a closure each would cost more than the tables it saves)."""
    pairs = []
    for name, value in table.items():
        if name in lazy:
            makers = " ".join(
                f"if name == {lua_literal(k)} then return {lua_literal(v)} end"
                for k, v in value.items()
            )
            pairs.append(f"[{lua_literal(name)}] = lazy(function(name) {makers} end)")
        else:
            pairs.append(f"[{lua_literal(name)}] = {lua_literal(value)}")
    return "{" + ", ".join(pairs) + "}"


def _presized(parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """route.lua with F and OPS made with a slot for each function the file puts in them, so
    that filling them does not grow (rehash) the two tables at every call."""
    body = "".join(text for _, text in parts)
    line = "local F, OPS = {}, {}\n"
    if body.count(line) != 1:
        raise ValueError(f"route.lua should make F and OPS in one line: {line!r}")
    made = ", ".join(
        "{"
        + ", ".join(f"{n} = false" for n in re.findall(rf"^\s*function {t}\.(\w+)\(", body, re.M))
        + "}"
        for t in ("F", "OPS")
    )
    return [(where, text.replace(line, f"local F, OPS = {made}\n")) for where, text in parts]


def _ladder(q: QueueRule) -> list[dict[str, Any]]:
    """A queue's ladder as route.lua reads it (cfg.ladder[queue])."""
    return [
        {"opens_ms": s.after * 1000, "skill": s.skill or "*", "dialect_only": s.dialect}
        for s in q.ladder
    ]


def _queue_config(q: QueueRule) -> dict[str, Any]:
    """One queue as route.lua reads it (cfg.q)."""
    kind, after_s, length, to = q.overflow
    return {
        "name": q.name,
        "priority": q.priority,
        "skill": q.skill,
        "aging_ms": q.age_after * 1000,
        "overflow_kind": kind,  # "", callback, line, queue
        "overflow_after_ms": after_s * 1000,
        "overflow_length": length,
        "overflow_queue": to if kind == "queue" else "",  # where a "queue" overflow moves callers
    }


def lua_literal(value: object) -> str:
    """`value` (str, int, bool, list, dict) as a Lua constant expression."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + "".join(map(_lua_byte, value.encode("utf-8"))) + "'"
    if isinstance(value, list):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        pairs = (f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"no Lua literal for {type(value).__name__}")


def _lua_byte(b: int) -> str:
    """One byte of a Lua string literal: printable ASCII as itself, else a decimal escape."""
    return chr(b) if 32 <= b < 127 and b not in (39, 92) else f"\\{b:03d}"
