"""The per-agent and per-dialect report, one shape for the API, the CSV, the dashboard and
`silverline stats` (docs/supervisors.md, "Reports per agent and per dialect")."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from routing.engine import Engine
from routing.reporting.team_stats import TeamInterval


def team_report(
    engine: Engine, start: date, end: date, by_interval: bool = False
) -> dict[str, Any]:
    """The range's figures per agent (with their names and wrap-up codes) and per dialect;
    with `by_interval`, also every interval in which anything was counted."""
    summary = engine.team.summary(start, end)
    names = {a.id: a.name for a in engine.agents.all()}
    out: dict[str, Any] = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "timezone": engine.settings.hotline.timezone,
        "agents": [
            {"agent": agent, "name": names.get(agent, ""), **f.json()}
            for agent, f in summary.agents.items()
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
