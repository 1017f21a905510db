"""Demo mode (no Twilio credentials): the demo team, customers and sign-ins, and the warning.

`silverline serve` seeds an empty store at start-up; `silverline users demo` and `demo seed`
print the sign-ins again. The passwords are kept in var/ so a restart prints the same ones.
Anyone who can reach a demo server can forge webhooks (the token is published) and its
sign-ins are printed, so it listens on loopback only unless asked for by name (SILVERLINE_DEMO=1).
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import click

from ivr.settings import DEMO_AUTH_TOKEN, Settings
from routing.demo import seed_agents, seed_customers
from routing.engine import Engine
from routing.exceptions import SettingsError
from routing.governance.users import Users, seed_demo_users
from routing.settings import PROJECT_ROOT

# Demo passwords as last printed, so `users demo` run again keeps the ones people wrote down.
DEMO_FILE = PROJECT_ROOT / "var" / "demo_users.json"


def warn_demo_token(settings: Settings) -> None:
    if settings.secrets.demo:
        click.echo(
            f"WARNING: TWILIO_AUTH_TOKEN is not set; demo mode signs webhooks with the fixed dev "
            f"token {DEMO_AUTH_TOKEN!r}. It is for demos only.",
            err=True,
        )


def check_demo_host(settings: Settings) -> None:
    """Refuse to serve demo mode beyond loopback unless it was asked for by name."""
    host = settings.server.host
    if not settings.secrets.demo or settings.server.demo_on_network or is_loopback(host):
        return
    raise SettingsError(
        f"server.host is {host!r} but TWILIO_AUTH_TOKEN is not set: demo mode signs webhooks "
        "with a published token and prints every demo password, so it listens on loopback "
        "only. Set TWILIO_AUTH_TOKEN (and SILVERLINE_SECRET_KEY), or set SILVERLINE_DEMO=1 "
        "(server.demo_on_network = true) to show the demo to the network anyway."
    )


def is_loopback(host: str) -> bool:
    """True when `host` names this machine's loopback only (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve to anything


def demo_lines(settings: Settings) -> list[str]:
    """What the banner says first in demo mode: that it is, and who can reach it."""
    if not settings.secrets.demo:
        return []
    if settings.server.demo_on_network:
        reach = (
            f"ON THE NETWORK (SILVERLINE_DEMO=1): anyone who reaches {settings.server.host} can "
            "forge calls and status callbacks. Never load real customers into it."
        )
    else:
        reach = "Loopback only: set TWILIO_AUTH_TOKEN to serve real calls."
    return [
        "*" * 78,
        "*** DEMO MODE: TWILIO_AUTH_TOKEN is not set; webhooks are signed with the published",
        f"*** token {DEMO_AUTH_TOKEN!r}.",
        f"*** {reach}",
        "*" * 78,
    ]


def seed_demo(engine: Engine, path: Path = DEMO_FILE) -> dict[str, str]:
    """Demo mode's start: the demo team and customers on an empty store, then demo users.

    Returns user name -> password, kept in `path` so each start prints the same ones.
    """
    if not engine.agents.all():
        seed_customers(engine.directory, engine.clock)
        seed_agents(engine.agents)
    return seed_users(engine.users, engine, path)


def seed_users(store: Users, engine: Engine, path: Path = DEMO_FILE) -> dict[str, str]:
    """A demo supervisor and one user per agent; passwords kept in `path` (0600)."""
    made = seed_demo_users(store, engine.agents.all(), _read_known(path))
    _write_known(path, made)
    return made


def _read_known(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items()}


def _write_known(path: Path, made: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(made, f, ensure_ascii=False, indent=1)
