"""`silverline plan`: the smallest team that meets the targets (ivr/simulator/planner.py)."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import click

from dialects.packs import default_packs
from ivr.cli import progress, runs
from ivr.cli.helpers import app_factory
from ivr.services import AppFactory
from ivr.simulator.planner import (
    Call,
    Load,
    Search,
    Setup,
    Targets,
    Team,
    Unreachable,
    plan_load,
    simulate_team,
)

INTERVAL_S = 900  # a forecast's interval: 15 minutes


@click.command("plan")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Arrivals per second.")
@click.option("--senior-share", type=click.FloatRange(0, 1), help="Share of callers aged 60+.")
@click.option(
    "--forecast",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of 15-minute intervals: start, calls (or rate per second), senior_share.",
)
@runs.handle_options(patience_default="300")
@click.option(
    "--senior-tth-mean",
    type=float,
    default=4.6,
    show_default=True,
    help="Target: seniors' mean time to a human, seconds.",
)
@click.option(
    "--senior-tth-p90",
    type=float,
    default=8.0,
    show_default=True,
    help="Target: seniors' 90th-percentile time to a human, seconds.",
)
@click.option(
    "--sl",
    type=click.FloatRange(0, 1),
    default=0.8,
    show_default=True,
    help="Target: other callers' service level.",
)
@click.option(
    "--sl-seconds",
    type=float,
    default=20.0,
    show_default=True,
    help="The service level's threshold, seconds.",
)
@click.option(
    "--abandon",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Target: the share of callers who give up, at most.",
)
@click.option(
    "--dialect",
    "dialects",
    multiple=True,
    help="A seniors' dialect and its share, e.g. cantonese=0.2 (the rest speak Mandarin).",
)
@click.option(
    "--calls",
    type=click.IntRange(min=100),
    default=1500,
    show_default=True,
    help="Calls per simulation.",
)
@click.option("--seed", type=int, default=1)
@click.option("--json", "as_json", is_flag=True)
def plan_command(**opts: Any) -> None:
    """Find the smallest team (agents, senior-trained, dialect speakers) meeting the targets.

    A first guess from Erlang C and Cobham's priority formula, then simulations through the
    real app with the same callers for every candidate team (docs/planning.md).
    """
    loads = _loads(opts["rate"], opts["senior_share"], opts["forecast"])
    wrap_up = runs.wrap_up_of(opts["wrap_up"], opts["aht"], None)
    setup = Setup(
        aht_s=opts["aht"],
        wrap_up_s=wrap_up,
        patience_s=runs.patience_of(opts["patience"]),
        answer_after_s=opts["answer_after"],
        calls=opts["calls"],
        seed=opts["seed"],
        mix=_mix(opts["dialects"]),
    )
    targets = Targets(
        opts["senior_tth_mean"],
        opts["senior_tth_p90"],
        opts["sl"],
        opts["sl_seconds"],
        opts["abandon"],
    )
    rows = _plan_all(setup, loads, targets)
    if opts["as_json"]:
        out = {"targets": vars(targets), "calls_per_simulation": setup.calls, "intervals": rows}
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(_table(rows))


def _plan_all(setup: Setup, loads: list[Load], targets: Targets) -> list[dict[str, Any]]:
    """One row per interval; intervals with the same load share one search."""
    done: dict[tuple[float, float], Search] = {}
    rows = []
    for load in loads:
        if load.rate == 0:
            rows.append(
                {
                    "interval": load.label,
                    "rate": 0.0,
                    "senior_share": load.senior_share,
                    "team": Team(0, 0).as_dict(),
                }
            )
            continue
        key = (load.rate, load.senior_share)
        if key not in done:
            try:
                done[key] = plan_load(setup, load, targets, _runner(app_factory()), _announce(load))
            # Only an unreachable target is the user's to fix; anything else is a defect and
            # keeps its traceback (issue 31: a crash read as "Error: batch_means needs ...").
            except Unreachable as exc:
                raise click.ClickException(str(exc)) from exc
        rows.append({**done[key].as_dict(targets), "interval": load.label})
    return rows


def _runner(create_app: AppFactory) -> Any:
    def run(setup: Setup, load: Load, team: Team) -> list[Call]:
        prefix = runs.scratch_prefix("slplan")
        offline = runs.offline_hotline(None, setup.seed, prefix, setup.wrap_up_s, create_app)
        try:
            with progress.calls_bar(offline.sim, setup.calls):
                return simulate_team(offline, setup, load, team)
        finally:
            runs.drop_prefix(offline.engine, prefix)

    return run


def _announce(load: Load) -> Any:
    def say(team: Team) -> None:
        spoken = "".join(f", {n} {d}" for d, n in team.speakers)
        click.echo(
            f"{load.label}: simulating {team.agents} agents, {team.senior_trained} "
            f"senior-trained{spoken}",
            err=True,
        )

    return say


def _loads(rate: float | None, share: float | None, forecast: Path | None) -> list[Load]:
    if (rate is None) == (forecast is None):
        raise click.UsageError("give either --rate (with --senior-share) or --forecast")
    if forecast is not None:
        return read_forecast(forecast)
    if rate is None or share is None:
        raise click.UsageError("--rate needs --senior-share")
    return [Load("all day", rate, share)]


def read_forecast(path: Path) -> list[Load]:
    """The intervals of a forecast CSV; every bad row is reported with its line number."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        fields = set(reader.fieldnames or [])
        if not {"start", "senior_share"} <= fields or not fields & {"calls", "rate"}:
            raise click.BadParameter(
                "the header must name start, senior_share and calls (per 15 minutes) or rate "
                f"(per second); found {sorted(fields)}",
                param_hint="--forecast",
            )
        loads, errors = [], []
        for row in reader:
            try:
                loads.append(_interval(row))
            except ValueError as exc:
                errors.append(f"line {reader.line_num}: {exc}")
    if errors:
        raise click.BadParameter("\n".join(errors), param_hint="--forecast")
    if not loads:
        raise click.BadParameter("the forecast has no intervals", param_hint="--forecast")
    return loads


def _interval(row: dict[str, str]) -> Load:
    start = (row.get("start") or "").strip()
    if not start:
        raise ValueError("no start")
    if row.get("calls") not in (None, ""):
        rate = _number(row["calls"], "calls") / INTERVAL_S
    else:
        rate = _number(row.get("rate") or "", "rate")
    share = _number(row.get("senior_share") or "", "senior_share")
    if share > 1:
        raise ValueError(f"senior_share must be at most 1, got {share:g}")
    return Load(start, rate, share)


def _number(raw: str, name: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be a number, got {raw!r}") from exc
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of 0 or more, got {raw!r}")
    return value


def _mix(raw: tuple[str, ...]) -> tuple[tuple[str, float], ...]:
    codes = default_packs().codes
    mix: dict[str, float] = {}
    for item in raw:
        name, _, share = item.partition("=")
        name = name.strip()
        if name not in codes or name == "mandarin":
            raise click.BadParameter(
                f"{name!r}: one of {', '.join(c for c in codes if c != 'mandarin')}",
                param_hint="--dialect",
            )
        try:
            mix[name] = float(share)
        except ValueError as exc:
            raise click.BadParameter(
                f"{item!r}: give NAME=SHARE, e.g. cantonese=0.2", param_hint="--dialect"
            ) from exc
        if not 0 < mix[name] <= 1:
            raise click.BadParameter(
                f"{item!r}: the share must be in (0, 1]", param_hint="--dialect"
            )
    if sum(mix.values()) > 1 + 1e-9:
        raise click.BadParameter(
            "the dialects' shares add up to more than 1", param_hint="--dialect"
        )
    return tuple(mix.items())


def _table(rows: list[dict[str, Any]]) -> str:
    head = f"{'interval':<10}{'rate/s':>8}{'senior':>7}{'agents':>7}{'trained':>8}"
    head += f"  {'speakers':<18}{'TTH mean':>9}{'TTH p90':>8}{'SL':>7}{'aband':>7}  marginal"
    lines = [head]
    for r in rows:
        team = r["team"]
        spoken = ",".join(f"{d[:4]}={n}" for d, n in team["speakers"].items()) or "-"
        lines.append(
            f"{r['interval']:<10}{r['rate']:>8.4f}{r['senior_share']:>7.0%}{team['agents']:>7}"
            f"{team['senior_trained']:>8}  {spoken:<18}{_figures(r)}"
        )
    return "\n".join(lines)


def _figures(row: dict[str, Any]) -> str:
    m = row.get("measured")
    if m is None:
        return ""

    def cell(name: str, width: int, form: str) -> str:
        value = m[name]["value"]
        return f"{'-' if value is None else format(value, form):>{width}}"

    return (
        cell("senior_tth_mean_s", 9, ".1f")
        + cell("senior_tth_p90_s", 8, ".1f")
        + cell("other_sl", 7, ".1%")
        + cell("abandon", 7, ".1%")
        + f"  {','.join(row['marginal']) or '-'}"
    )
