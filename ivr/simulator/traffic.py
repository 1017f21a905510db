"""Traffic through the hotline: Poisson arrivals, seniors and others, figures per class."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import Input, VirtualCaller, patience
from ivr.simulator.core.steps import Steps
from ivr.simulator.core.switch import Simulator
from routing.callers.caller import Customer

CLASSES = ("senior", "other", "all")
ROUTED_PATHS = ("agent", "abandoned_queue", "callback")  # the paths of calls offered to agents


@dataclass(frozen=True)
class Plan:
    """What to run: `calls` arrivals at `rate` per second, `agents` agents, talk ~Exp(aht).

    `aht_s` is the mean talk time of the agents' phones; the engine adds its wrap-up
    (`wrap_up_s` when the run sets it, else the configuration's) to each call's handle time.
    """

    calls: int
    rate: float
    agents: int
    senior_share: float
    aht_s: float = 180.0
    patience_s: float = math.inf
    seed: int = 0
    answer_delay_s: tuple[float, float] = (0.0, 0.0)
    miss_probability: float = 0.0
    sl_seconds: float = 20.0
    wrap_up_s: int | None = None
    # "routing": patience runs in the queue (as queueing theory counts it); "start": from the
    # call's start, so a caller may hang up in the menu or the after-hours flow too
    patience_from: str = "routing"
    # the share of agents on an open line (docs/time-to-human.md, "Open lines")
    open_lines: float = 0.0
    # the chance that a caller joining an open line is followed by the line dropping
    # (AgentPhone.line_drops)
    line_drops: float = 0.0


@dataclass(frozen=True)
class LivedCall:
    """One call as the caller lived it; times in seconds on the simulator's line."""

    label: str
    arrived: float
    routed: float | None
    waited: bool  # had to enter a queue
    answered: float | None  # an agent picked up (the whisper then plays to them)
    ended: float | None
    bridged: float | None = None  # the caller can hear the agent: "connected to" in the transcript
    # Where the call ended up (ivr/simulator/accounting.py's PATHS); "" when not classified
    path: str = ""

    @property
    def queued(self) -> bool:
        """Reached an agents' queue (offered): by its path, else by its first Enqueue or Dial."""
        return self.path in ROUTED_PATHS if self.path else self.routed is not None

    @property
    def wait_s(self) -> float | None:
        if self.routed is None:
            return None
        end = self.answered if self.answered is not None else self.ended
        return None if end is None else end - self.routed

    @property
    def tth_s(self) -> float | None:
        """Time to a human: from the first webhook to the bridge (docs/time-to-human.md)."""
        return None if self.bridged is None else self.bridged - self.arrived


@dataclass
class ClassFigures:
    """Offered, answered, abandoned, ASA, service level, longest wait, P(wait), time to a
    human (mean and p90 over the calls bridged to an agent; None when none was)."""

    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    asa_s: float = 0.0
    service_level: float = 0.0
    max_wait_s: float = 0.0
    p_wait: float = 0.0
    tth_s: float | None = None
    tth_p90_s: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "abandoned": self.abandoned,
            "asa_s": round(self.asa_s, 2),
            "service_level": round(self.service_level, 4),
            "max_wait_s": round(self.max_wait_s, 1),
            "p_wait": round(self.p_wait, 4),
            "time_to_human_s": _round(self.tth_s),
            "time_to_human_p90_s": _round(self.tth_p90_s),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def p90(values: list[float]) -> float | None:
    """The 90th percentile by nearest rank: at least 90 % of the values are at most it.

    Exact, from every call: the product's own p90 (routing/queues/events.py) is read off
    second-sized buckets because its aggregates keep counts, not calls; a run keeps every call.
    """
    if not values:
        return None
    ranked = sorted(values)
    return ranked[math.ceil(0.9 * len(ranked)) - 1]


def figures(outcomes: Iterable[LivedCall], sl_seconds: float) -> ClassFigures:
    """Contact-centre figures; SL = answered within T / (answered + abandoned)."""
    offered = [o for o in outcomes if o.queued]
    answered = [o.wait_s or 0.0 for o in offered if o.answered is not None]
    abandoned = [o for o in offered if o.answered is None and o.ended is not None]
    handled = len(answered) + len(abandoned)
    waits = [o.wait_s for o in offered if o.wait_s is not None]
    tths = [o.tth_s for o in offered if o.tth_s is not None]
    return ClassFigures(
        offered=len(offered),
        answered=len(answered),
        abandoned=len(abandoned),
        asa_s=sum(answered) / len(answered) if answered else 0.0,
        service_level=sum(w <= sl_seconds for w in answered) / handled if handled else 0.0,
        max_wait_s=max(waits, default=0.0),
        p_wait=sum(o.waited for o in offered) / len(offered) if offered else 0.0,
        tth_s=sum(tths) / len(tths) if tths else None,
        tth_p90_s=p90(tths),
    )


def report(outcomes: list[LivedCall], sl_seconds: float) -> dict[str, Any]:
    """{"classes": {"senior": {...}, "other": {...}, "all": {...}}}."""
    chosen: dict[str, Callable[[LivedCall], bool]] = {
        "senior": lambda o: o.label == "senior",
        "other": lambda o: o.label == "other",
        "all": lambda o: True,
    }
    return {
        "classes": {
            name: figures([o for o in outcomes if pick(o)], sl_seconds).as_dict()
            for name, pick in chosen.items()
        }
    }


# Two-sided 99% Student t quantiles by degrees of freedom (batches - 1).
_T995 = {9: 3.250, 19: 2.861, 29: 2.756, 39: 2.708, 49: 2.680}


def batch_means(values: list[float], batches: int = 20) -> tuple[float, float]:
    """Mean and 99% confidence half-width by the method of batch means.

    Consecutive waits in a queue are correlated; the means of long consecutive batches are
    nearly independent, so their spread gives an honest interval.
    """
    size = len(values) // batches
    if size < 2 or batches - 1 not in _T995:
        raise ValueError(f"batch_means needs batches in {sorted(_T995)} (+1) and 2+ per batch")
    means = [sum(values[i * size : (i + 1) * size]) / size for i in range(batches)]
    return sum(means) / batches, t_half_width(means)


def t_half_width(estimates: list[float]) -> float:
    """The 99% Student t half-width of the mean of nearly independent batch estimates.

    The estimates are one figure per batch (a batch's mean, or its p90): their spread,
    with len - 1 degrees of freedom, is what another run's figure could differ by.
    """
    n = len(estimates)
    if n - 1 not in _T995:
        raise ValueError(f"t_half_width needs {sorted(k + 1 for k in _T995)} estimates, got {n}")
    centre = sum(estimates) / n
    variance = sum((e - centre) ** 2 for e in estimates) / (n - 1)
    return _T995[n - 1] * math.sqrt(variance / n)


def arrival_span(outcomes: list[LivedCall]) -> tuple[float, float]:
    """From the first arrival to the last: the time the offered load is steady."""
    arrived = [o.arrived for o in outcomes]
    return (min(arrived), max(arrived)) if arrived else (0.0, 0.0)


def outcome(leg: Leg, label: str) -> LivedCall:
    return LivedCall(
        label,
        leg.created_at,
        leg.routed_at,
        leg.enqueued_at is not None,
        leg.agent_answered_at,
        leg.ended_at,
        leg.bridged_at,
    )


@dataclass
class Population:
    """Who calls: numbers of seniors (in the directory, 60+) and of others (not in it)."""

    rng: random.Random
    birth_year: int = 1950
    seniors: list[Customer] = field(default_factory=list)
    first: int = 0  # numbers run from `first`: a live run picks a random block of its own

    def senior(self, i: int) -> Customer:
        n = self.first + i
        number = f"+86139{n:08d}"
        born = date(self.birth_year, 1 + i % 12, 1 + i % 28)
        customer = Customer(f"sim{n}", f"长者{i}", born, "mandarin", (number,))
        self.seniors.append(customer)
        return customer

    def other_number(self, i: int) -> str:
        return f"+86137{self.first + i:08d}"


def arrivals(
    sim: Simulator,
    plan: Plan,
    place: Callable[[VirtualCaller], Leg],
    callers: Callable[[int, random.Random], VirtualCaller],
    legs: list[tuple[Leg, str]],
) -> Steps:
    """Place `plan.calls` calls with exponential gaps (a Poisson process at `plan.rate`)."""
    rng = random.Random(plan.seed + 1)
    for i in range(plan.calls):
        yield rng.expovariate(plan.rate)
        caller = callers(i, rng)
        caller.patience_s = patience(rng, plan.patience_s)
        caller.patience_from = plan.patience_from
        legs.append((place(caller), caller.label))


def caller_for(
    i: int, rng: random.Random, plan: Plan, population: Population, agent_key: str
) -> VirtualCaller:
    """A senior (straight through, no menu) or another caller who presses the agent key."""
    if rng.random() < plan.senior_share:
        number = population.senior(i).phones[0]
        return VirtualCaller(number, rng, senior=True, label="senior")
    return VirtualCaller(
        population.other_number(i), rng, inputs=[Input(digits=agent_key, after=0.0)], label="other"
    )
