"""`silverline users ...`: the people who sign in to the agent console and the dashboard.

The commands use the same store as the server (REDIS_URL, or the embedded server).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from ivr.cli.helpers import cli_audit, cli_engine
from ivr.runtime.demo import DEMO_FILE, seed_users
from routing.exceptions import SilverlineError
from routing.governance.users import ROLES


@click.group()
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
    store = engine.users
    try:
        user = store.add(name, password or "", role, agent_id)
    except (ValueError, SilverlineError) as exc:
        raise click.ClickException(str(exc)) from exc
    cli_audit(engine, "user_added", user.name, role=user.role, agent_id=user.agent_id)
    linked = f" (agent {user.agent_id})" if user.agent_id else ""
    click.echo(f"added {user.role} {user.name}{linked}")
    if generate:
        click.echo(f"password: {password}")


@users.command("list")
def list_command() -> None:
    """Print every user with their role and agent id."""
    try:
        found = cli_engine().users.all()
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
    engine = cli_engine()
    try:
        removed = engine.users.remove(name)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    if not removed:
        raise click.ClickException(f"no user {name!r}")
    cli_audit(engine, "user_removed", name.lower())
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
    store = engine.users
    try:
        made = seed_users(store, engine, path)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("demo users (name  password  role):")
    for name, password in made.items():
        user = store.get(name)
        role = user.role if user else "?"
        click.echo(f"  {name:<12} {password:<16} {role}")
