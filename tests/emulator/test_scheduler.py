"""The discrete-event core: sleeps, signals and interrupts on a virtual clock."""

from __future__ import annotations

from datetime import timedelta

from ivr.simulator.core.scheduler import Interrupt, Scheduler
from ivr.simulator.core.steps import Steps
from routing.clock import FixedClock
from tests.conftest import T0


def test_processes_interleave_in_time_order_and_move_the_clock() -> None:
    sched = Scheduler(FixedClock(T0))
    log: list[tuple[str, float]] = []

    def sleeper(name: str, gaps: list[float]) -> Steps:
        for gap in gaps:
            yield gap
            log.append((name, sched.now()))

    sched.spawn(sleeper("a", [5, 5]))
    sched.spawn(sleeper("b", [3, 4]))
    sched.run()
    assert log == [("b", 3.0), ("a", 5.0), ("b", 7.0), ("a", 10.0)]
    assert sched.clock.now() == T0 + timedelta(seconds=10)


def test_an_interrupt_cancels_the_pending_sleep_and_a_signal_wakes_waiters() -> None:
    sched = Scheduler(FixedClock(T0))
    log: list[str] = []
    go = sched.signal()

    def waiter() -> Steps:
        value = yield go
        log.append(f"woke {value} at {sched.now()}")

    def sleeper() -> Steps:
        try:
            yield 100
            log.append("slept")  # must not happen: the interrupt came first
        except Interrupt as stop:
            log.append(f"interrupted by {stop.cause} at {sched.now()}")
            yield 1
            log.append(f"carried on at {sched.now()}")

    sched.spawn(waiter())
    proc = sched.spawn(sleeper())
    sched.call_later(4, proc.interrupt, "rest")
    sched.call_later(6, go.fire, "ok")
    sched.run()
    assert log == ["interrupted by rest at 4.0", "carried on at 5.0", "woke ok at 6.0"]
    assert sched.now() == 6.0


def test_run_until_stops_the_clock_at_the_horizon() -> None:
    sched = Scheduler(FixedClock(T0))
    fired: list[float] = []
    sched.call_later(50, lambda: fired.append(sched.now()))
    sched.run(until=20)
    assert fired == [] and sched.now() == 20.0
    sched.run()
    assert fired == [50.0]


def test_stop_ends_the_run_after_the_current_event_and_keeps_the_rest() -> None:
    sched = Scheduler(FixedClock(T0))
    fired: list[float] = []
    sched.call_later(5, lambda: (fired.append(sched.now()), sched.stop()))
    sched.call_later(300, lambda: fired.append(sched.now()))
    sched.run()
    assert fired == [5.0] and sched.now() == 5.0
    sched.run()
    assert fired == [5.0, 300.0]
