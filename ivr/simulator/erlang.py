"""Erlang C: the M/M/c queue's probability of waiting, mean wait and service level."""

from __future__ import annotations

import math


def erlang_b(traffic: float, agents: int) -> float:
    """Blocking probability of an M/M/c/c system, by the stable recursion."""
    blocking = 1.0
    for k in range(1, agents + 1):
        blocking = traffic * blocking / (k + traffic * blocking)
    return blocking


def p_wait(traffic: float, agents: int) -> float:
    """Probability an arriving caller waits (Erlang C), `traffic` in Erlangs (λ/μ)."""
    if traffic >= agents:
        return 1.0
    top = traffic**agents / math.factorial(agents) * agents / (agents - traffic)
    bottom = sum(traffic**k / math.factorial(k) for k in range(agents)) + top
    return top / bottom


def mean_wait(rate: float, aht_s: float, agents: int) -> float:
    """Mean wait in seconds of all callers (ASA) for arrivals at `rate` per second."""
    traffic = rate * aht_s
    if traffic >= agents:
        return math.inf
    return p_wait(traffic, agents) * aht_s / (agents - traffic)


def service_level(rate: float, aht_s: float, agents: int, target_s: float) -> float:
    """Share of callers answered within `target_s` seconds."""
    traffic = rate * aht_s
    if traffic >= agents:
        return 0.0
    return 1.0 - p_wait(traffic, agents) * math.exp(-(agents - traffic) * target_s / aht_s)


def priority_mean_waits(rates: list[float], aht_s: float, agents: int) -> list[float]:
    """Mean wait per class of an M/M/c queue with non-preemptive priority, highest first.

    Cobham's formula for equal exponential talk times: class k waits
    C(c, a) / (c·μ · (1 - σ_{k-1}) · (1 - σ_k)), where σ_k is the load of classes 1..k.
    """
    traffic = sum(rates) * aht_s
    if traffic >= agents:
        return [math.inf] * len(rates)
    base = p_wait(traffic, agents) * aht_s / agents
    waits, above = [], 0.0
    for rate in rates:
        load = above + rate * aht_s / agents
        waits.append(base / ((1 - above) * (1 - load)))
        above = load
    return waits
