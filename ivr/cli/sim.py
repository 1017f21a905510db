"""`silverline call` and `silverline simulate`: the offline Twilio from the command line.

Without --url both run the app in-process on the simulator's clock (the configured store:
REDIS_URL or the embedded server). With --url they call a running server over HTTP in real
time (its clock is the wall clock). `call --url` has the local Twilio (`silverline
twilio-local`, which demo mode's `silverline serve` starts) place the call and follows it
there, so the server's REST requests go to the same Twilio that placed it. `simulate --url`
has it place the run's callers in the same way, and staffs the run with temporary agents on
the server's store, removed afterwards; with no local Twilio answering (a server on a real
Twilio account) it runs a real-time simulator of its own, whose callers the server's REST
requests cannot reach.
"""

from __future__ import annotations

import contextlib
import json
import random
import secrets
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from types import FrameType
from typing import Any

import click

from ivr.call.dispatch import Dispatcher
from ivr.cli import progress
from ivr.cli.helpers import cli_engine, cli_settings
from ivr.cli.runs import (
    ANSWER_AFTER,
    drop_prefix,
    handle_options,
    offline_hotline,
    patience_of,
    scratch_prefix,
    wrap_up_of,
)
from ivr.runtime.demo import warn_demo_token
from ivr.simulator.accounting import accounting
from ivr.simulator.core.calls import Leg, Line
from ivr.simulator.core.people import Input, VirtualCaller
from ivr.simulator.core.switch import Simulator
from ivr.simulator.live import LiveTraffic, check_server, live_simulator
from ivr.simulator.local import LocalTwilio, LocalTwilioError, follow
from ivr.simulator.local_traffic import LocalTraffic
from ivr.simulator.occupancy import Occupancy
from ivr.simulator.offline import Offline, simulate
from ivr.simulator.traffic import CLASSES, LivedCall, Plan, arrival_span, report
from ivr.telephony import Telephony
from ivr.web.demo_phone import phone_options
from routing.callers import numbers
from routing.demo import seed_agents, seed_customers
from routing.engine import Engine
from routing.exceptions import SilverlineError
from routing.queues.hours import is_open
from routing.queues.router import Offer

_LONGEST_CALL_S = 4 * 3600.0
DEMO_TALK_S = 10.0  # a demo call's conversation: long enough to see, short enough to wait for
SAY_SECONDS_PER_CHAR = 0.2  # the pace of <Say> in live runs (about five CJK characters a second)


@click.command("call")
@click.argument("number")
@click.option("--press", multiple=True, help="Keys for successive menus, e.g. --press 0.")
@click.option("--say", "says", multiple=True, help="Words for menus after the keys run out.")
@click.option("--json", "as_json", is_flag=True, help="Print the transcript as JSON.")
@click.option("--url", default=None, help="Base URL of a running server (default: in-process).")
@click.option(
    "--twilio",
    "twilio_url",
    default=None,
    help="With --url: the local Twilio that places the call "
    "[default: twilio.api_base_url, else 127.0.0.1:twilio.local_port].",
)
@click.option("--patience", default=600.0, type=float, help="Seconds before hanging up.")
@click.option(
    "--talk",
    default=DEMO_TALK_S,
    type=click.FloatRange(min=0),
    show_default=True,
    help="Seconds a virtual agent talks once connected.",
)
@ANSWER_AFTER
def call_command(
    number: str,
    press: tuple[str, ...],
    says: tuple[str, ...],
    as_json: bool,
    url: str | None,
    twilio_url: str | None,
    patience: float,
    talk: float,
    answer_after: float,
) -> None:
    """Call the hotline from NUMBER and print what the caller and the agent heard.

    With --url the local Twilio (`silverline twilio-local`, which `silverline serve` starts
    in demo mode) places the call to the server and the lines are printed as they happen.
    """
    inputs = [Input(digits=d) for d in press] + [Input(speech=s) for s in says]
    if url:
        caller = VirtualCaller(number, random.Random(), inputs=inputs, patience_s=patience)
        _call_live(url, twilio_url, caller, as_json, answer_after, talk)
        return
    phones: dict[str, object] = {"answer_delay_s": (answer_after, answer_after), "talk_s": talk}
    prefix = scratch_prefix("slcall")
    offline = offline_hotline(speed=None, prefix=prefix)
    offline.sim.people.agent_options = phones
    offline.sim.people.options_for = phone_options(offline.engine)
    try:
        _furnish(offline, number)
        start = _staff(offline, answer_after)
        sim = offline.sim
        leg = offline.call(VirtualCaller(number, sim.rng, inputs=inputs, patience_s=patience))
        offline.close_lines_after(lambda: leg.ended, every_s=1.0)
        offline.run(until=start + _LONGEST_CALL_S)
    finally:
        drop_prefix(offline.engine, prefix)
    _print_call(sim, leg, as_json)


def _call_live(
    url: str,
    twilio_url: str | None,
    caller: VirtualCaller,
    as_json: bool,
    answer_after: float,
    talk: float,
) -> None:
    """Have the local Twilio place the call to the server at `url`; follow it to its end.

    Interrupted (Ctrl-C, SIGTERM), the caller hangs up, so the server hears the end of the
    call and frees its agent; killed outright, the local Twilio hangs up once the command
    stops reading the call (its session's lease, a few seconds).
    """
    _require_server(url)
    settings = cli_settings()
    local = LocalTwilio.of(settings, twilio_url)
    try:
        local.about()
        local.set_phones(_phones(cli_engine(settings), answer_after, talk))
    except LocalTwilioError as exc:
        raise click.ClickException(
            f"{exc}. `silverline serve` starts one in demo mode (make run); "
            "else run `silverline twilio-local`"
        ) from exc
    session = secrets.token_hex(8)
    done = False
    try:
        with _sigterm_as_interrupt():
            placed = local.place(caller, session)
            echo = None if as_json else _line_printer(placed["created_at"])
            call = follow(local, placed["sid"], echo, limit_s=_LONGEST_CALL_S)
            done = bool(call["ended"])
    except LocalTwilioError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if not done:
            _leave(local, session)
    _print_followed(call, as_json)


def _phones(engine: Engine, answer_after: float, talk: float) -> dict[str, dict[str, float]]:
    """The local Twilio's phones for this call: agents flagged auto-answer pick up at once;
    an agent on an open line ends a conversation by taking the caller off, keeping the line."""
    phones = {"*": {"answer_after": answer_after, "talk": talk, "open_line": False}}
    for agent in engine.agents.all():
        if agent.auto_answer or agent.persistent:
            phones[agent.contact] = {
                "answer_after": 0.0 if agent.auto_answer else answer_after,
                "talk": talk,
                "open_line": agent.persistent,
            }
    return phones


def _leave(local: LocalTwilio, session: str) -> None:
    try:
        hung_up = local.leave(session)
    except LocalTwilioError as exc:
        click.echo(f"WARNING: could not hang up the call: {exc}", err=True)
        return
    if hung_up:
        click.echo(f"hung up {', '.join(hung_up)}", err=True)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a timeout, a kill) ends the command as Ctrl-C does, through `finally`."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _line_printer(start: float) -> Callable[[dict[str, Any]], None]:
    def show(line: dict[str, Any]) -> None:
        at = line["at"] - start
        click.echo(_describe(Line(at, line["party"], line["kind"], line["text"])))

    return show


def _print_followed(call: dict[str, Any], as_json: bool) -> None:
    """The end of a followed call, in the form `_print_call` gives an in-process one."""
    start, bridged = call["created_at"], call["bridged_at"]
    tth = None if bridged is None else round(bridged - start, 2)
    errors = [f"{e['code']} {e['message']} ({e['url']})" for e in call["errors"]]
    if as_json:
        out = {
            "call_sid": call["sid"],
            "status": call["status"],
            "time_to_human_s": tth,
            "transcript": [
                {"at": round(x["at"] - start, 2), "party": x["party"], "kind": x["kind"]}
                | {"text": x["text"]}
                for x in call["transcript"]
            ],
            "errors": errors,
        }
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    click.echo(f"call {call['sid']}: {call['status']}, {call['duration']} s")
    if tth is not None:
        click.echo(f"time to a human: {bridged - start:.1f} s")
    for error in errors:
        click.echo(f"ERROR {error}", err=True)


def _furnish(offline: Offline, number: str) -> None:
    """Give an in-process call the store's team and the caller's record, else the demo ones."""
    real = cli_engine()
    seed_customers(offline.engine.directory, offline.sim.clock, count=0)
    e164 = numbers.normalise(number, real.settings.hotline.default_region)
    customer = real.directory.lookup(e164) if e164 else None
    if customer is not None:
        offline.engine.directory.save(customer)
    team = real.agents.all()
    if not team:
        seed_agents(offline.engine.agents)
    for agent in team:
        offline.engine.agents.save(agent)


@click.command("simulate")
@click.option("--calls", type=click.IntRange(min=1), required=True, help="Calls to place.")
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="Arrivals per second (Poisson).",
)
@click.option(
    "--agents", type=click.IntRange(min=1), required=True, help="Virtual agents taking all calls."
)
@click.option(
    "--senior-share",
    type=click.FloatRange(0, 1),
    required=True,
    help="Share of callers aged 60+.",
)
@handle_options(patience_default="inf")
@click.option("--seed", type=int, default=0)
@click.option("--speed", type=float, default=None, help="Real time at X times speed.")
@click.option("--virtual", is_flag=True, help="Virtual time (the default without --speed).")
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--business-hours",
    "honour_hours",
    is_flag=True,
    help="Honour the configured business hours: calls out of them hear the after-hours flow "
    "(by default an in-process run is open round the clock; --url always honours them).",
)
@click.option(
    "--patience-from",
    type=click.Choice(["queue", "start"]),
    default="queue",
    show_default=True,
    help="When a caller's patience starts: in the queue, or at the call's start (they may "
    "then hang up in the menu or the after-hours flow too).",
)
@click.option(
    "--url",
    default=None,
    help="Base URL of a running server: real time, with temporary agents on its store "
    "(default: in-process).",
)
@click.option(
    "--twilio",
    "twilio_url",
    default=None,
    help="With --url: the local Twilio that places the calls "
    "[default: twilio.api_base_url, else 127.0.0.1:twilio.local_port].",
)
@click.option(
    "--open-lines",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Share of agents on an open line: a leg kept in their own room, which a caller "
    'joins with no ringing (docs/time-to-human.md, "Open lines").',
)
@click.option(
    "--line-drops",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="With --open-lines, in-process: the chance that a caller joining an open line is "
    "followed by the agent's leg dropping, at a moment drawn over one mean conversation; "
    "the line is placed again and a caller on their way to it goes to the next agent.",
)
def simulate_command(
    calls: int,
    rate: float,
    agents: int,
    senior_share: float,
    aht: float,
    wrap_up: int | None,
    patience: str,
    seed: int,
    answer_after: float,
    speed: float | None,
    virtual: bool,
    as_json: bool,
    honour_hours: bool,
    patience_from: str,
    url: str | None,
    twilio_url: str | None,
    open_lines: float,
    line_drops: float,
) -> None:
    """Run traffic through the hotline and print offered, answered, abandoned, ASA, SL, and
    where every call placed ended up (calls placed = calls accounted for).

    With --url the local Twilio places the calls to a running server, in its statistics (the
    supervisor dashboard); the temporary agents it creates are removed at the end."""
    _check_clock(virtual, speed, url)
    if line_drops and (url or not open_lines):
        raise click.UsageError("--line-drops drops open lines in-process: give --open-lines")
    wrap_up = wrap_up_of(wrap_up, aht, url)
    # the agents' talk is the handle time less the wrap-up, which the engine adds
    base = Plan(calls, rate, agents, senior_share, aht - wrap_up, patience_of(patience), seed)
    plan = replace(
        base,
        answer_delay_s=(answer_after, answer_after),
        wrap_up_s=wrap_up,
        patience_from="start" if patience_from == "start" else "routing",
        open_lines=open_lines,
        line_drops=line_drops,
    )
    _print_run(_run(plan, url, speed, honour_hours, twilio_url), as_json)


def _run(
    plan: Plan,
    url: str | None,
    speed: float | None,
    honour_hours: bool,
    twilio_url: str | None = None,
) -> dict[str, Any]:
    """Run `plan` (on the server at `url`, or in-process) and report it."""
    if url:
        outcomes, meter = simulate_url(url, twilio_url, plan)
    else:
        outcomes, meter = _simulate_offline(plan, speed, honour_hours)
    result = report(outcomes, plan.sl_seconds)
    result["business_hours"] = _hours_note(bool(url) or honour_hours)
    # where every call placed ended up (in-process runs: their paths are known)
    result["calls"] = accounting([(o.label, o.path) for o in outcomes]) if not url else None
    share = meter.share(*arrival_span(outcomes))
    result["occupancy"] = None if share is None else round(share, 4)
    return result


def _print_run(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
        return
    click.echo(_table(result))
    hours = result["business_hours"]
    click.echo(
        f"business hours honoured: {hours['open']}-{hours['close']} {hours['timezone']}"
        if hours["honoured"]
        else f"business hours not honoured: {hours['note']}"
    )
    if result["calls"] is not None:
        calls = result["calls"]
        paths = ", ".join(f"{p} {n}" for p, n in calls["paths"].items() if n)
        click.echo(f"calls placed {calls['placed']}, accounted for {calls['accounted']}: {paths}")
    if result["occupancy"] is not None:
        click.echo(f"agents' occupancy {result['occupancy']:.1%} (ringing, talk, wrap-up)")


def _check_clock(virtual: bool, speed: float | None, url: str | None) -> None:
    if virtual and speed is not None:
        raise click.UsageError("--speed and --virtual are exclusive")
    if url and (virtual or (speed is not None and speed != 1.0)):
        raise click.UsageError(
            "--url runs in real time (the server reads the wall clock): drop --speed/--virtual"
        )


Run = tuple[list[LivedCall], Occupancy]


def _hours_note(honoured: bool) -> dict[str, Any]:
    """Whether the run honours business hours, and which (simulate --json's business_hours)."""
    if not honoured:
        return {"honoured": False, "note": "open round the clock (--business-hours honours them)"}
    hours = cli_settings().business_hours
    return {
        "honoured": True,
        "open": hours.open,
        "close": hours.close,
        "timezone": cli_settings().hotline.timezone,
    }


def _simulate_offline(plan: Plan, speed: float | None, honour_hours: bool = False) -> Run:
    prefix = scratch_prefix("slsim")
    offline = offline_hotline(
        speed=speed, seed=plan.seed, prefix=prefix, wrap_up=plan.wrap_up_s, hours=honour_hours
    )
    try:
        with progress.calls_bar(offline.sim, plan.calls):
            outcomes = simulate(offline, plan)
    finally:
        drop_prefix(offline.engine, prefix)
    return outcomes, offline.occupancy


def simulate_url(url: str, twilio_url: str | None, plan: Plan) -> Run:
    """Run `plan` against the server at `url`: through the local Twilio if one answers."""
    _require_server(url)
    local = LocalTwilio.of(cli_settings(), twilio_url)
    try:
        local.about()
    except LocalTwilioError as exc:
        if twilio_url:
            raise click.ClickException(str(exc)) from exc
        click.echo(
            f"WARNING: {exc}: the calls come from a simulator of this command's own, which "
            "the server's REST requests do not reach (`make run` starts a local Twilio)",
            err=True,
        )
        return simulate_live(url, plan)
    return simulate_local(url, local, plan)


def simulate_local(url: str, local: LocalTwilio, plan: Plan) -> Run:
    """Run `plan` against the server at `url` in real time, its callers placed by `local`."""
    settings = cli_settings()
    engine = cli_engine(settings)
    warn_demo_token(settings)
    _warn_closed(engine)
    rest = replace(settings, twilio=replace(settings.twilio, api_base_url=local.base_url))
    traffic = LocalTraffic(
        local,
        engine,
        plan,
        on_offers=lambda offers: Dispatcher(engine, Telephony(rest)).act(offers, url.rstrip("/")),
        limit_s=5 * plan.calls / plan.rate + _LONGEST_CALL_S,
    )
    click.echo(
        f"{plan.calls} calls placed by the local Twilio at {local.base_url} to {url} in real "
        f"time (about {plan.calls / plan.rate:.0f} s of arrivals) with {plan.agents} temporary "
        f"agents sim{traffic.run_id}*",
        err=True,
    )
    try:
        with _sigterm_as_interrupt():
            return traffic.run(), traffic.occupancy
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    except LocalTwilioError as exc:
        raise click.ClickException(f"the local Twilio stopped answering: {exc}") from exc
    finally:
        _report_clean_up(traffic.problems, traffic.agent_ids)


def _warn_closed(engine: Engine) -> None:
    settings = engine.settings
    if not is_open(engine.clock.now(), settings.business_hours, settings.tz):
        click.echo(
            "WARNING: the hotline is closed now: callers hear the after-hours flow", err=True
        )


def _report_clean_up(problems: list[str], agent_ids: list[str]) -> None:
    for problem in problems:
        click.echo(f"WARNING: {problem}", err=True)
    if agent_ids and not problems:
        click.echo(f"removed the {len(agent_ids)} temporary agents", err=True)


def simulate_live(url: str, plan: Plan) -> Run:
    """Run `plan` against the server at `url` in real time, with temporary agents."""
    _require_server(url)
    settings = cli_settings()
    engine = cli_engine(settings)
    warn_demo_token(settings)
    _warn_closed(engine)
    sim = live_simulator(url, settings, seed=plan.seed, seconds_per_char=SAY_SECONDS_PER_CHAR)
    traffic = LiveTraffic(
        sim,
        engine,
        plan,
        on_offers=lambda offers: _dispatch(engine, offers, url),
        limit_s=5 * plan.calls / plan.rate + _LONGEST_CALL_S,
    )
    click.echo(
        f"{plan.calls} calls to {url} in real time (about {plan.calls / plan.rate:.0f} s of "
        f"arrivals) with {plan.agents} temporary agents sim{traffic.run_id}*",
        err=True,
    )
    try:
        return traffic.run(), traffic.occupancy
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    except OSError as exc:
        raise click.ClickException(f"the server at {url} stopped answering: {exc}") from exc
    finally:
        _report_clean_up(traffic.problems, traffic.agent_ids)


def _dispatch(engine: Engine, offers: list[Offer], url: str) -> None:
    """Carry out assignments as `agents set-state` does (a REST pull, or a call-back)."""
    Dispatcher(engine, Telephony(cli_settings())).act(offers, url.rstrip("/"))


def _staff(offline: Offline, answer_after: float) -> float:
    """In-process calls need someone to answer: make every configured agent available.

    Agents on an open line (`agents set --persistent`) connect it first, as they do when they
    sign in: their phones answer it after `answer_after`. Returns when the call starts."""
    router = offline.engine.router
    team = offline.engine.agents.all()
    for agent in team:
        router.set_agent_state(agent.id, "available")
    if not any(agent.persistent for agent in team):
        return offline.sim.now()
    offline.dispatcher().sync_lines(offline.base)
    offline.run(until=offline.sim.now() + answer_after + 1.0)
    return offline.sim.now()


def _to() -> str:
    return cli_settings().twilio.caller_id


def _require_server(url: str) -> None:
    """Stop with a clear message unless a Silverline server answers /healthz at `url`."""
    try:
        check_server(url)
    except OSError as exc:
        raise click.ClickException(f"no healthy Silverline server at {url}: {exc}") from exc


def _print_call(sim: Simulator, leg: Leg, as_json: bool) -> None:
    # Every leg of the run: the agent's leg placed through REST (the conference path) is a
    # call of its own, with a transcript of its own; a <Dial>ed leg shares its caller's.
    shared = {id(x.transcript): x.transcript for x in sim.legs.values()}
    lines = sorted((line for t in shared.values() for line in t), key=lambda line: line.at)
    if as_json:
        out: dict[str, Any] = {
            "call_sid": leg.sid,
            "status": leg.status,
            # first webhook to the bridge: the transcript's "connected to" line
            "time_to_human_s": None
            if leg.bridged_at is None
            else round(leg.bridged_at - leg.created_at, 2),
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
    if leg.bridged_at is not None:
        click.echo(f"time to a human: {leg.bridged_at - leg.created_at:.1f} s")
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
    head += f"{'ASA s':>9}{'SL':>8}{'max wait s':>12}{'P(wait)':>9}{'TTH s':>8}{'p90':>7}"
    rows = [head]
    for name in CLASSES:
        f = result["classes"][name]
        rows.append(
            f"{name:<8}{f['offered']:>9}{f['answered']:>10}{f['abandoned']:>11}"
            f"{f['asa_s']:>9.1f}{f['service_level']:>8.1%}{f['max_wait_s']:>12.1f}"
            f"{f['p_wait']:>9.1%}{_seconds(f['time_to_human_s']):>8}"
            f"{_seconds(f['time_to_human_p90_s']):>7}"
        )
    return "\n".join(rows)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"
