"""How many agents, senior-trained ones and dialect speakers a load needs (`silverline plan`).

A first guess from queueing theory (Erlang C, Cobham's priority formula: erlang.py), then
simulations through the real app on the offline Twilio (webhooks, TwiML, the routing Lua)
with common random numbers: every candidate team meets the same callers, so "N meets the
targets and N - 1 does not" compares teams, not luck. docs/planning.md says how it searches
and how sure the answer is.
"""

from __future__ import annotations

import dataclasses
import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialects.packs import default_packs
from ivr.simulator import erlang
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.offline import Offline
from ivr.simulator.traffic import (
    Plan,
    Population,
    arrivals,
    batch_means,
    caller_for,
    outcome,
    t_half_width,
)

WHISPER_S = 1.0  # the connection's overhead beyond ringing, for the first guess only
WARM_UP = 0.05  # the share of first calls dropped: they met an empty hotline
MAX_AGENTS = 2000


class Unreachable(ValueError):
    """No team the search tries meets the targets (what misses is not staffing)."""


@dataclass(frozen=True)
class Targets:
    """What the team must achieve; `sl_seconds` is the service level's threshold."""

    senior_tth_mean_s: float = 4.6
    senior_tth_p90_s: float = 8.0
    other_sl: float = 0.8
    sl_seconds: float = 20.0
    abandon: float = 0.05


@dataclass(frozen=True)
class Load:
    """One interval's traffic: arrivals per second and the seniors' share of them."""

    label: str
    rate: float
    senior_share: float


@dataclass(frozen=True)
class Setup:
    """What every simulation of a plan shares: handling, the callers, the run's size."""

    aht_s: float  # handle time: talk plus wrap-up
    wrap_up_s: int
    patience_s: float
    answer_after_s: float
    calls: int
    seed: int = 1
    mix: tuple[tuple[str, float], ...] = ()  # seniors' dialects other than Mandarin, shares


@dataclass(frozen=True, order=True)
class Team:
    """Agents; the first `senior_trained` are senior-trained, the first n speak dialect d."""

    agents: int
    senior_trained: int
    speakers: tuple[tuple[str, int], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "agents": self.agents,
            "senior_trained": self.senior_trained,
            "speakers": dict(self.speakers),
        }


@dataclass(frozen=True)
class Estimate:
    """A measured figure and its 99% confidence half-width (batch means)."""

    value: float
    half: float

    def as_dict(self) -> dict[str, float | None]:
        """Rounded; an infinite value or interval (too few calls to say) is None."""
        return {
            "value": None if math.isinf(self.value) else round(self.value, 4),
            "ci99": None if math.isinf(self.half) else round(self.half, 4),
        }


@dataclass(frozen=True)
class Measured:
    """The targets' figures in one simulation, each with its interval."""

    senior_tth_mean_s: Estimate
    senior_tth_p90_s: Estimate
    other_sl: Estimate
    abandon: Estimate

    def misses(self, t: Targets) -> list[str]:
        """The targets this run misses (by its point estimates), by name."""
        out = []
        if self.senior_tth_mean_s.value > t.senior_tth_mean_s:
            out.append("senior_tth_mean_s")
        if self.senior_tth_p90_s.value > t.senior_tth_p90_s:
            out.append("senior_tth_p90_s")
        if self.other_sl.value < t.other_sl:
            out.append("other_sl")
        if self.abandon.value > t.abandon:
            out.append("abandon")
        return out

    def marginal(self, t: Targets) -> list[str]:
        """Targets inside this run's 99% interval: another run could land on either side."""
        pairs = [
            ("senior_tth_mean_s", self.senior_tth_mean_s, t.senior_tth_mean_s),
            ("senior_tth_p90_s", self.senior_tth_p90_s, t.senior_tth_p90_s),
            ("other_sl", self.other_sl, t.other_sl),
            ("abandon", self.abandon, t.abandon),
        ]
        return [name for name, e, goal in pairs if abs(e.value - goal) <= e.half]

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k).as_dict() for k in self.__dataclass_fields__}


@dataclass(frozen=True)
class Call:
    """One caller's result: class, time to a human (None: never reached one), wait, end."""

    label: str
    tth_s: float | None
    wait_s: float | None
    answered: bool
    abandoned: bool


Runner = Callable[[Setup, Load, Team], list[Call]]


@dataclass
class Search:
    """The search for one load: every team simulated, and the answer."""

    load: Load
    guess: Team
    runs: dict[Team, Measured] = field(default_factory=dict)
    team: Team | None = None

    def as_dict(self, targets: Targets) -> dict[str, Any]:
        assert self.team is not None
        fewer = dataclasses.replace(self.team, agents=self.team.agents - 1)
        below = _clip(fewer)
        return {
            "interval": self.load.label,
            "rate": self.load.rate,
            "senior_share": self.load.senior_share,
            "guess": self.guess.as_dict(),
            "team": self.team.as_dict(),
            "measured": self.runs[self.team].as_dict(),
            "marginal": self.runs[self.team].marginal(targets),
            "one_fewer_misses": self.runs[below].misses(targets) if below in self.runs else None,
            "simulations": len(self.runs),
        }


def measure(calls: list[Call], targets: Targets) -> Measured:
    """The targets' figures of a run, the first calls (an empty hotline) left out."""
    steady = calls[int(len(calls) * WARM_UP) :]
    seniors = [c for c in steady if c.label == "senior" and (c.answered or c.abandoned)]
    others = [c for c in steady if c.label == "other" and (c.answered or c.abandoned)]
    handled = [c for c in steady if c.answered or c.abandoned]
    tth = [c.tth_s if c.tth_s is not None else math.inf for c in seniors]
    reached = [t for t in tth if not math.isinf(t)]
    sl = [float(c.answered and (c.wait_s or 0.0) <= targets.sl_seconds) for c in others]
    return Measured(
        _mean(reached),
        _p90(tth),
        _mean(sl, empty=1.0),
        _mean([float(c.abandoned) for c in handled]),
    )


def _mean(values: list[float], empty: float = 0.0) -> Estimate:
    if len(values) < 40:  # too few for 20 batches of two: the mean alone, no interval
        return Estimate(sum(values) / len(values) if values else empty, math.inf)
    return Estimate(*batch_means(values))


def _p90(values: list[float]) -> Estimate:
    """The 90th percentile; its interval from the spread of 20 consecutive batches' p90s.

    Sectioning: the point is the whole run's p90 (a batch's p90 is biased by its small
    size), the half-width a t-interval over the 20 batch p90s (19 degrees of freedom),
    which are nearly independent as batch means are.
    """
    if not values:
        return Estimate(0.0, math.inf)
    whole = _quantile(values, 0.9)
    size = len(values) // 20
    if size < 10:  # the p90 of fewer than ten calls is simply their largest: no interval
        return Estimate(whole, math.inf)
    parts = [_quantile(values[i * size : (i + 1) * size], 0.9) for i in range(20)]
    if any(math.isinf(p) for p in parts) or math.isinf(whole):
        return Estimate(whole, math.inf)
    return Estimate(whole, t_half_width(parts))


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


# -- the first guess -------------------------------------------------------------------------


def first_guess(setup: Setup, load: Load, targets: Targets) -> Team:
    """The team queueing theory asks for: agents, then senior-trained, then speakers."""
    handle = setup.aht_s + setup.answer_after_s + WHISPER_S  # ringing holds the agent too
    seniors = load.rate * load.senior_share
    total = _smallest(lambda n: _theory_meets(load.rate, seniors, handle, n, setup, targets))
    trained = _smallest(_senior_test(seniors, handle, setup, targets), cap=total)
    speakers = tuple(
        (d, _smallest(_senior_test(seniors * share, handle, setup, targets), cap=total))
        for d, share in setup.mix
    )
    return Team(total, trained if seniors > 0 else 0, speakers)


def _smallest(ok: Callable[[int], bool], cap: int = MAX_AGENTS) -> int:
    for n in range(1, cap + 1):
        if ok(n):
            return n
    return cap


def _theory_meets(
    rate: float, seniors: float, handle: float, n: int, setup: Setup, targets: Targets
) -> bool:
    if rate * handle >= n:
        return False
    senior_w, other_w = erlang.priority_mean_waits([seniors, rate - seniors], handle, n)
    sl = erlang.service_level(rate, handle, n, targets.sl_seconds)
    abandon = erlang.mean_wait(rate, handle, n) / setup.patience_s  # while abandons are few
    senior_ok = setup.answer_after_s + WHISPER_S + senior_w <= targets.senior_tth_mean_s
    others_ok = sl >= targets.other_sl and not math.isinf(other_w)
    return senior_ok and others_ok and abandon <= targets.abandon


def _senior_test(
    rate: float, handle: float, setup: Setup, targets: Targets
) -> Callable[[int], bool]:
    return lambda n: _senior_wait_ok(rate, handle, n, setup, targets)


def _senior_wait_ok(rate: float, handle: float, n: int, setup: Setup, targets: Targets) -> bool:
    """Seniors alone on `n` agents wait little enough for their time-to-human mean."""
    if rate * handle >= n:
        return False
    wait = erlang.mean_wait(rate, handle, n)
    return setup.answer_after_s + WHISPER_S + wait <= targets.senior_tth_mean_s


# -- the search --------------------------------------------------------------------------


def _trained_then_speakers(
    setup: Setup, load: Load, search: Search, meets: Callable[[Team], bool], agents: int
) -> Team:
    """With the team's size settled: the fewest senior-trained, then speakers of each dialect."""
    all_speak = tuple((d, MAX_AGENTS) for d, _ in setup.mix)
    low = 1 if load.senior_share > 0 else 0
    trained = _step(
        search.guess.senior_trained, lambda n: meets(Team(agents, n, all_speak)), low, agents
    )
    team = _clip(Team(agents, agents if trained is None else trained, all_speak))
    for i in range(len(setup.mix)):
        base = team
        n = _step(search.guess.speakers[i][1], _speakers_test(meets, base, i), 1, agents)
        team = _clip(_speaking(base, i, agents if n is None else n))
    return team


def plan_load(
    setup: Setup, load: Load, targets: Targets, run: Runner, on_run: Callable[[Team], None]
) -> Search:
    """The smallest team meeting every target: agents, then senior-trained, then speakers.

    Each dimension steps from the first guess: down while the targets hold, else up until
    they do; the dimensions not yet decided are at their most generous (every agent
    trained, every agent speaking every dialect).
    """
    search = Search(load, first_guess(setup, load, targets))

    def meets(team: Team) -> bool:
        team = _clip(team)
        if team not in search.runs:
            on_run(team)
            search.runs[team] = measure(run(setup, load, team), targets)
        return not search.runs[team].misses(targets)

    all_speak = tuple((d, MAX_AGENTS) for d, _ in setup.mix)
    # Beyond twice the guess more agents buy nothing: what misses then is not staffing (the
    # greeting and the ringing alone take longer than the time-to-human target, say).
    cap = min(MAX_AGENTS, max(2 * search.guess.agents, search.guess.agents + 10))
    agents = _step(search.guess.agents, lambda n: meets(Team(n, n, all_speak)), 1, cap)
    if agents is None:
        most = search.runs[_clip(Team(cap, cap, all_speak))]
        raise Unreachable(
            f"{load.label}: even {cap} agents miss {', '.join(most.misses(targets))}: "
            f"{json.dumps(most.as_dict())}"
        )
    search.team = team = _trained_then_speakers(setup, load, search, meets, agents)
    if team.agents > 1:  # shown: what one agent fewer misses
        meets(dataclasses.replace(team, agents=team.agents - 1))
    return search


def _speakers_test(meets: Callable[[Team], bool], base: Team, i: int) -> Callable[[int], bool]:
    return lambda n: meets(_speaking(base, i, n))


def _speaking(team: Team, i: int, n: int) -> Team:
    """`team` with `n` speakers of its i-th dialect."""
    spoken = list(team.speakers)
    spoken[i] = (spoken[i][0], n)
    return Team(team.agents, team.senior_trained, tuple(spoken))


def _clip(team: Team) -> Team:
    """The same team said plainly: no more trained agents or speakers than agents."""
    n = max(team.agents, 0)
    speakers = tuple((d, min(k, n)) for d, k in team.speakers)
    return Team(n, min(team.senior_trained, n), speakers)


def _step(start: int, ok: Callable[[int], bool], low: int, high: int) -> int | None:
    """The smallest n in [low, high] with ok(n), stepping from `start` (ok grows with n)."""
    n = min(max(start, low), high)
    if ok(n):
        while n > low and ok(n - 1):
            n -= 1
        return n
    while n < high:
        n += 1
        if ok(n):
            return n
    return None


# -- one simulation through the real app ---------------------------------------------------


def simulate_team(offline: Offline, setup: Setup, load: Load, team: Team) -> list[Call]:
    """Run `setup.calls` callers at `load` through the app against `team`; one Call each.

    As `simulate` (offline.py) does, with a team of mixed skills: the first
    `team.senior_trained` agents are senior-trained, the first n of each dialect's speakers
    speak it (and all speak Mandarin); seniors' records carry a dialect drawn from the mix.
    """
    plan = Plan(
        calls=setup.calls,
        rate=load.rate,
        agents=team.agents,
        senior_share=load.senior_share,
        aht_s=setup.aht_s - setup.wrap_up_s,
        patience_s=setup.patience_s,
        seed=setup.seed,
        answer_delay_s=(setup.answer_after_s, setup.answer_after_s),
        wrap_up_s=setup.wrap_up_s,
    )
    _staff(offline, plan, team)
    offline.sleep_until_due = True
    legs: list[tuple[Leg, str]] = []
    callers = _callers(offline, plan, setup)
    offline.sim.sched.spawn(arrivals(offline.sim, plan, offline.call, callers, legs))
    offline.run()
    return [_call(leg, label) for leg, label in legs]


def _staff(offline: Offline, plan: Plan, team: Team) -> None:
    topics = {t.queue for t in offline.engine.settings.ivr.topics} | {"complaints"}
    spoken = dict(team.speakers)
    others = tuple(d for d in default_packs().codes if d != "mandarin" and d not in spoken)
    for n in range(team.agents):
        skills = topics | ({"senior"} if n < team.senior_trained else set())
        dialects = ("mandarin", *others, *(d for d, k in team.speakers if n < k))
        offline.add_agent(
            f"sim{n:03d}",
            skills,
            dialects,
            aht_s=plan.aht_s,
            answer_delay_s=plan.answer_delay_s,
        )


def _callers(
    offline: Offline, plan: Plan, setup: Setup
) -> Callable[[int, random.Random], VirtualCaller]:
    population = Population(random.Random(plan.seed + 2))
    dialect_rng = random.Random(plan.seed + 3)  # its own stream: the arrivals stay the same
    agent_key = offline.engine.settings.ivr.agent_key

    def callers(i: int, rng: random.Random) -> VirtualCaller:
        caller = caller_for(i, rng, plan, population, agent_key)
        if caller.senior:
            record = population.seniors[-1]
            dialect = _draw(dialect_rng, setup.mix)
            offline.engine.directory.save(dataclasses.replace(record, dialect=dialect))
        return caller

    return callers


def _draw(rng: random.Random, mix: tuple[tuple[str, float], ...]) -> str:
    x = rng.random()
    for dialect, share in mix:
        if x < share:
            return dialect
        x -= share
    return "mandarin"


def _call(leg: Leg, label: str) -> Call:
    o = outcome(leg, label)
    tth = None if leg.bridged_at is None else leg.bridged_at - leg.created_at
    answered = o.answered is not None
    return Call(label, tth, o.wait_s, answered, not answered and o.ended is not None)
