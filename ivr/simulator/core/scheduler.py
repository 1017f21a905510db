"""The discrete-event core: processes are generators that sleep or wait on signals.

A process yields a number (seconds to sleep) or a `Signal` (wait until it fires; the yield
returns the signal's value). `interrupt()` throws `Interrupt` into the process at its next
turn. In virtual mode the scheduler moves a settable clock from event to event, so a day of
traffic takes seconds; in real-time mode it sleeps until each event (divided by `speed`).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from datetime import datetime, timedelta
from typing import Any, Protocol

Program = Generator[Any, Any, Any]


class SettableClock(Protocol):
    """The time line's clock: it tells the time and is set by the scheduler. The app under
    test is given the same clock (routing/clock.py's FixedClock is one), so both share time."""

    def now(self) -> datetime: ...

    def set(self, when: datetime) -> None: ...


class Interrupt(Exception):  # noqa: N818  (a signal to the process, not an error)
    """Thrown into a process by `Process.interrupt`; `cause` says why."""

    def __init__(self, cause: object) -> None:
        super().__init__(cause)
        self.cause = cause


class Signal:
    """A one-shot event processes can wait on."""

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._waiters: list[tuple[Process, int]] = []
        self.fired = False
        self.value: Any = None

    def fire(self, value: Any = None) -> None:
        """Wake every waiting process (once); later waiters resume at once."""
        if self.fired:
            return
        self.fired, self.value = True, value
        for proc, turn in self._waiters:
            self._scheduler.call_later(0, proc.resume, turn, value)
        self._waiters.clear()

    def _wait(self, proc: Process, turn: int) -> None:
        if self.fired:
            self._scheduler.call_later(0, proc.resume, turn, self.value)
        else:
            self._waiters.append((proc, turn))


class Process:
    """One running generator; `done` fires with its return value."""

    def __init__(self, scheduler: Scheduler, program: Program) -> None:
        self._scheduler = scheduler
        self._program = program
        self.turn = 0  # bumped at each wake-up so stale timers are ignored
        self._timer: Timer | None = None
        self.done = Signal(scheduler)
        self.alive = True

    def resume(self, turn: int, value: Any = None) -> None:
        if turn == self.turn and self.alive:
            self._step(lambda: self._program.send(value))

    def interrupt(self, cause: object) -> None:
        """Throw `Interrupt(cause)` into the process at its next turn."""
        self._scheduler.call_later(0, self._throw, cause)

    def throw(self, cause: object) -> None:
        """Throw `Interrupt(cause)` now: only from a scheduler callback, never from the process.

        For a cause that may no longer apply a turn later (a conference that started for a
        caller who has since been redirected): the callback checks, then throws.
        """
        self._throw(cause)

    def _throw(self, cause: object) -> None:
        if self._timer is not None:
            self._timer.cancelled = True  # the sleep it was in no longer moves the clock
        if self.alive and self.turn == 0:  # never started: nothing to unwind
            self.alive = False
            self.done.fire(None)
        elif self.alive:
            self._step(lambda: self._program.throw(Interrupt(cause)))

    def _step(self, advance: Callable[[], Any]) -> None:
        self.turn += 1
        try:
            target = advance()
        except StopIteration as stop:
            self.alive = False
            self.done.fire(stop.value)
            return
        if isinstance(target, Signal):
            target._wait(self, self.turn)
        else:
            self._timer = self._scheduler.call_later(float(target), self.resume, self.turn)


class Timer:
    """A scheduled callback; a cancelled one is dropped without moving the clock."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False


class Scheduler:
    """Runs timed callbacks in order on a virtual or a real time line."""

    def __init__(self, clock: SettableClock, *, speed: float | None = None) -> None:
        self.clock = clock
        self.speed = speed  # None: virtual time; else real time at `speed` x
        self._start = self.clock.now()
        self._heap: list[tuple[float, int, Timer, Callable[..., Any], tuple[Any, ...]]] = []
        self._seq = itertools.count()
        self._inbox: queue.SimpleQueue[Callable[[], Any]] = queue.SimpleQueue()
        self._wall0 = time.monotonic()
        self._stopping = False
        # Held by `run()` except while it waits for the next event: a service's HTTP threads
        # take it to read or change the time line (ivr/simulator/core/service.py). None: the
        # time line has one thread.
        self.lock: threading.Lock | None = None

    def now(self) -> float:
        """Seconds since the scheduler started, on its own time line."""
        return (self.clock.now() - self._start).total_seconds()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run `fn(*args)` after `delay` seconds; cancel it through the returned Timer."""
        timer = Timer()
        when = self.now() + max(0.0, delay)
        heapq.heappush(self._heap, (when, next(self._seq), timer, fn, args))
        return timer

    def spawn(self, program: Program, delay: float = 0) -> Process:
        """Start `program` after `delay` seconds."""
        proc = Process(self, program)
        self.call_later(delay, proc.resume, 0)
        return proc

    def signal(self) -> Signal:
        return Signal(self)

    def post(self, fn: Callable[[], Any]) -> None:
        """Run `fn` on the scheduler's thread (from a REST server thread, say)."""
        self._inbox.put(fn)

    def run_posted(self) -> None:
        """Run what was posted so far, now (on the scheduler's thread)."""
        self._drain_inbox()

    def catch_up(self) -> None:
        """Real time: move the clock to the wall's time, for a request from outside to be now."""
        if self.speed is not None:
            self._move_to((time.monotonic() - self._wall0) * self.speed)

    def stop(self) -> None:
        """End the running `run()` after the current event (from the scheduler's thread)."""
        self._stopping = True

    def run(self, until: float | None = None) -> None:
        """Run events until none are left, the time line reaches `until` seconds, or `stop()`."""
        self._stopping = False
        with self.lock or contextlib.nullcontext():
            self._run(until)

    def _run(self, until: float | None) -> None:
        while True:
            self._drain_inbox()
            if self._stopping:
                return
            while self._heap and self._heap[0][2].cancelled:
                heapq.heappop(self._heap)
            if not self._heap or (until is not None and self._heap[0][0] > until):
                break
            when = self._heap[0][0]
            if self.speed is not None and self._wait_for_inbox(when):
                continue  # a REST request came in first: it may schedule earlier events
            _, _, _, fn, args = heapq.heappop(self._heap)
            self._move_to(when)
            fn(*args)
        if until is not None and until > self.now():
            self._move_to(until)

    def _move_to(self, when: float) -> None:
        self.clock.set(self._start + timedelta(seconds=max(when, self.now())))

    def _wait_for_inbox(self, when: float) -> bool:
        """Real time: sleep until `when`; True if something arrived in the inbox first."""
        assert self.speed is not None
        left = (self._wall0 + when / self.speed) - time.monotonic()
        if left <= 0:
            return False
        try:
            with self._unlocked():
                fn = self._inbox.get(timeout=left)
        except queue.Empty:
            return False
        self._move_to(min(when, (time.monotonic() - self._wall0) * self.speed))
        fn()
        return True

    @contextlib.contextmanager
    def _unlocked(self) -> Iterator[None]:
        """Let the service's threads in while the time line waits."""
        if self.lock is None:
            yield
            return
        self.lock.release()
        try:
            yield
        finally:
            self.lock.acquire()

    def _drain_inbox(self) -> None:
        while True:
            try:
                fn = self._inbox.get_nowait()
            except queue.Empty:
                return
            fn()
