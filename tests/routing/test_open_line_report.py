"""The team report's open-line minutes: each line's connected time beside the talk time, the
lines still connected counted up to now (issue 37, "Supervisors see the price")."""

from __future__ import annotations

from routing.clock import FixedClock
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.settings import load_engine_settings
from routing.store import RedisClient
from routing.team_report import team_report

SKILLS = frozenset({"senior", "policy"})


def _persistent(engine: Engine, aid: str) -> None:
    engine.agents.save(Agent(aid, aid.upper(), f"client:{aid}", SKILLS, ("mandarin",), False, True))
    engine.router.set_agent_state(aid, "available")
    assert aid in [a.id for a in engine.router.lines().to_open]
    engine.router.open_line(aid, "placed", f"CAline{aid}")
    engine.router.open_room(aid, "join", f"CAline{aid}", f"CFroom{aid}")


def _row(report: dict[str, object], aid: str) -> dict[str, object]:
    rows = report["agents"]
    assert isinstance(rows, list)
    return next(row for row in rows if row["agent"] == aid)


def test_the_report_shows_each_agents_open_line_minutes_ended_and_running(
    r: RedisClient, clock: FixedClock
) -> None:
    engine = Engine(r, clock, load_engine_settings({}))
    _persistent(engine, "a01")
    _persistent(engine, "a02")
    clock.advance(600)  # both lines connected for ten minutes
    engine.router.open_line("a01", "down", "CAlinea01")  # a01's drops
    clock.advance(120)  # a02's is still connected, two minutes more
    today = engine.stats.today()
    report = team_report(engine, today, today)
    assert _row(report, "a01")["open_line_s"] == 600
    assert _row(report, "a02")["open_line_s"] == 720  # running: counted up to now
    assert _row(report, "a01")["talk_s"] == 0
    yesterday = today.replace(day=today.day - 1)
    earlier = team_report(engine, yesterday, yesterday)
    assert all(row["open_line_s"] == 0 for row in earlier["agents"])  # type: ignore[union-attr]
