"""`silverline campaigns`: return-visit campaigns (回访) to older customers
(routing/outbound/campaigns.py).

Making, listing, pausing and resuming campaigns, and the do-not-call list. The server's ticker
dials them, progressively, an agent reserved first (routing/outbound/visits.py, docs/campaigns.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import click

from ivr.cli.helpers import cli_audit, cli_engine
from routing.engine import Engine
from routing.exceptions import StoreUnavailable
from routing.governance.privacy import mask
from routing.outbound.campaigns import Campaign, CampaignError

T = TypeVar("T")


@click.group()
def campaigns() -> None:
    """Return-visit campaigns: lists of customers to call back, with their hours and retries."""


@campaigns.command("add")
@click.argument("name")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--reason", required=True, help="Why we call, shown to the agent first.")
@click.option("--hours", required=True, help="Calling hours HH:MM-HH:MM, customer's time.")
@click.option("--queue", default="senior", show_default=True, help="Whose agents work it.")
@click.option("--attempts", type=int, default=3, show_default=True, help="Calls at most.")
@click.option("--spacing", type=int, default=120, show_default=True, help="Minutes between.")
@click.option("--skip-invalid", is_flag=True, help="Make it from the good rows only.")
def add(
    name: str,
    file: Path,
    reason: str,
    hours: str,
    queue: str,
    attempts: int,
    spacing: int,
    skip_invalid: bool,
) -> None:
    """Make campaign NAME from FILE (CSV: number; name and note optional)."""
    eng = cli_engine()
    campaign = Campaign(name, reason.strip(), hours, queue, attempts, spacing)
    report = _guard(lambda: eng.campaigns.add(campaign, file, skip_invalid))
    for problem in report.problems:
        click.echo(f"{file.name}: {problem}", err=True)
    if not report.written:
        raise click.ClickException(
            f"{len(report.problems)} bad row(s) of {report.rows}: nothing was written "
            "(fix them, or give --skip-invalid)"
        )
    for number in report.skipped_dnc:
        click.echo(f"left out (do not call): {mask(number)}", err=True)
    cli_audit(eng, "campaign_added", name, customers=report.added, hours=hours)
    click.echo(f"campaign {name}: {report.added} customers, hours {hours}, reason: {reason}")


@campaigns.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_command(as_json: bool) -> None:
    """Every campaign with its state and progress."""
    eng = cli_engine()
    rows = [{**c.__dict__, "progress": eng.campaigns.progress(c.name)} for c in _all(eng)]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        p = r["progress"]
        click.echo(
            f"{r['name']:<20} {r['state']:<7} {r['hours']}  {p['reached']}/{p['total']} reached, "
            f"{p['confirmed']} confirmed, {p['pending']} pending, {p['failed']} failed"
        )


@campaigns.command("show")
@click.argument("name")
def show(name: str) -> None:
    """One campaign: its settings, progress and customers (numbers masked), each with their
    attempts (when, which agent, how it ended: the compliance log)."""
    eng = cli_engine()
    found = _guard(lambda: eng.campaigns.get(name))
    if found is None:
        raise click.ClickException(f"no campaign {name!r}")
    progress = eng.campaigns.progress(name)
    click.echo(json.dumps({**found.__dict__, "progress": progress}, ensure_ascii=False, indent=1))
    for t in eng.campaigns.targets(name):
        click.echo(f"  {mask(t.number)}  {t.name or '-':<10} {t.outcome:<16} {t.attempts}")
        for attempt in t.log:
            at = datetime.fromtimestamp(int(attempt["at"]) / 1000, eng.settings.tz)
            click.echo(
                f"      {at:%Y-%m-%d %H:%M}  {attempt.get('agent', ''):<10} {attempt['outcome']}"
            )


@campaigns.command("pause")
@click.argument("name")
def pause(name: str) -> None:
    """Stop dialling NAME (calls in progress go on)."""
    _set_state(name, "paused")


@campaigns.command("resume")
@click.argument("name")
def resume(name: str) -> None:
    """Dial NAME again."""
    _set_state(name, "active")


@campaigns.command("do-not-call")
@click.argument("number")
def do_not_call(number: str) -> None:
    """Never dial NUMBER again, in any campaign (the customer asked)."""
    eng = cli_engine()
    e164 = _guard(lambda: eng.campaigns.forbid(number))
    cli_audit(eng, "do_not_call_added", mask(e164))
    click.echo(f"{mask(e164)} will not be called by any campaign")


def _set_state(name: str, state: str) -> None:
    eng = cli_engine()
    changed = _guard(lambda: eng.campaigns.set_state(name, state))
    cli_audit(eng, "campaign_state_set", name, state=state)
    click.echo(f"campaign {changed.name}: {changed.state}")


def _all(eng: Engine) -> list[Campaign]:
    return _guard(eng.campaigns.all)


def _guard(call: Callable[[], T]) -> T:
    try:
        return call()
    except (CampaignError, StoreUnavailable) as exc:
        raise click.ClickException(str(exc)) from exc
