"""`silverline twilio setup`: a Twilio account's number and softphone set up for this server."""

from __future__ import annotations

import click

from ivr.cli.helpers import cli_settings
from ivr.runtime.provision import SetupError, apply, check_public_url, plan
from ivr.telephony import rest_client
from routing.settings import E164


@click.group("twilio")
def twilio() -> None:
    """The Twilio account this server answers for."""


@twilio.command("setup")
@click.option("--number", default=None, help="The hotline's number, E.164 [twilio.caller_id].")
@click.option(
    "--public-url", default=None, help="The https:// URL Twilio reaches [twilio.public_url]."
)
@click.option("--dry-run", is_flag=True, help="Print what would change; change nothing.")
def setup(number: str | None, public_url: str | None, dry_run: bool) -> None:
    """Point the number's voice URL, fallback URL and status callback here, and create the
    softphone's API key and TwiML App if missing; print the environment lines to set.

    A second run, with those lines set, changes nothing. The key's secret is printed this
    once (Twilio never shows it again) and is written nowhere else.
    """
    settings = cli_settings()
    if settings.secrets.demo or not settings.secrets.twilio_account_sid:
        raise click.ClickException(
            "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (the Console's Account Info) first"
        )
    number = number or settings.twilio.caller_id
    if not E164.match(number):
        raise click.BadParameter(f"{number!r} is not an E.164 number", param_hint="--number")
    try:
        base = check_public_url(public_url or settings.twilio.public_url)
        client = rest_client(settings)
        todo = plan(client, settings, number, base)
        for change in todo.changes:
            click.echo(f"{'would change' if dry_run else 'change'}  {change}")
        if dry_run:
            click.echo("dry run: nothing changed" if todo.changes else "nothing to change")
            return
        env = apply(client, settings, todo, base)
    except SetupError as exc:
        raise click.ClickException(f"{exc}; nothing was changed") from exc
    if not todo.changes:
        click.echo(f"nothing to change: {number} and the softphone are set up for {base}")
    _print_environment(env)


def _print_environment(env: dict[str, str]) -> None:
    """The lines the server's environment needs; the key's secret appears here only."""
    if not env:
        return
    secret = "TWILIO_API_KEY_SECRET" in env
    once = " (the key's secret is shown this once; Twilio never shows it again)"
    click.echo(f"\nPut these in the server's environment{once if secret else ''}:")
    for name, value in env.items():
        click.echo(f"export {name}={value}")
