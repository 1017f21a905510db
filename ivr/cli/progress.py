"""A progress bar for long simulations: callers done and the time left, on the terminal only.

It is drawn on stderr, and only when stderr is a terminal: `--json` output and logs piped to
a file stay as they were. The estimate of the time left is click's, from the wall clock
(the command line's, never the engine's).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from ivr.simulator.core.calls import Leg
from ivr.simulator.core.switch import Simulator


@contextmanager
def calls_bar(sim: Simulator, calls: int) -> Iterator[None]:
    """Count callers' calls as they end (inbound legs) against `calls` while the body runs."""
    if not sys.stderr.isatty():
        yield
        return
    with click.progressbar(
        length=calls, label="calls", show_eta=True, show_pos=True, file=sys.stderr
    ) as bar:

        def ended(leg: Leg) -> None:
            if leg.direction == "inbound":
                bar.update(1)

        sim.on_call_end.append(ended)
        try:
            yield
        finally:
            sim.on_call_end.remove(ended)
