"""Erlang C against values known in closed form and the Erlang B identity."""

from __future__ import annotations

import math

import pytest

from ivr.simulator import erlang


def test_one_agent_is_the_m_m_1_queue() -> None:
    # M/M/1: P(wait) = rho, W = rho / (mu - lambda); lambda = 0.8/min, mean talk 1 min.
    assert erlang.p_wait(0.8, 1) == pytest.approx(0.8)
    assert erlang.mean_wait(0.8 / 60, 60.0, 1) == pytest.approx(0.8 / (1 / 60 - 0.8 / 60))


def test_two_agents_one_erlang_wait_with_probability_one_third() -> None:
    assert erlang.p_wait(1.0, 2) == pytest.approx(1 / 3)
    # W = C / (c mu - lambda) with mu = 1/100 s, lambda = 1/100 s.
    assert erlang.mean_wait(0.01, 100.0, 2) == pytest.approx((1 / 3) / (0.02 - 0.01))


def test_erlang_b_table_value() -> None:
    # Published Erlang B tables: 10 Erlangs offered to 10 lines block 21.46% of calls.
    assert erlang.erlang_b(10.0, 10) == pytest.approx(0.2146, abs=5e-5)


@pytest.mark.parametrize(("traffic", "agents"), [(3.0, 4), (10.0, 11), (48.0, 55)])
def test_erlang_c_agrees_with_erlang_b(traffic: float, agents: int) -> None:
    b = erlang.erlang_b(traffic, agents)
    rho = traffic / agents
    assert erlang.p_wait(traffic, agents) == pytest.approx(b / (1 - rho * (1 - b)))


def test_service_level_falls_with_traffic_and_overload_never_meets_it() -> None:
    light = erlang.service_level(1 / 60, 120.0, 4, 20.0)
    heavy = erlang.service_level(1.8 / 60, 120.0, 4, 20.0)
    assert 1.0 > light > heavy > 0.0
    assert erlang.service_level(5 / 60, 120.0, 4, 20.0) == 0.0
    assert erlang.mean_wait(5 / 60, 120.0, 4) == math.inf


def test_priority_waits_conserve_the_fcfs_mean_and_favour_the_first_class() -> None:
    rate, aht, agents = 0.017, 100.0, 2
    senior, other = erlang.priority_mean_waits([0.3 * rate, 0.7 * rate], aht, agents)
    overall = erlang.mean_wait(rate, aht, agents)
    assert 0.3 * senior + 0.7 * other == pytest.approx(overall)  # work conservation
    assert senior / other == pytest.approx(1 - rate * aht / agents)
    assert erlang.priority_mean_waits([rate], aht, agents) == [pytest.approx(overall)]
