"""`silverline stats`: today's figures, or a date range's, per queue, per agent and per
dialect, from the same aggregates as the dashboard, the API and the CSV (routing/team_report.py)."""

from __future__ import annotations

import json
from datetime import date
from functools import reduce
from typing import Any

import click

from ivr.cli.helpers import cli_engine
from routing.engine import Engine
from routing.exceptions import StoreUnavailable
from routing.queues.events import days
from routing.reporting.queue_stats import MAX_RANGE_DAYS
from routing.team_report import team_report


@click.command("stats")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day (today).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day (--from).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def stats_command(start: Any, end: Any, as_json: bool) -> None:
    """Figures per queue and class, per agent and per dialect, for a day or a range."""
    eng = cli_engine()
    first: date = start.date() if start else eng.stats.today()
    last: date = end.date() if end else first
    if last < first or (last - first).days + 1 > MAX_RANGE_DAYS:
        raise click.BadParameter(
            f"--to must not be before --from, and a range covers at most {MAX_RANGE_DAYS} days"
        )
    try:
        report = {**team_report(eng, first, last), "queues": _queues(eng, first, last)}
    except StoreUnavailable as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, sort_keys=True))
        return
    click.echo(_tables(report))


def _queues(eng: Engine, first: date, last: date) -> dict[str, dict[str, Any]]:
    per_day = [eng.stats.day(d) for d in days(first, last)]
    out = {}
    for queue in per_day[0]:
        out[queue] = {
            klass: reduce(lambda a, b: a + b, (d[queue][klass] for d in per_day)).json
            for klass in ("senior", "other", "all")
        }
    return out


def _tables(report: dict[str, Any]) -> str:
    start, end = report["start"], report["end"]
    span = start if start == end else f"{start} to {end}"
    head = [f"Silverline, {span} ({report['timezone']})", ""]
    return "\n".join(head + _queue_lines(report) + _agent_lines(report) + _dialect_lines(report))


def _queue_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"{'queue':<12}{'class':<8}{'offered':>8}{'answered':>9}{'abandoned':>10}"
        f"{'ASA s':>7}{'SL':>7}{'TTH s':>7}{'TTH p90':>8}"
    ]
    for queue, classes in report["queues"].items():
        for klass, f in classes.items():
            lines.append(
                f"{queue:<12}{klass:<8}{f['offered']:>8}{f['answered']:>9}{f['abandoned']:>10}"
                f"{_n(f['asa_s'], '.1f'):>7}{_n(f['service_level'], '.0%'):>7}"
                f"{_n(f['time_to_human_s'], '.1f'):>7}{_n(f['time_to_human_p90_s'], '.0f'):>8}"
            )
    return lines


def _agent_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        "",
        f"{'agent':<10}{'name':<14}{'offered':>8}{'answered':>9}{'missed':>7}{'seniors':>8}"
        f"{'talk s':>8}{'wrap s':>8}{'occupancy':>10}  wrap-up codes",
    ]
    for a in report["agents"]:
        codes = ", ".join(f"{c} {n}" for c, n in a["wrap_up_codes"].items()) or "-"
        lines.append(
            f"{a['agent']:<10}{a['name'][:13]:<14}{a['offered']:>8}{a['answered']:>9}"
            f"{a['missed']:>7}{a['seniors_answered']:>8}{a['talk_s']:>8.0f}{a['wrap_up_s']:>8.0f}"
            f"{_n(a['occupancy'], '.0%'):>10}  {codes}"
        )
    return lines


def _dialect_lines(report: dict[str, Any]) -> list[str]:
    lines = ["", f"{'dialect':<12}{'offered':>8}{'answered':>9}{'in dialect':>11}{'TTH s':>7}"]
    for d in report["dialects"]:
        lines.append(
            f"{d['dialect']:<12}{d['offered']:>8}{d['answered']:>9}"
            f"{_n(d['answered_in_dialect_share'], '.0%'):>11}{_n(d['time_to_human_s'], '.1f'):>7}"
        )
    return lines


def _n(value: float | None, form: str) -> str:
    return "-" if value is None else format(value, form)
