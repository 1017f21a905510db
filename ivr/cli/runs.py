"""What `simulate` and `plan` share: the load's options and the scratch in-process hotline.

Both run traffic through the real app on the offline Twilio (ivr/simulator/offline.py), each run
under a key prefix of its own so that the store's real data stay untouched.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import click

from ivr.cli.helpers import app_factory, cli_settings
from ivr.runtime.demo import warn_demo_token
from ivr.services import AppFactory
from ivr.simulator.offline import Offline
from routing.clock import FixedClock
from routing.engine import Engine
from routing.exceptions import SilverlineError

# A traffic run measures the queue, not the opening hours: the reference scenario's 10,000
# calls at 0.1333/s span 21 hours, and those after closing would hear the after-hours flow.
OPEN_ALL_DAY = {
    "business_hours.open": "00:00",
    "business_hours.close": "00:00",  # equal times: round the clock (routing/queues/hours.py)
    "business_hours.weekdays": [1, 2, 3, 4, 5, 6, 7],
    "business_hours.holidays": [],
    "business_hours.special_days": {},
}

ANSWER_AFTER = click.option(
    "--answer-after",
    type=click.FloatRange(min=0),
    default=3.0,
    show_default=True,
    help="Seconds the virtual agents' phones ring before they answer (0: auto-answer).",
)

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def handle_options(patience_default: str) -> Decorator:
    """--aht, --wrap-up, --patience and --answer-after: how long a call holds its agent."""
    options = [
        click.option(
            "--aht",
            type=click.FloatRange(min=0, min_open=True),
            default=180.0,
            show_default=True,
            help="Mean handle time, seconds: talk (exponential) plus wrap-up.",
        ),
        click.option(
            "--wrap-up",
            type=click.IntRange(min=0),
            default=None,
            help="Wrap-up after each call, seconds (default: the config's "
            "routing.wrap_up_seconds).",
        ),
        click.option(
            "--patience",
            default=patience_default,
            show_default=True,
            help="Callers' mean patience, seconds (exponential), or inf.",
        ),
        ANSWER_AFTER,
    ]

    def apply(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


def patience_of(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise click.BadParameter(f"--patience must be seconds or inf, got {raw!r}") from exc
    if value <= 0 or math.isnan(value):
        raise click.BadParameter("--patience must be positive")
    return value


def wrap_up_of(wrap_up: int | None, aht: float, url: str | None) -> int:
    """The run's wrap-up: --wrap-up, else the config's; shorter than the handle time."""
    configured = cli_settings().routing.wrap_up_seconds
    if url and wrap_up is not None and wrap_up != configured:
        raise click.UsageError(
            f"--url: the server's routing.wrap_up_seconds ({configured} s) applies; "
            "drop --wrap-up or change the server's configuration"
        )
    wrap_up = configured if wrap_up is None else wrap_up
    if wrap_up >= aht:
        raise click.UsageError(
            f"--aht is the handle time, talk plus wrap-up: {aht:g} s leaves no talk after "
            f"a {wrap_up} s wrap-up (give --aht above {wrap_up} or a shorter --wrap-up)"
        )
    return wrap_up


def scratch_prefix(kind: str) -> str:
    """A key prefix of its own for an in-process run: the real store's data stay untouched."""
    return f"{kind}{datetime.now(UTC):%Y%m%d%H%M%S%f}"


def drop_prefix(engine: Engine, prefix: str) -> None:
    for key in engine.redis.scan_iter(match=f"*{prefix}*", count=1000):  # hash tags: {prefix…}
        engine.redis.delete(key)


def offline_hotline(
    speed: float | None,
    seed: int = 0,
    prefix: str | None = None,
    wrap_up: int | None = None,
    create_app: AppFactory | None = None,
    hours: bool = False,
) -> Offline:
    """The app in-process on a virtual clock from 09:00 today; `create_app` defaults to the
    one the command line was built with. A traffic run (`wrap_up` given) is open round the
    clock unless `hours` (simulate --business-hours)."""
    settings = cli_settings()
    warn_demo_token(settings)
    overrides: dict[str, object] = {"redis.key_prefix": prefix} if prefix else {}
    if wrap_up is not None:  # a traffic run (simulate): its wrap-up, open round the clock
        overrides.update({"routing.wrap_up_seconds": wrap_up, **({} if hours else OPEN_ALL_DAY)})
    start = datetime.now(settings.tz).replace(hour=9, minute=0, second=0, microsecond=0)
    try:
        factory = create_app or app_factory()
        return Offline(factory, overrides, clock=FixedClock(start), speed=speed, seed=seed)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
