"""`silverline audit`: the audit trail, newest first, as lines or JSON
(routing/governance/audit.py)."""

from __future__ import annotations

import json
from datetime import tzinfo

import click

from ivr.cli.helpers import cli_engine
from routing.exceptions import SilverlineError
from routing.governance.audit import AuditEntry, parse_since


@click.command("audit")
@click.option(
    "--since",
    default="",
    help="From this local day (YYYY-MM-DD) or time with offset (2026-11-23T10:00+08:00).",
)
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON document with every entry.")
def audit_command(since: str, limit: int, as_json: bool) -> None:
    """Print who signed in, changed users or agents, forced states, exported or deleted."""
    engine = cli_engine()
    try:
        start = parse_since(since, engine.settings.tz) if since else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--since") from exc
    try:
        entries = engine.audit.entries(start, limit)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps([e.as_dict() for e in entries], ensure_ascii=False, indent=1))
        return
    if not entries:
        click.echo("no audit entries")
    for entry in entries:
        click.echo(_line(entry, engine.settings.tz))


def _line(e: AuditEntry, tz: tzinfo) -> str:
    when = e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    detail = " ".join(f"{k}={v}" for k, v in e.detail.items())
    where = "command line" if e.via == "cli" else e.address
    return f"{when}  {e.by:<16} {e.action:<20} {e.target:<24} {where}  {detail}".rstrip()
