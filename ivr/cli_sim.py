"""`silverline call` and `silverline simulate`: the offline Twilio from the command line.

Without --url both run the app in-process on the simulator's clock (the configured store:
REDIS_URL or the embedded server). With --url they call a running server over HTTP in real
time; start the simulator's REST API with --rest-port and set the server's
`twilio.api_base_url` to it so the server can pull callers out of queues.
"""

from __future__ import annotations

import json
import math
import threading
from datetime import UTC, datetime
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import click

from ivr.cli import cli_settings, main, warn_demo_token
from ivr.simulator.calls import Leg, Line
from ivr.simulator.offline import Offline, simulate
from ivr.simulator.people import Caller, Input
from ivr.simulator.rest import wsgi_app
from ivr.simulator.switch import Simulator
from ivr.simulator.traffic import CLASSES, Plan, report
from ivr.simulator.transport import HttpTransport
from routing.clock import FixedClock
from routing.exceptions import SilverlineError

_LONGEST_CALL_S = 4 * 3600.0


@main.command("call")
@click.argument("number")
@click.option("--press", multiple=True, help="Keys for successive menus, e.g. --press 0.")
@click.option("--say", "says", multiple=True, help="Words for menus after the keys run out.")
@click.option("--json", "as_json", is_flag=True, help="Print the transcript as JSON.")
@click.option("--url", default=None, help="Base URL of a running server (default: in-process).")
@click.option("--rest-port", type=int, default=None, help="Serve the REST API on this port.")
@click.option("--patience", default=600.0, type=float, help="Seconds before hanging up.")
def call_command(
    number: str,
    press: tuple[str, ...],
    says: tuple[str, ...],
    as_json: bool,
    url: str | None,
    rest_port: int | None,
    patience: float,
) -> None:
    """Call the hotline from NUMBER and print what the caller and the agent heard."""
    inputs = [Input(digits=d) for d in press] + [Input(speech=s) for s in says]
    if url:
        sim = _live(url, rest_port)
        leg = sim.place_call(Caller(number, sim.rng, inputs=inputs, patience_s=patience), _to())
        sim.run(until=_LONGEST_CALL_S)
    else:
        offline = _offline(speed=None)
        _staff(offline)
        sim = offline.sim
        leg = offline.call(Caller(number, sim.rng, inputs=inputs, patience_s=patience))
        offline.run(until=_LONGEST_CALL_S)
    _print_call(sim, leg, as_json)


@main.command("simulate")
@click.option("--calls", type=int, required=True, help="Number of calls to place.")
@click.option("--rate", type=float, required=True, help="Arrivals per second (Poisson).")
@click.option("--agents", type=int, required=True, help="Virtual agents, each taking all calls.")
@click.option("--senior-share", type=float, required=True, help="Share of callers aged 60+.")
@click.option("--aht", type=float, default=180.0, help="Mean talk time, seconds (exponential).")
@click.option("--patience", default="inf", help="Mean patience, seconds (exponential), or inf.")
@click.option("--seed", type=int, default=0)
@click.option("--speed", type=float, default=None, help="Real time at X times speed.")
@click.option("--virtual", is_flag=True, help="Virtual time (the default without --speed).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--url", default=None, help="Base URL of a running server (default: in-process).")
def simulate_command(
    calls: int,
    rate: float,
    agents: int,
    senior_share: float,
    aht: float,
    patience: str,
    seed: int,
    speed: float | None,
    virtual: bool,
    as_json: bool,
    url: str | None,
) -> None:
    """Run traffic through the hotline and print offered, answered, abandoned, ASA, SL."""
    if virtual and speed is not None:
        raise click.UsageError("--speed and --virtual are exclusive")
    if url:
        raise click.UsageError("simulate --url is not available yet; run it in-process")
    plan = Plan(
        calls=calls,
        rate=rate,
        agents=agents,
        senior_share=senior_share,
        aht_s=aht,
        patience_s=_patience(patience),
        seed=seed,
        answer_delay_s=(1.0, 4.0),
    )
    prefix = f"slsim{datetime.now(UTC):%Y%m%d%H%M%S%f}"  # the real store's data stay untouched
    offline = _offline(speed=speed, seed=seed, prefix=prefix)
    try:
        outcomes = simulate(offline, plan)
    finally:
        for key in offline.engine.redis.scan_iter(match=f"{prefix}*", count=1000):
            offline.engine.redis.delete(key)
    result = report(outcomes, plan.sl_seconds)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(_table(result))


def _patience(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise click.BadParameter(f"--patience must be seconds or inf, got {raw!r}") from exc
    if value <= 0 or math.isnan(value):
        raise click.BadParameter("--patience must be positive")
    return value


def _offline(speed: float | None, seed: int = 0, prefix: str | None = None) -> Offline:
    settings = cli_settings()
    warn_demo_token(settings)
    overrides = {"redis.key_prefix": prefix} if prefix else {}
    start = datetime.now(settings.tz).replace(hour=9, minute=0, second=0, microsecond=0)
    try:
        return Offline(overrides, clock=FixedClock(start), speed=speed, seed=seed)
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc


def _staff(offline: Offline) -> None:
    """In-process calls need someone to answer: make every configured agent available."""
    router = offline.engine.router
    for agent in offline.engine.agents.all():
        router.set_agent_state(agent.id, "available")


def _to() -> str:
    return cli_settings().twilio.caller_id


def _live(url: str, rest_port: int | None) -> Simulator:
    """A real-time simulator calling `url` over HTTP; REST served on `rest_port` if given."""
    settings = cli_settings()
    sim = Simulator(
        clock=FixedClock(datetime.now(UTC)),
        speed=1.0,
        account_sid=settings.secrets.account_sid,
        auth_token=settings.secrets.auth_token,
    )
    sim.connect(HttpTransport())
    base = url.rstrip("/")
    sim.add_number(
        settings.twilio.caller_id,
        f"{base}/voice/incoming",
        status_callback=f"{base}/voice/status",
        fallback_url=f"{base}/voice/fallback",
    )
    if rest_port:
        server = make_server("127.0.0.1", rest_port, wsgi_app(sim), handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    return sim


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def _print_call(sim: Simulator, leg: Leg, as_json: bool) -> None:
    lines = sorted(leg.transcript, key=lambda line: line.at)
    if as_json:
        out: dict[str, Any] = {
            "call_sid": leg.sid,
            "status": leg.status,
            "transcript": [
                {"at": round(x.at, 2), "party": x.party, "kind": x.kind, "text": x.text}
                for x in lines
            ],
            "errors": [f"{f.code} {f.message} ({f.url})" for f in sim.faults],
        }
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for line in lines:
        click.echo(_describe(line))
    click.echo(f"call {leg.sid}: {leg.status}, {leg.duration()} s")
    for fault in sim.faults:
        click.echo(f"ERROR {fault.code}: {fault.message} ({fault.url})", err=True)


def _describe(line: Line) -> str:
    stamp = f"[{int(line.at // 60):02d}:{line.at % 60:04.1f}]"
    if line.kind in ("say", "play"):
        return f"{stamp} {line.party} hears: {line.text}"
    if line.kind == "input":
        return f"{stamp} caller {line.text}"
    return f"{stamp} {line.kind}: {line.text}"


def _table(result: dict[str, Any]) -> str:
    head = f"{'class':<8}{'offered':>9}{'answered':>10}{'abandoned':>11}"
    head += f"{'ASA s':>9}{'SL':>8}{'max wait s':>12}{'P(wait)':>9}"
    rows = [head]
    for name in CLASSES:
        f = result["classes"][name]
        rows.append(
            f"{name:<8}{f['offered']:>9}{f['answered']:>10}{f['abandoned']:>11}"
            f"{f['asa_s']:>9.1f}{f['service_level']:>8.1%}{f['max_wait_s']:>12.1f}"
            f"{f['p_wait']:>9.1%}"
        )
    return "\n".join(rows)
