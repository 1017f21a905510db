"""`silverline privacy report`: what personal data the store holds, where, for how long."""

from __future__ import annotations

import dataclasses
import json

import click

from ivr.cli.helpers import cli_engine
from routing.exceptions import SilverlineError
from routing.governance.privacy import families

OUTSIDE_REDIS = (
    "Outside Redis: the report spool (server.spool_dir) keeps Twilio's reports that Redis could "
    "not take, callers' numbers included, until they are replayed; logs mask numbers and "
    "birth dates (ivr/runtime/logmask.py). See docs/data-protection.md."
)


@click.group()
def privacy() -> None:
    """Personal data: what is held, where, and for how long."""


@privacy.command("report")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def report_command(as_json: bool) -> None:
    """Print each kind of key holding personal data: what, how long, how many now."""
    engine = cli_engine()
    try:
        found = families(engine.privacy)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        rows = [dataclasses.asdict(f) for f in found]
        click.echo(json.dumps({"families": rows, "outside_redis": OUTSIDE_REDIS}, indent=1))
        return
    for family in found:
        count = "not counted" if family.count < 0 else f"{family.count} now"
        click.echo(f"{family.key}\n  holds: {family.holds}\n  kept:  {family.kept} ({count})")
    click.echo(OUTSIDE_REDIS)
