"""`silverline customers ...` and `silverline demo ...`: the directory from the command line.

The commands use the same store as the server (REDIS_URL, or the embedded server).
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from dialects.registry import DIALECTS
from ivr.cli import users
from ivr.cli.helpers import cli_audit, cli_engine
from ivr.runtime import demo as demo_mode
from routing.callers import numbers
from routing.callers.caller import Caller
from routing.callers.importer import import_csv
from routing.demo import DEMO_CUSTOMERS, seed_agents, seed_customers
from routing.engine import Engine
from routing.exceptions import ImportRowError, SilverlineError
from routing.governance.privacy import mask


@click.group()
def customers() -> None:
    """The customer directory: import a CSV, show, export or delete a customer."""


@customers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--encoding", default="utf-8", show_default=True, help="Text encoding, e.g. gb18030.")
@click.option("--skip-invalid", is_flag=True, help="Import the good rows and list the bad ones.")
def import_command(file: Path, encoding: str, skip_invalid: bool) -> None:
    """Import FILE (CSV: name,phones,birth_date,id_number,dialect); re-imports update."""
    engine = cli_engine()
    try:
        report = import_csv(engine.directory, file, encoding=encoding, skip_invalid=skip_invalid)
    except ImportRowError as exc:
        raise click.ClickException(f"{file}:{exc.line}: {exc.reason}") from exc
    except (SilverlineError, LookupError) as exc:  # LookupError: an unknown --encoding
        raise click.ClickException(str(exc)) from exc
    for problem in report.problems:
        click.echo(f"{file}:{problem.line}: {problem.reason}", err=True)
    if not report.written:
        raise click.ClickException(
            f"{len(report.problems)} bad row(s) of {report.rows}; nothing imported "
            f"(fix them, or pass --skip-invalid to import the good rows)"
        )
    cli_audit(engine, "customers_imported", file.name, added=report.added, updated=report.updated)
    click.echo(
        f"imported {report.added + report.updated} customer(s): {report.added} new, "
        f"{report.updated} updated; skipped {len(report.problems)} bad row(s)"
    )


@customers.command("show")
@click.argument("number")
def show_command(number: str) -> None:
    """Print the customer behind NUMBER with their age and dialect today."""
    engine = cli_engine()
    try:
        caller = engine.directory.identify(number, engine.clock.now())
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    if caller.number is None:
        raise click.ClickException(f"{number!r} is withheld or not a valid phone number")
    if caller.customer is None:
        raise click.ClickException(
            f"no customer has {caller.number}; a call from it would use {_dialect(engine, caller)}"
        )
    click.echo(_describe(engine, caller))


@customers.command("export")
@click.argument("number")
def export_command(number: str) -> None:
    """Print, as JSON, everything held about the customer behind NUMBER (their copy)."""
    engine = cli_engine()
    try:
        found = engine.privacy.export(number)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NUMBER") from exc
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    cli_audit(engine, "customer_exported", mask(found["number"]), calls=len(found["calls"]))
    click.echo(json.dumps(found, ensure_ascii=False, indent=1, sort_keys=True))


@customers.command("delete")
@click.argument("number")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def delete_command(number: str, yes: bool) -> None:
    """Delete the customer behind NUMBER and every trace of their numbers in the store."""
    engine = cli_engine()
    try:
        target = engine.privacy.normalise(number)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="NUMBER") from exc
    if not yes:
        click.confirm(f"Delete everything held about {target}? This cannot be undone", abort=True)
    try:
        gone = engine.privacy.delete(target)
    except SilverlineError as exc:  # CustomerBusy: a call of theirs is live
        raise click.ClickException(str(exc)) from exc
    cli_audit(engine, "customer_deleted", mask(target), **gone)
    click.echo(
        f"deleted {mask(target)}: {gone['numbers']} directory number(s), {gone['calls']} call "
        f"record(s), {gone['callback_requests']} call-back request(s), {gone['events']} event(s)"
    )


def _describe(engine: Engine, caller: Caller) -> str:
    customer = caller.customer
    assert customer is not None and caller.number is not None
    senior_age = engine.settings.hotline.senior_age
    green = "yes: green channel" if caller.senior else f"no (green channel from {senior_age})"
    return "\n".join(
        [
            f"number:   {caller.number}",
            f"name:     {customer.name}",
            f"born:     {customer.birth_date.isoformat()}",
            f"age:      {caller.age}",
            f"senior:   {green}",
            f"dialect:  {_dialect(engine, caller)}",
            f"region:   {numbers.region_description(caller.number) or '-'}",
            f"phones:   {', '.join(customer.phones)}",
        ]
    )


def _dialect(engine: Engine, caller: Caller) -> str:
    """The caller's dialect with its names and where it came from."""
    if caller.customer is not None and caller.customer.dialect:
        source = "the record's preference"
    elif caller.number is not None and engine.directory.region_dialect(caller.number):
        source = "the number's region"
    else:
        source = "the hotline default"
    known = DIALECTS.get(caller.dialect)
    names = f"{known.name_zh}, {known.name_en}" if known else "unknown code"
    return f"{caller.dialect} ({names}) from {source}"


@click.group()
def demo() -> None:
    """Demo data for trying the hotline without Twilio or a real directory."""


@demo.command("seed")
@click.option("--count", default=200, show_default=True, help="Random customers to add.")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same data).")
def seed_command(count: int, seed: int) -> None:
    """Create demo customers and the demo agent team with their sign-ins; print what to use."""

    engine = cli_engine()
    try:
        made = seed_customers(engine.directory, engine.clock, count=count, seed=seed)
        team = seed_agents(engine.agents)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"seeded {len(made)} demo customers; well-known numbers:")
    for number, name, age, _ in DEMO_CUSTOMERS:
        caller = engine.directory.identify(number, engine.clock.now())
        click.echo(f"  {number:<16} {name}  {age:>2}  {caller.dialect}")
    click.echo(f"seeded {len(team)} demo agents (offline until they sign in and set available):")
    for agent in team:
        skills = ",".join(sorted(agent.skills)) or "-"
        click.echo(
            f"  {agent.id:<4} {agent.name}  skills={skills}  dialects={','.join(agent.dialects)}"
        )
    click.get_current_context().invoke(users.demo_command, path=demo_mode.DEMO_FILE)
