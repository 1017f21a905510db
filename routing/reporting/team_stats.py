"""Figures per agent and per dialect: what record_lib.lua counts in each interval's agent and
dialect hashes (docs/statistics.md, "Agents and dialects"), summed over an interval, a day or
a range of days.

Per agent: offers, answers, misses, completed calls, seniors answered, talk time, wrap-up time,
the wrap-up codes given (wrapup.lua) and the time spent in each state (counted in the interval
the state ended in), from which the occupancy: time ringing, talking or wrapping up over time
signed in and not away. Per dialect: callers offered to routing, answered, answered by an agent
who speaks the dialect, and the time to a human.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from routing.keys import Keys
from routing.queues.events import day_intervals, days, interval_start
from routing.reporting.queue_stats import MAX_RANGE_DAYS, Stats
from routing.settings import EngineSettings

BUSY_STATES = ("offered", "on_call", "wrap_up")
SIGNED_IN_STATES = ("available", *BUSY_STATES)


@dataclass(frozen=True)
class AgentFigures:
    offered: int = 0
    answered: int = 0
    missed: int = 0
    completed: int = 0
    seniors: int = 0
    talk_ms: int = 0
    wrap_ms: int = 0
    state_ms: dict[str, int] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)  # wrap-up codes given: code -> n

    @property
    def occupancy(self) -> float | None:
        """Busy (ringing, talking, wrapping up) over signed-in time; None before any."""
        signed_in = sum(self.state_ms.get(s, 0) for s in SIGNED_IN_STATES)
        if signed_in <= 0:
            return None
        return sum(self.state_ms.get(s, 0) for s in BUSY_STATES) / signed_in

    def json(self) -> dict[str, object]:
        occupancy = self.occupancy
        return {
            "offered": self.offered,
            "answered": self.answered,
            "missed": self.missed,
            "completed": self.completed,
            "seniors_answered": self.seniors,
            "talk_s": round(self.talk_ms / 1000, 1),
            "wrap_up_s": round(self.wrap_ms / 1000, 1),
            "signed_in_s": round(sum(self.state_ms.get(s, 0) for s in SIGNED_IN_STATES) / 1000),
            # connected time of their open line (docs/time-to-human.md, "Open lines"): a call
            # leg billed by the minute, beside the talk time it buys
            "open_line_s": round(self.state_ms.get("open_line", 0) / 1000),
            "occupancy": None if occupancy is None else round(occupancy, 4),
            "wrap_up_codes": dict(sorted(self.codes.items())),
        }


@dataclass(frozen=True)
class DialectFigures:
    offered: int = 0
    answered: int = 0
    matched: int = 0  # answered by an agent who speaks the caller's dialect
    connected: int = 0
    tth_ms: int = 0

    def json(self) -> dict[str, object]:
        return {
            "offered": self.offered,
            "answered": self.answered,
            "answered_in_dialect": self.matched,
            "answered_in_dialect_share": (
                round(self.matched / self.answered, 4) if self.answered else None
            ),
            "time_to_human_s": (
                round(self.tth_ms / self.connected / 1000, 1) if self.connected else None
            ),
        }


@dataclass(frozen=True)
class TeamInterval:
    start: datetime
    agents: dict[str, AgentFigures]
    dialects: dict[str, DialectFigures]


class TeamStats:
    """Per-agent and per-dialect figures read through the statistics reader's batches."""

    def __init__(self, stats: Stats, settings: EngineSettings, keys: Keys) -> None:
        self.stats, self.settings, self.keys = stats, settings, keys

    def intervals(self, start: date, end: date) -> list[TeamInterval]:
        """Every interval from `start` to `end` (local days, both included), oldest first."""
        ids = self._ids(start, end)
        agents = self.stats.hashes([self.keys.stats_agents(iv) for iv in ids])
        dialects = self.stats.hashes([self.keys.stats_dialects(iv) for iv in ids])
        tz = self.settings.tz
        return [
            TeamInterval(interval_start(iv, tz), _agents([a]), _dialects([d]))
            for iv, a, d in zip(ids, agents, dialects, strict=True)
        ]

    def summary(self, start: date, end: date) -> TeamInterval:
        """The figures of `start` to `end` summed; `start` is the first interval's start."""
        ids = self._ids(start, end)
        agents = self.stats.hashes([self.keys.stats_agents(iv) for iv in ids])
        dialects = self.stats.hashes([self.keys.stats_dialects(iv) for iv in ids])
        first = interval_start(ids[0], self.settings.tz)
        return TeamInterval(first, _agents(agents), _dialects(dialects))

    def _ids(self, start: date, end: date) -> list[str]:
        span = days(start, end)
        if not span or len(span) > MAX_RANGE_DAYS:
            raise ValueError(f"a range must cover 1 to {MAX_RANGE_DAYS} days")
        return [iv for d in span for iv in day_intervals(d, self.settings)]


def _split(rows: list[dict[str, str]]) -> dict[str, dict[str, int]]:
    """ "<who>:<figure>" -> n over `rows`, summed, as {who: {figure: n}}."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        for name, value in row.items():
            who, _, figure = name.rpartition(":")
            out[who][figure] += int(value)
    return out


def _agents(rows: list[dict[str, str]]) -> dict[str, AgentFigures]:
    out = {}
    for agent, f in sorted(_split(rows).items()):
        states = {k.removeprefix("t_"): v for k, v in f.items() if k.startswith("t_")}
        codes = {k.removeprefix("wu_"): v for k, v in f.items() if k.startswith("wu_")}
        out[agent] = AgentFigures(
            offered=f["offered"],
            answered=f["answered"],
            missed=f["missed"],
            completed=f["completed"],
            seniors=f["seniors"],
            talk_ms=f["talk_ms"],
            wrap_ms=f["wrap_ms"],
            state_ms=states,
            codes=codes,
        )
    return out


def _dialects(rows: list[dict[str, str]]) -> dict[str, DialectFigures]:
    return {
        dialect: DialectFigures(
            offered=f["offered"],
            answered=f["answered"],
            matched=f["matched"],
            connected=f["connected"],
            tth_ms=f["tth_ms"],
        )
        for dialect, f in sorted(_split(rows).items())
    }
