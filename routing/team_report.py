"""The per-agent and per-dialect report, one shape for the API, the CSV, the dashboard and
`silverline stats` (docs/supervisors.md, "Reports per agent and per dialect")."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, time, timedelta
from typing import Any

from redis.exceptions import RedisError

from routing.clock import epoch_ms
from routing.engine import Engine
from routing.exceptions import StoreUnavailable
from routing.reporting.team_stats import AgentFigures, TeamInterval


def team_report(
    engine: Engine, start: date, end: date, by_interval: bool = False
) -> dict[str, Any]:
    """The range's figures per agent (with their names and wrap-up codes) and per dialect;
    with `by_interval`, also every interval in which anything was counted."""
    summary = engine.team.summary(start, end)
    names = {a.id: a.name for a in engine.agents.all()}
    figures = _with_open_lines(engine, summary.agents, start, end)
    out: dict[str, Any] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "timezone": engine.settings.hotline.timezone,
        "agents": [
            {"agent": agent, "name": names.get(agent, ""), **f.json()}
            for agent, f in figures.items()
        ],
        "dialects": [{"dialect": d, **f.json()} for d, f in summary.dialects.items()],
    }
    if by_interval:
        size = timedelta(minutes=engine.settings.stats.interval_minutes)
        out["intervals"] = [
            _interval_row(iv, size) for iv in engine.team.intervals(start, end) if _counted(iv)
        ]
    return out


def _interval_row(iv: TeamInterval, size: timedelta) -> dict[str, Any]:
    return {
        "start": iv.start.isoformat(),
        "end": (iv.start + size).isoformat(),
        "agents": {a: f.json() for a, f in iv.agents.items()},
        "dialects": {d: f.json() for d, f in iv.dialects.items()},
    }


def _counted(iv: TeamInterval) -> bool:
    return bool(iv.agents or iv.dialects)


def _with_open_lines(
    engine: Engine, agents: dict[str, AgentFigures], start: date, end: date
) -> dict[str, AgentFigures]:
    """`agents` with the time of the open lines connected now, up to now, when the range
    takes in today: a line's minutes are recorded when it ends, which may be hours away."""
    if not start <= engine.stats.today() <= end:
        return agents
    try:
        lines = engine.redis.zrange(engine.keys.routing_open_lines(), 0, -1, withscores=True)
    except RedisError as exc:
        raise StoreUnavailable(f"Redis did not answer a read of the open lines: {exc}") from exc
    first = epoch_ms(datetime.combine(start, time(), tzinfo=engine.settings.tz))
    now = epoch_ms(engine.clock.now())
    out = dict(agents)
    for raw, since in lines:
        agent = raw.decode() if isinstance(raw, bytes) else str(raw)
        figures = out.get(agent, AgentFigures())
        states = {**figures.state_ms}
        states["open_line"] = states.get("open_line", 0) + max(0, now - max(first, int(since)))
        out[agent] = dataclasses.replace(figures, state_ms=states)
    return dict(sorted(out.items()))
