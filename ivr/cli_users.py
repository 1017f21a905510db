"""`silverline users ...`: the people who sign in to the agent console and the dashboard.

The commands use the same store as the server (REDIS_URL, or the embedded server).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import click

from ivr.cli import cli_engine, main
from routing.demo import seed_agents, seed_customers
from routing.engine import Engine
from routing.exceptions import SilverlineError
from routing.settings import PROJECT_ROOT
from routing.users import ROLES, Users, seed_demo_users

# Demo passwords as last printed, so `users demo` run again keeps the ones people wrote down.
DEMO_FILE = PROJECT_ROOT / "var" / "demo_users.json"


def cli_users() -> Users:
    """The user store on the configured Redis."""
    engine = cli_engine()
    attempts = engine.settings.auth.login_attempts
    return Users(engine.redis, engine.clock, engine.keys, attempts)


@main.group()
def users() -> None:
    """Sign-in accounts: agents (linked to an agent id) and supervisors."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the user may open.")
@click.option("--agent", "agent_id", default="", help="The agent id an agent user signs in as.")
@click.option(
    "--password",
    default=None,
    help="The password (default: prompt; with --generate, a random one is printed).",
)
@click.option("--generate", is_flag=True, help="Make a random password and print it once.")
def add_command(name: str, role: str, agent_id: str, password: str | None, generate: bool) -> None:
    """Create user NAME."""
    engine = cli_engine()
    if role == "agent":
        agent_id = agent_id or name
        if engine.agents.get(agent_id) is None:
            raise click.ClickException(
                f"no agent {agent_id!r}; add the agent first (silverline agents add)"
            )
    if generate:
        password = secrets.token_urlsafe(12)
    elif password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = Users(engine.redis, engine.clock, engine.keys, engine.settings.auth.login_attempts)
    try:
        user = store.add(name, password or "", role, agent_id)
    except (ValueError, SilverlineError) as exc:
        raise click.ClickException(str(exc)) from exc
    linked = f" (agent {user.agent_id})" if user.agent_id else ""
    click.echo(f"added {user.role} {user.name}{linked}")
    if generate:
        click.echo(f"password: {password}")


@users.command("list")
def list_command() -> None:
    """Print every user with their role and agent id."""
    try:
        found = cli_users().all()
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    if not found:
        click.echo("no users yet (silverline users add NAME --role supervisor)")
    for user in found:
        click.echo(f"{user.name:<20} {user.role:<11} {user.agent_id or '-'}")


@users.command("remove")
@click.argument("name")
def remove_command(name: str) -> None:
    """Delete user NAME; their sessions end at their next request."""
    try:
        removed = cli_users().remove(name)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    if not removed:
        raise click.ClickException(f"no user {name!r}")
    click.echo(f"removed {name.lower()}")


@users.command("demo")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEMO_FILE,
    show_default=True,
    help="Where the printed demo passwords are kept (0600) so a re-run keeps them.",
)
def demo_command(path: Path) -> None:
    """Make a demo supervisor and one user per agent, and print their passwords."""
    engine = cli_engine()
    store = Users(engine.redis, engine.clock, engine.keys, engine.settings.auth.login_attempts)
    try:
        made = seed_demo_users(store, engine.agents.all(), _read_known(path))
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    _write_known(path, made)
    click.echo("demo users (name  password  role):")
    for name, password in made.items():
        user = store.get(name)
        role = user.role if user else "?"
        click.echo(f"  {name:<12} {password:<16} {role}")


def seed_demo(engine: Engine, path: Path = DEMO_FILE) -> dict[str, str]:
    """Demo mode's start: the demo team and customers on an empty store, then demo users.

    Returns user name -> password, kept in `path` so each start prints the same ones.
    """
    if not engine.agents.all():
        seed_customers(engine.directory, engine.clock)
        seed_agents(engine.agents)
    store = Users(engine.redis, engine.clock, engine.keys, engine.settings.auth.login_attempts)
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
