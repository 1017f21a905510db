"""The progress bar of long simulations: on a terminal's stderr only."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from ivr.cli import progress
from ivr.simulator.core.switch import Simulator
from routing.clock import FixedClock
from tests.conftest import T0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _end(sim: Simulator, before: list[object], direction: str) -> None:
    """Tell the hooks the bar added that a leg ended (the simulator's own are left out)."""
    for hook in [h for h in sim.on_call_end if h not in before]:
        hook(SimpleNamespace(direction=direction))  # type: ignore[arg-type]


def test_the_bar_counts_callers_calls_as_they_end(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    sim = Simulator(clock=FixedClock(T0))
    before: list[object] = list(sim.on_call_end)
    with progress.calls_bar(sim, 2):
        _end(sim, before, "inbound")
        _end(sim, before, "outbound-dial")  # an agent's leg is not a caller's call
        _end(sim, before, "inbound")
    assert "2/2" in terminal.getvalue() and "3/2" not in terminal.getvalue()
    assert sim.on_call_end == before  # the hook is gone with the bar


def test_without_a_terminal_nothing_is_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    piped = io.StringIO()
    monkeypatch.setattr("sys.stderr", piped)
    sim = Simulator(clock=FixedClock(T0))
    before = list(sim.on_call_end)
    with progress.calls_bar(sim, 2):
        assert sim.on_call_end == before  # nothing counts
    assert piped.getvalue() == ""
