"""The router's model for the property tests: the steps they draw, how each is applied to a
real engine on Redis, and the rules checked after every step (listed in
tests/routing/test_router_properties.py). Shared by the routing property and the one of
supervisors' forced changes (tests/routing/test_forced.py)."""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import strategies as st

from routing.callers.caller import Caller
from routing.clock import FixedClock, epoch_ms
from routing.queues.agents import Agent
from routing.queues.router import Offer, Placement
from routing.store import RedisClient
from tests.conftest import T0
from tests.routing.conftest import Desk, build

QUEUES = ("senior", "general", "policy", "claims")
DIALECTS = ("mandarin", "cantonese", "minnan", "english")
SKILLS = ("senior", "policy", "claims")
# routing.reconcile_after, routing.max_call_seconds and privacy.call_record_hours (the
# smallest each may be): short enough for a few steps to reach them
AFTER, MAX_CALL, RECORD_HOURS = 60, 300, 6
STEPS = (0.001, 1, 5, 14.999, 15, 19.999, 20, 30, 44.999, 45, 60, 120, MAX_CALL)
STAFFED = {"available", "offered", "on_call", "wrap_up"}
LIVE = {"offered", "on_call"}  # and a waiting caller on the line (cb 0)
FINAL = {"completed", "busy", "no-answer", "failed", "canceled"}
TERMINAL = {"completed", "abandoned", "unreported", "overflowed"}
# The terminal event a call's state says it had (none: still going, or ended without one)
ENDED_BY = {"done": "completed", "gone": "abandoned", "unreported": "unreported"}
ENDED_BY["overflowed"] = "overflowed"
LINE = "+861095500777"
_prefixes = itertools.count()

agent_profile = st.tuples(
    st.sets(st.sampled_from(SKILLS), max_size=2),
    st.lists(st.sampled_from(DIALECTS[:3]), min_size=1, max_size=2, unique=True),
)
agents_st = st.lists(agent_profile, min_size=1, max_size=5)
arrive = st.tuples(
    st.just("arrive"), st.sampled_from(QUEUES), st.sampled_from(DIALECTS), st.booleans()
)
agent_op = st.tuples(st.just("agent"), st.integers(0, 4), st.sampled_from(["available", "away"]))
advance = st.tuples(st.just("advance"), st.sampled_from(STEPS))
# Arrivals, agents' changes and time passing are drawn three, two and two times as often as
# the rest: most other steps need callers and free agents to act on.
one_op = st.one_of(
    arrive,
    arrive,
    arrive,
    agent_op,
    agent_op,
    advance,
    advance,
    st.tuples(st.just("poll"), st.integers(0, 30)),
    st.tuples(st.just("answer"), st.integers(0, 30)),
    st.tuples(st.just("dial"), st.integers(0, 30), st.sampled_from(["completed", "no-answer"])),
    st.tuples(st.just("hangup"), st.integers(0, 30)),
    st.tuples(st.just("callback"), st.integers(0, 30)),
    st.tuples(st.just("cbanswer"), st.integers(0, 30)),
    st.tuples(st.just("cbresult"), st.integers(0, 30), st.sampled_from(["completed", "busy"])),
    st.tuples(st.just("force"), st.integers(0, 4), st.sampled_from(["available", "away"])),
    st.tuples(st.just("dup")),
    # an agent removed, or saved again (back, or with a new profile)
    st.tuples(st.just("remove"), st.integers(0, 4)),
    st.tuples(st.just("save"), st.integers(0, 4), agent_profile),
    # a return visit (campaigns), its agent reserved by the routing script
    st.tuples(st.just("visit"), st.sampled_from(QUEUES), st.sampled_from(DIALECTS)),
    # Twilio found the caller's queue full
    st.tuples(st.just("full"), st.integers(0, 30)),
    # what Twilio says of a call: directly, or of the stale calls the ticker claims
    st.tuples(
        st.just("reconcile"),
        st.integers(0, 30),
        st.sampled_from(["completed", "no-answer", "in-progress", "unreported"]),
    ),
    st.tuples(st.just("stale"), st.sampled_from(["completed", "in-progress", "unreported"])),
    # every call record's lifetime (privacy.call_record_hours) passes
    st.tuples(st.just("expire")),
)
burst = st.tuples(
    st.just("burst"),
    st.lists(
        st.one_of(
            st.tuples(st.just("arrive"), st.sampled_from(QUEUES), st.sampled_from(DIALECTS)),
            st.tuples(st.just("agent"), st.integers(0, 4), st.sampled_from(["available", "away"])),
            st.tuples(st.just("hangup"), st.integers(0, 30)),
        ),
        min_size=2,
        max_size=5,
    ),
)
# At least 5 steps (10 on average): the state the checks are about takes a few to build.
ops_st = st.lists(st.one_of(one_op, burst), min_size=5, max_size=40)
# The claims queue's widening ladder (queues.claims.ladder): rungs of any skill, opening at
# the times STEPS lands on or between; None keeps the one its widening times imply.
rung_st = st.fixed_dictionaries(
    {
        "after": st.sampled_from((0, 15, 20, 45)),
        "skill": st.sampled_from(("", *SKILLS)),
        "dialect": st.booleans(),
    }
)
ladder_st = st.one_of(
    st.none(),
    st.lists(rung_st, min_size=1, max_size=4).map(
        lambda rungs: [{**rungs[0], "after": 0}, *sorted(rungs[1:], key=lambda r: r["after"])]
    ),
)
# One queue's overflow (the others have none): (queue, overflow_after s, overflow_length,
# where to: "callback", "line" or "queue" (general, or policy for general's own callers)).
overflow_st = st.tuples(
    st.sampled_from(QUEUES),
    st.sampled_from((0, 15, 30, 60)),
    st.sampled_from((0, 1, 2)),
    st.sampled_from(("callback", "line", "queue")),
).filter(lambda o: o[1] > 0 or o[2] > 0)


Ticket = tuple[str, str, int, bool]  # call sid, agent, offered at (ms), call-back


@dataclass
class Run:
    """One example: the desk, the team, the callers so far and what was handed out."""

    desk: Desk
    team: list[Agent]
    entered: dict[str, int] = field(default_factory=dict)  # sid -> entry ms, from the model
    callers: dict[str, tuple[str, str, int]] = field(default_factory=dict)  # sid -> q, d, sr
    visits: set[str] = field(default_factory=set)  # return visits (no entered event)
    moves_to: dict[str, str] = field(default_factory=dict)  # queue -> queue it overflows to
    removed: set[str] = field(default_factory=set)  # agents removed (and not saved again)
    orphans: set[str] = field(default_factory=set)  # calls whose agent was removed mid-call
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)  # sid -> record last seen
    reserved: set[tuple[str, str, int]] = field(default_factory=set)  # visits' offers
    pulled: set[Ticket] = field(default_factory=set)
    direct: set[Ticket] = field(default_factory=set)
    offered: set[tuple[str, str, int]] = field(default_factory=set)  # after the last step
    staffed: set[str] = field(default_factory=set)  # agents staffed after the last step
    free: set[str] = field(default_factory=set)  # agents available after the last step
    last: tuple[Any, ...] | None = None
    # agents whose state the last step may have changed more than once: a burst's own
    # agents, the agents of its hang-ups and those it offered callers (empty after one webhook)
    unsure: set[str] = field(default_factory=set)
    sids: Iterator[int] = field(default_factory=itertools.count)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def clock(self) -> FixedClock:
        return self.desk.clock

    def sid(self, i: int) -> str | None:
        with self.lock:
            sids = sorted(self.entered)
        return sids[i % len(sids)] if sids else None

    def enter(self, sid: str, queue: str, dialect: str, senior: bool) -> None:
        with self.lock:
            self.entered.setdefault(sid, epoch_ms(self.clock.now()))
            self.callers.setdefault(sid, (queue, dialect, 1 if senior else 0))

    def present(self) -> list[Agent]:
        return [a for a in self.team if a.id not in self.removed]


def _overrides(
    ladder: list[dict[str, Any]] | None, overflow: tuple[str, int, int, str] | None
) -> dict[str, Any]:
    """The settings of one example: the drawn ladder and overflow, short call bounds, and
    half the staffed agents open to return visits."""
    out: dict[str, Any] = {
        "routing.reconcile_after": AFTER,
        "routing.max_call_seconds": MAX_CALL,
        "privacy.call_record_hours": RECORD_HOURS,
        "campaigns.agent_share": 0.5,
    }
    if ladder is not None:  # a ladder replaces the widening time
        out |= {"queues.claims.ladder": ladder, "queues.claims.widen_to_any_after": 0}
    if overflow is not None:
        queue, after, length, kind = overflow
        to = {"callback": "callback", "line": LINE}.get(kind)
        to = to or ("policy" if queue == "general" else "general")
        where = f"queues.{queue}.overflow"
        out |= {f"{where}_after": after, f"{where}_length": length, f"{where}_to": to}
    return out


def run_steps(
    r: RedisClient,
    team: list[tuple[set[str], list[str]]],
    ops: list[tuple[Any, ...]],
    ladder: list[dict[str, Any]] | None,
    overflow: tuple[str, int, int, str] | None,
) -> None:
    """Run `ops` against a desk of `team` (with the drawn `ladder` and `overflow`), checking
    every rule after every step."""
    clock = FixedClock(T0)
    desk = build(r, clock, prefix=f"prop{next(_prefixes)}", **_overrides(ladder, overflow))
    run = Run(desk, [])
    for rule in desk.router.script.rules:
        if rule.overflow[0] == "queue":
            run.moves_to[rule.name] = rule.overflow[3]
    for i, profile in enumerate(team):
        agent = _agent(i, profile)
        desk.agents.save(agent)
        run.team.append(agent)
    for step in ops:
        op = _named(run, step)
        before = _state(run) if op[0] == "dup" else None
        direct, pulls = _apply(run, op)
        if op[0] == "dup" and run.last is not None:
            assert _state(run) == before, f"repeating {run.last} changed the state"
        _tickets(run, direct, run.direct)
        _check_pulled_once(run, pulls)
        ticked = desk.router.tick()
        _check_pulled_once(run, ticked)
        # in a burst an arrival may come after an assignment made in the same instant
        _check(run, direct + pulls + ticked, ordered=op[0] != "burst")
        # A supervisor's forced change is no webhook to repeat, and it moves the agent on:
        # a webhook from before it, repeated after it, may rightly change the state; so do
        # an agent's removal or new profile, and a lookup of stale calls. A burst's webhooks
        # ran at once, with no one last among them: a `dup` after it repeats nothing (the op
        # before the burst was superseded by it). Twilio repeats no webhook hours later (when
        # records have expired), nor, after a move, the report of a queue the caller left.
        if op[0] in ("force", "burst", "remove", "save", "stale", "expire", "full"):
            run.last = None
        elif op[0] not in ("dup", "advance", "poll"):
            run.last = op


Offers = tuple[list[Offer], list[Offer]]  # the caller's own placement; others to pull


def _agent(i: int, profile: tuple[set[str], list[str]]) -> Agent:
    skills, dialects = profile
    return Agent(f"a{i}", f"A{i}", f"client:a{i}", frozenset(skills), tuple(dialects))


def _named(run: Run, op: tuple[Any, ...]) -> tuple[Any, ...]:
    """Name the call (and agent) a step is about, so that repeating it repeats the webhook."""
    kind = op[0]
    if kind == "arrive":
        return (*op, f"CA{next(run.sids):03d}")
    if kind == "visit":
        return (*op, f"VS{next(run.sids):03d}")
    if kind == "burst":
        return ("burst", [_named(run, sub) for sub in op[1]], *op[2:])
    if kind in ("agent", "force", "advance", "dup", "remove", "save", "stale", "expire"):
        return op
    sid = run.sid(op[1])
    info = run.desk.router.call(sid) if sid else None
    return (kind, sid, info.agent_id if info else "", *op[2:])


def _apply(run: Run, op: tuple[Any, ...]) -> Offers:
    kind = op[0]
    if kind == "advance":
        run.clock.advance(op[1])
        return [], []
    if kind == "dup":
        return _apply(run, run.last) if run.last is not None else ([], [])
    run.unsure = set()
    if kind == "burst":
        if op[2:] == ("in order",):  # a pinned interleaving, replayed
            results = [_one(run, sub) for sub in op[1]]
        else:
            with ThreadPoolExecutor(max_workers=4) as pool:
                results = list(pool.map(lambda sub: _one(run, sub), op[1]))
        direct = [o for d, _ in results for o in d]
        pulls = [o for _, p in results for o in p]
        run.unsure = {run.team[sub[1] % len(run.team)].id for sub in op[1] if sub[0] == "agent"}
        run.unsure |= {sub[2] for sub in op[1] if sub[0] == "hangup" and sub[2]}
        run.unsure |= {o.agent.id for o in direct + pulls}
        return direct, pulls
    if kind in ("remove", "save", "visit", "stale", "expire"):
        return _admin(run, op)
    return _one(run, op)


def _one(run: Run, op: tuple[Any, ...]) -> Offers:
    router = run.desk.router
    kind = op[0]
    if kind == "arrive":
        sid = op[-1]
        senior = op[1] == "senior" or (len(op) == 5 and bool(op[3]))
        run.enter(sid, op[1], op[2], senior)
        caller = Caller("", "+8613800138000", None, 70 if senior else 30, op[2], senior)
        return _placed(router.arrive(sid, caller, op[1])), []
    if kind == "agent":
        agent = run.team[op[1] % len(run.team)]
        if agent.id in run.removed:  # refused, clearly, and nothing changes
            with pytest.raises(KeyError, match=f"unknown agent {agent.id}"):
                router.set_agent_state(agent.id, op[2])
            return [], []
        return [], router.set_agent_state(agent.id, op[2])
    if kind == "force":  # on an agent held by a caller when there is one: the case it is for
        present = run.present()
        if not present:
            return [], []
        states = run.desk.agents.states()
        held = [a for a in present if states[a.id].state in ("offered", "on_call")]
        agent = (held or present)[op[1] % len(held or present)]
        _offer_ends(run, states[agent.id].call_sid)
        return [], router.force_agent_state(agent.id, op[2], "sup", "web")[1]
    sid, agent_id = op[1], op[2]
    if sid is None:
        return [], []
    if kind == "poll":
        status = router.poll(sid)
        return [], status.pulls  # its own offer may repeat a pull: both lead to one <Dial>
    if kind == "hangup":
        router.hangup(sid)
        return [], []
    if kind == "callback":
        router.request_callback(sid)
        return [], []
    if kind == "cbanswer":
        router.callback_answered(sid, f"LG{sid}")
        return [], []
    if kind == "cbresult":
        return [], router.callback_result(sid, op[3])
    if kind == "answer":
        router.answered(sid, agent_id)
        return [], []
    if kind == "full":
        _, placement = router.queue_full(sid)
        return (_placed(placement) if placement else []), []
    if kind == "reconcile":
        _reconcile(run, sid, op[3])
        return [], []
    placed = router.dial_result(sid, agent_id, op[3], 30)
    return (_placed(placed) if placed else []), []


def _admin(run: Run, op: tuple[Any, ...]) -> Offers:
    """The steps no caller's or agent's webhook makes: the team changed, a return visit,
    the ticker's lookups and the passing of a record's lifetime."""
    desk, kind = run.desk, op[0]
    if kind == "remove":  # a staffed agent when there is one: what the indexes count
        states = desk.agents.states()
        present = run.present()
        staffed = [a for a in present if states[a.id].state in STAFFED]
        if not present:
            return [], []
        agent = (staffed or present)[op[1] % len(staffed or present)]
        sid = states[agent.id].call_sid
        info = desk.router.call(sid) if sid else None
        if info is not None and info.state == "on_call" and info.agent_id == agent.id:
            run.orphans.add(sid)  # the conversation goes on without an agent on record
        _offer_ends(run, sid)
        run.removed.add(agent.id)
        desk.agents.remove(agent.id)
        return [], []
    if kind == "save":  # an agent back, or the same one with new skills or dialects
        i = op[1] % len(run.team)
        run.team[i] = _agent(i, op[2])
        run.removed.discard(run.team[i].id)
        desk.agents.save(run.team[i])
        return [], []
    if kind == "visit":
        sid, senior = op[-1], op[1] == "senior"
        caller = Caller("", "+8613900139000", None, 70 if senior else 30, op[2], senior)
        visit = desk.router.visit(sid, caller, op[1], "loans", "policy loan")
        if visit.offer is None:  # "exists": a repeat of a visit reserved
            assert visit.why in ("share", "no_agent") or sid in run.visits, visit.why
            return [], visit.offers
        run.enter(sid, op[1], op[2], senior)
        run.visits.add(sid)
        run.reserved.add((sid, visit.offer.agent.id, epoch_ms(run.clock.now())))
        return [visit.offer], [o for o in visit.offers if o.call_sid != sid]
    if kind == "stale":
        for stale in desk.router.stale_calls(5):
            _reconcile(run, stale.call_sid, op[1])
        return [], []
    # expire: past every record's lifetime; the ticks prune them (20 a settle), closing the
    # live ones as unreported and releasing their agents
    run.clock.advance(RECORD_HOURS * 3600 + 1)
    ticked = [o for _ in range(len(run.entered) // 20 + 1) for o in desk.router.tick()]
    now, ttl = epoch_ms(run.clock.now()), RECORD_HOURS * 3_600_000
    kept = [sid for sid, c in _calls(run).items() if c["lr"] + ttl <= now]
    assert not kept, f"records past their lifetime: {kept}"
    return [], ticked


def _offer_ends(run: Run, sid: str) -> None:
    """The offer of `sid` ends (forced, or its agent removed): the caller is back in line, and
    offering them to the same agent again in the same instant is a new decision, not the old
    one handed out twice. Its earlier tickets, pulled or direct, belong to the offer that ended."""
    run.pulled = {t for t in run.pulled if t[0] != sid}
    run.direct = {t for t in run.direct if t[0] != sid}


def _reconcile(run: Run, sid: str, status: str) -> None:
    """Close `sid` with what Twilio says of it, and check it closed only as that says: a
    final status as its status callback would have, "unreported" only after
    routing.max_call_seconds of silence; a call over, or no clear answer, changes nothing."""
    before = _calls(run).get(sid)
    run.desk.router.reconcile(sid, status)
    after = _calls(run).get(sid)
    if before is None:
        assert after is None
        return
    live = before["st"] in LIVE or (before["st"] == "waiting" and before["cb"] != 1)
    silent = epoch_ms(run.clock.now()) - before["lr"] >= MAX_CALL * 1000
    assert after is not None
    if live and status in FINAL and before["cb"] != 1:
        assert after["st"] == ("done" if before["st"] == "on_call" else "gone"), (sid, after)
    elif live and status == "unreported" and silent:
        assert after["st"] == "unreported", (sid, after)
    else:
        assert after == before, f"reconciling {sid} ({status}) changed it"


def _placed(placement: Placement) -> list[Offer]:
    return [placement] if isinstance(placement, Offer) else []


# -- reading the state back -------------------------------------------------------------------


def _calls(run: Run) -> dict[str, dict[str, Any]]:
    raw = run.desk.r.hgetall(run.desk.keys.routing_calls())
    return {sid: json.loads(v) for sid, v in raw.items()}


def _state(run: Run) -> tuple[Any, ...]:
    raw = run.desk.r.hgetall(run.desk.keys.routing_agent_states())
    events = run.desk.r.xlen(run.desk.keys.stats_events())
    return (_calls(run), {aid: json.loads(v) for aid, v in raw.items()}, events)


@dataclass
class Store:
    """Everything the checks read, in one round trip."""

    calls: dict[str, dict[str, Any]]
    states: dict[str, dict[str, Any]]
    staffed: dict[str, int]
    wrap_up: dict[str, float]
    events: list[dict[str, str]]
    zsets: dict[str, dict[str, float]]  # the waiting and free agents' indexes by key


def _index_keys(run: Run) -> tuple[list[str], list[str]]:
    """The waiting buckets and free agents' indexes the routing script may write: those the
    drawn queues, dialects and skills can fill, and the rest, which must stay empty."""
    k, script = run.desk.keys, run.desk.router.script
    parts = ["", "sr", *script.dialects, "other"]
    waiting = [(q, part) for q in script.rule for part in parts]
    skills = ["*", *script.skills]
    free = [(s, d) for s in skills for d in ["", *script.dialects]]
    used = [
        k.routing_waiting(q, p) for q, p in waiting if q in QUEUES and p in ("", "sr", *DIALECTS)
    ]
    used += [
        k.routing_available(s, d) for s, d in free if s in ("*", *SKILLS) and d in ("", *DIALECTS)
    ]
    unused = [k.routing_waiting(q, p) for q, p in waiting] + [
        k.routing_available(s, d) for s, d in free
    ]
    return used, [name for name in unused if name not in used]


def _read(run: Run) -> Store:
    """What the checks read, in one round trip (~50 commands: reading every index key each
    step, ~100, took a third of the property's time)."""
    k = run.desk.keys
    used, unused = _index_keys(run)
    pipe = run.desk.r.pipeline(transaction=False)
    pipe.hgetall(k.routing_calls())
    pipe.hgetall(k.routing_agent_states())
    pipe.hgetall(k.routing_staffed())
    pipe.zrange(k.routing_wrap_up(), 0, -1, withscores=True)
    pipe.xrange(k.stats_events())
    pipe.exists(*unused)
    for name in used:
        pipe.zrange(name, 0, -1, withscores=True)
    calls, states, staffed, wrap_up, events, strays, *zsets = pipe.execute()
    assert strays == 0, "a queue, dialect or skill nobody has holds someone"
    indexes: dict[str, dict[str, float]] = {name: {} for name in unused}
    indexes |= {name: dict(z) for name, z in zip(used, zsets, strict=True)}
    return Store(
        calls={sid: json.loads(v) for sid, v in calls.items()},
        states={aid: json.loads(v) for aid, v in states.items()},
        staffed={f: int(v) for f, v in staffed.items()},
        wrap_up=dict(wrap_up),
        events=[fields for _, fields in events],
        zsets=indexes,
    )


# -- the rules, recomputed ---------------------------------------------------------------------


def _eligible(
    run: Run,
    agent: Agent,
    call: dict[str, Any],
    now: int,
    staffed: list[Agent],
    free_seniors: int | None = None,
) -> bool:
    """May `agent` take `call` now? `free_seniors`: senior-trained agents free at that moment
    (None: not known, so the reserve is not checked)."""
    rule = run.desk.router.script.rule[call["q"]]
    if now < call.get("mx", {}).get(agent.id, 0):
        return False  # an agent who just missed this caller is not rung again at once
    waited = now - call["e"]
    routing = run.desk.router.settings.routing
    if (
        free_seniors is not None
        and "senior" in agent.skills
        and call["sr"] != 1
        and waited < routing.senior_reserve_release * 1000
        and free_seniors <= routing.senior_reserve
    ):
        return False  # one of the last free senior-trained agents, kept for seniors
    dialect = call["d"]
    for rung in rule.ladder:  # the queue's widening ladder, rungs opening in order
        if waited < rung.after * 1000:
            break
        if rung.skill and rung.skill not in agent.skills:
            continue
        speakers = [a for a in staffed if dialect in a.dialects]
        if rung.skill:
            speakers = [a for a in speakers if rung.skill in a.skills]
        if not (rung.dialect and speakers) or dialect in agent.dialects:
            return True
    return False


def _ever_eligible(run: Run, agent: Agent, call: dict[str, Any]) -> bool:
    """Could `agent` take `call` at some wait: a rung of its queue's ladder is theirs."""
    rule = run.desk.router.script.rule[call["q"]]
    return any(not rung.skill or rung.skill in agent.skills for rung in rule.ladder)


def _rank(run: Run, sid: str, call: dict[str, Any]) -> tuple[float, int, str]:
    """Who goes first: priority, then the longest wait; a caller past their queue's aging
    bound goes ahead of every priority (queues' age_after)."""
    rule = run.desk.router.script.rule[call["q"]]
    aged = rule.age_after and epoch_ms(run.clock.now()) - call["e"] >= rule.age_after * 1000
    return (-math.inf if aged else -rule.priority, call["e"], sid)


def _check(run: Run, offers: list[Offer], ordered: bool) -> None:
    now = epoch_ms(run.clock.now())
    store = _read(run)
    calls, states = store.calls, store.states
    team = {a.id: a for a in run.present()}
    assert set(states) == set(team), "agents' states and the team disagree"
    staffed = [team[aid] for aid, s in states.items() if s["s"] in STAFFED]
    available = [team[aid] for aid, s in states.items() if s["s"] == "available"]
    waiting = {sid: c for sid, c in calls.items() if c["st"] == "waiting"}
    _check_pairs(run, calls, states)
    _check_lines(run, store, waiting)
    _check_agents(run, store, team, now)
    _check_events(run, store)
    run.seen.update(calls)
    for offer in offers:
        assert epoch_ms(offer.entered_at) == run.entered[offer.call_sid], "entry time lost"
    # The reserve is checked here, where the free senior-trained agents are known; an offer's
    # moment (below) is past, so there it is not.
    free_seniors = sum("senior" in a.skills for a in available)
    for agent in available:
        for sid, c in waiting.items():
            idles = _eligible(run, agent, c, now, staffed, free_seniors)
            assert not idles, f"{agent.id} idles; {sid} waits"
    offered = {(sid, c["ag"], c["om"]) for sid, c in calls.items() if c["st"] == "offered"}
    fresh = {sid: calls[sid] for sid, _, _ in offered - run.offered}
    run.offered = offered
    before, run.staffed = run.staffed, {a.id for a in staffed}
    was_free, run.free = run.free, {a.id for a in available}
    for sid, c in fresh.items():
        agent = team[c["ag"]]
        if (sid, c["ag"], c["om"]) in run.reserved:
            # A return visit takes only an agent nobody waiting could have, now or later,
            # within the campaigns' share (half) of the staffed agents.
            for other, w in waiting.items():
                assert not _ever_eligible(run, agent, w), f"{other} could have had {agent.id}"
            holding = sum(calls[v]["st"] in LIVE for v in run.visits if v in calls)
            assert holding <= len(staffed) // 2, "return visits hold more than their share"
            continue
        # In a burst the agents' changes land in any order, and an agent who speaks the
        # caller's dialect may sign in after the offer was made: then, at the offer, only
        # those staffed before the burst (and the agent offered) were staffed.
        # An agent who went away and came back within the burst may have been away at the
        # offer: only those staffed before it and untouched by it surely were.
        surely = before - run.unsure
        then = staffed if ordered else [a for a in staffed if a.id in surely or a is agent]
        assert _eligible(run, agent, c, now, then), f"{sid} given to {agent.id} too early"
        # At the offer this agent was free too: the fewest free senior-trained agents then.
        # (A higher count would only make more callers eligible: this never blames an order
        # the reserve explains, and may miss one it does not.)
        least = free_seniors + ("senior" in agent.skills)
        for other, w in waiting.items():
            if ordered and _eligible(run, agent, w, now, staffed, least):
                assert _rank(run, sid, c) < _rank(run, other, w), f"{other} was ahead of {sid}"
        if c["q"] == "senior" and "senior" not in agent.skills:
            # The agent who just let this caller ring out is not rung again at once
            # (route.lua, `excluded`): the next agent is, trained or not, once widened.
            # In a burst, an agent free now may have signed in after the offer: only those
            # free before it were free at the offer.
            missed = {aid for aid, till in c.get("mx", {}).items() if now < till}
            free = [a for a in available if "senior" in a.skills and a.id not in missed]
            free = [a for a in free if ordered or a.id in was_free - run.unsure]
            assert not free, "a senior agent was free"


def _check_pairs(
    run: Run, calls: dict[str, dict[str, Any]], states: dict[str, dict[str, Any]]
) -> None:
    """Each busy agent's call points back at them; nobody else points at a call, and no
    call at an agent, but a conversation whose agent was removed during it."""
    busy = {aid: s["c"] for aid, s in states.items() if s["s"] in LIVE}
    idle = {aid: s["c"] for aid, s in states.items() if s["s"] not in LIVE}
    assert all(sid == "" for sid in idle.values()), f"an agent not busy holds a call: {idle}"
    assigned = {sid: c["ag"] for sid, c in calls.items() if c["st"] in LIVE}
    for sid in run.orphans & set(assigned):
        assert calls[sid]["st"] == "on_call", f"{sid} is offered to a removed agent"
        del assigned[sid]
    assert len(set(busy.values())) == len(busy), "a caller is with two agents"
    assert {sid: aid for aid, sid in busy.items()} == assigned, "agents and calls disagree"
    for aid, sid in busy.items():
        assert calls[sid]["st"] == states[aid]["s"], f"{aid} and {sid} disagree on the state"
    for sid, c in calls.items():
        if c["st"] in ("waiting", "retry"):
            assert c["ag"] == "", f"{sid} waits, pointing at {c['ag']}"


def _check_lines(run: Run, store: Store, waiting: dict[str, Any]) -> None:
    """The waiting callers, each in their queue, its bucket for their dialect and (seniors)
    its seniors' bucket, under their entry time; nobody else in any of them."""
    k, script = run.desk.keys, run.desk.router.script
    for sid, c in store.calls.items():
        assert c["e"] == run.entered[sid], f"{sid} lost its entry time"
        queue, dialect, senior = run.callers[sid]
        assert (c["d"], c["sr"]) == (dialect, senior), f"{sid} changed dialect or seniority"
        assert c["q"] in (queue, run.moves_to.get(queue)), f"{sid} is in {c['q']}"
    for q in script.rule:
        mine = {sid: c for sid, c in waiting.items() if c["q"] == q}
        expect = {"": mine, "sr": {sid: c for sid, c in mine.items() if c["sr"] == 1}}
        for b in [*script.dialects, "other"]:
            # a dialect without a bucket of its own waits in `other`
            expect[b] = {
                sid: c
                for sid, c in mine.items()
                if c["d"] == b or (b == "other" and c["d"] not in script.dialects)
            }
        for part, calls in expect.items():
            got = store.zsets[k.routing_waiting(q, part)]
            want = {sid: float(run.entered[sid]) for sid in calls}
            assert got == want, f"waiting {q}:{part} is {got}, not {want}"


def _check_agents(run: Run, store: Store, team: dict[str, Agent], now: int) -> None:
    """The free agents' indexes, the staffed counts and the wrap-up set, from the agents'
    states and profiles."""
    k, script = run.desk.keys, run.desk.router.script
    free = {aid: s for aid, s in store.states.items() if s["s"] == "available"}
    for aid, s in free.items():
        # idle since a moment no later than they became available (one whose caller hung up
        # while ringing them keeps their turn)
        assert s["i"] <= s["t"] <= now, f"{aid} idle since {s['i']}, available since {s['t']}"
    counts: Counter[str] = Counter()
    for aid, s in store.states.items():
        if s["s"] in STAFFED:
            a = team[aid]
            for skill in ["*", *sorted(a.skills & set(script.skills))]:
                counts[f"{skill}|"] += 1
                counts.update(f"{skill}|{d}" for d in a.dialects if d in script.dialects)
    assert all(n >= 0 for n in store.staffed.values()), f"negative counts: {store.staffed}"
    assert {f: n for f, n in store.staffed.items() if n} == counts, "staffed counts are off"
    for skill in ["*", *script.skills]:
        for d in ["", *script.dialects]:
            want = {
                aid: float(s["i"])
                for aid, s in free.items()
                if (skill == "*" or skill in team[aid].skills)
                and (d == "" or d in team[aid].dialects)
            }
            got = store.zsets[k.routing_available(skill, d)]
            assert got == want, f"free {skill}:{d} is {got}, not {want}"
    wrapping = {aid: s for aid, s in store.states.items() if s["s"] == "wrap_up"}
    assert store.wrap_up == {aid: float(s["w"]) for aid, s in wrapping.items()}, "wrap-up set"
    wrap_ms = run.desk.router.settings.routing.wrap_up_seconds * 1000
    for aid, s in wrapping.items():
        # a settled wrap-up has not run out, and lasts the configured time from its start
        assert now < s["w"] == s["t"] + wrap_ms, f"{aid}'s wrap-up: {s}"


def _check_events(run: Run, store: Store) -> None:
    """Each call's events, as fits its life: entered once (a caller, not a return visit),
    then at most one ending, the one its state says; answered once if it was answered, and
    before its completion."""
    kinds: dict[str, list[str]] = {}
    for e in store.events:
        kinds.setdefault(e["call"], []).append(e["kind"])
    for sid in run.entered:
        got = kinds.get(sid, [])
        c = store.calls.get(sid)
        if c is None:  # pruned: a call still live then was closed as unreported
            c = dict(run.seen[sid])
            if c["st"] in LIVE or (c["st"] == "waiting" and c["cb"] != 1):
                c["st"] = "unreported"
        assert got.count("entered") == (sid not in run.visits), f"{sid}: {got}"
        once = Counter(k for k in got if k in TERMINAL or k in ("entered", "answered"))
        assert all(n == 1 for n in once.values()), f"{sid} repeats an event: {got}"
        ended = set(got) & TERMINAL
        want = {ENDED_BY[c["st"]]} if c["st"] in ENDED_BY else set()
        assert ended == want, f"{sid} is {c['st']} with events {got}"
        answered = c["am"] > 0
        assert ("answered" in got) == answered, f"{sid} answered at {c['am']}: {got}"
        if c["st"] in ("on_call", "done"):
            assert answered, f"{sid} is {c['st']}, never answered"
        if "completed" in got:
            assert got.index("answered") < got.index("completed"), f"{sid}: {got}"
        assert "abandoned" not in got or not answered, f"{sid} abandoned once answered: {got}"


def _tickets(run: Run, offers: list[Offer], into: set[Ticket]) -> None:
    calls = _calls(run) if offers else {}
    for offer in offers:
        c = calls.get(offer.call_sid)
        if c is not None and c["st"] == "offered" and c["ag"] == offer.agent.id:
            into.add((offer.call_sid, offer.agent.id, c["om"], offer.callback))


def _check_pulled_once(run: Run, pulls: list[Offer]) -> None:
    """A pull (REST dequeue or call-back call) is handed out once, never for a caller who
    already got their agent in their own webhook's answer."""
    fresh: set[Ticket] = set()
    _tickets(run, pulls, fresh)
    assert not fresh & run.pulled, f"handed out twice: {fresh & run.pulled}"
    assert not fresh & run.direct, f"pulled a caller already dialled: {fresh & run.direct}"
    run.pulled |= fresh
