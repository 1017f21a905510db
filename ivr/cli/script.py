"""`silverline script`: the routing script as Redis runs it, assembled from routing/lua/."""

from __future__ import annotations

import click

from ivr.cli.helpers import cli_settings
from routing.keys import Keys
from routing.queues.routing_script import RoutingLua


@click.command("script")
@click.option("--numbered", is_flag=True, help="Number the lines as Redis's errors count them.")
@click.option(
    "--line",
    type=click.IntRange(min=1),
    help="Say which source file and line line N comes from (Redis's user_script:N).",
)
def script_command(numbered: bool, line: int | None) -> None:
    """Print the routing script made from the configured settings (no Redis needed)."""
    settings = cli_settings()
    lua = RoutingLua(settings, Keys(settings.redis.key_prefix))
    if line is not None:
        try:
            where, at = lua.origin(line)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--line") from exc
        text = lua.source.splitlines()[line - 1]
        click.echo(f"{where}:{at}: {text.strip()}")
        return
    click.echo(lua.numbered() if numbered else lua.source, nl=False)
    click.echo(f"-- sha1 {lua.sha} (EVALSHA's name for it)", err=True)
