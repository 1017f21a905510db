"""`silverline agents ...`: the agent team from the command line.

The commands use the same store as the server (REDIS_URL, or the embedded server). Changing
an agent's state can assign them a waiting caller at once; `set-state` then carries that out
on the Twilio side as the web app would (a REST pull, or a senior's call-back).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar
from urllib.parse import urlencode

import click

from dialects.registry import UnknownDialect, resolve
from ivr.call.dispatch import Dispatcher
from ivr.cli.helpers import cli_audit, cli_engine, cli_settings, os_user
from ivr.telephony import Telephony
from routing.callers import numbers
from routing.engine import Engine
from routing.exceptions import SilverlineError
from routing.queues.agents import SETTABLE_STATES, Agent, AgentStatus
from routing.queues.router import Offer
from routing.queues.routing_script import FORCED_KEEP

T = TypeVar("T")
READY = "ready"  # the console's word for "wrap-up done, give me the next caller"


@click.group()
def agents() -> None:
    """The agent team: add, list, remove, and set who is available."""


@agents.command("add")
@click.argument("agent_id")
@click.option("--name", required=True, help="Display name, e.g. 王丽.")
@click.option(
    "--contact",
    default=None,
    help="client:<identity> (Twilio Client) or a phone number; default client:AGENT_ID.",
)
@click.option(
    "--skill",
    "skills",
    multiple=True,
    help="A skill: senior (senior-trained) or a queue's topic. Repeat, or separate by commas.",
)
@click.option(
    "--dialect",
    "dialects",
    multiple=True,
    help="A dialect spoken; the first is the whisper's language. Repeat, or separate by commas.",
)
@click.option(
    "--auto-answer",
    is_flag=True,
    help="Their phone picks up by itself after a short tone (agents on a headset).",
)
@click.option(
    "--persistent",
    is_flag=True,
    help="Keep an open line while signed in: callers join it with no ringing, and the line "
    'is a call leg billed while idle (docs/time-to-human.md, "Open lines").',
)
@click.option("--update", is_flag=True, help="Replace an existing agent's profile.")
def add_command(
    agent_id: str,
    name: str,
    contact: str | None,
    skills: tuple[str, ...],
    dialects: tuple[str, ...],
    auto_answer: bool,
    persistent: bool,
    update: bool,
) -> None:
    """Add AGENT_ID (a01: lower-case letters, digits, underscores); new agents start offline.

    The id is the agent's Twilio Client identity (client:AGENT_ID), which the Voice SDKs
    take as letters, digits and underscore only.
    """
    engine = cli_engine()
    agent = Agent(
        id=agent_id,
        name=name.strip(),
        contact=_contact(engine, contact or f"client:{agent_id}"),
        skills=frozenset(_skills(engine, skills)),
        dialects=tuple(_dialects(dialects) or [engine.settings.hotline.default_dialect]),
        auto_answer=auto_answer,
        persistent=persistent,
    )
    if not agent.name:
        raise click.BadParameter("must not be empty", param_hint="--name")
    exists = _guard(lambda: engine.agents.get(agent_id)) is not None
    if exists and not update:
        raise click.ClickException(f"agent {agent_id!r} exists; pass --update to replace them")
    try:
        engine.agents.save(agent)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
    cli_audit(engine, "agent_saved", agent_id, updated=exists, skills=sorted(agent.skills))
    click.echo(f"{'updated' if exists else 'added'} {_line(agent, None, engine)}")


@agents.command("set")
@click.argument("agent_id")
@click.option(
    "--persistent/--no-persistent",
    required=True,
    help="Keep an open line while signed in (or not); see `agents add --persistent`.",
)
def set_command(agent_id: str, persistent: bool) -> None:
    """Change AGENT_ID's profile: whether they keep an open line while signed in.

    The line is placed (or closed) by the server's next routing event for the agent; a
    signed-in agent turning it on gets it when they next sign in or their line is looked at.
    """
    engine = cli_engine()
    agent = _guard(lambda: engine.agents.get(agent_id))
    if agent is None:
        raise click.ClickException(f"no agent {agent_id!r}")
    changed = dataclasses.replace(agent, persistent=persistent)
    _guard(lambda: engine.agents.save(changed))
    cli_audit(engine, "agent_saved", agent_id, updated=True, persistent=persistent)
    click.echo(f"updated {_line(changed, None, engine)}")


@agents.command("list")
def list_command() -> None:
    """Print every agent with skills, dialects and state."""
    engine = cli_engine()
    team = _guard(engine.agents.all)
    states = _guard(engine.agents.states)
    if not team:
        click.echo("no agents; add one with `silverline agents add` or `silverline demo seed`")
        return
    for agent in team:
        click.echo(_line(agent, states.get(agent.id), engine))


@agents.command("remove")
@click.argument("agent_id")
def remove_command(agent_id: str) -> None:
    """Remove AGENT_ID; a caller only offered to them goes back to their place in line."""
    engine = cli_engine()
    if _guard(lambda: engine.agents.get(agent_id)) is None:
        raise click.ClickException(f"no agent {agent_id!r}")
    _guard(lambda: engine.agents.remove(agent_id))
    cli_audit(engine, "agent_removed", agent_id)
    click.echo(f"removed {agent_id}")


@agents.command("set-state")
@click.argument("agent_id")
@click.argument("state", type=click.Choice([*SETTABLE_STATES, READY]))
@click.option(
    "--force",
    is_flag=True,
    help="Now, ending a call or offer that holds the agent (its end was never reported): "
    "the caller offered goes back in line, a call is closed as completed. Recorded in the "
    "forced-change list under your login name.",
)
def set_state_command(agent_id: str, state: str, force: bool) -> None:
    """Set AGENT_ID available, away or offline ("ready" ends a wrap-up: available).

    An agent on a call leaves when the call ends, unless --force; an available one may be
    offered a waiting caller at once.
    """
    settings = cli_settings()
    eng = cli_engine(settings)
    if _guard(lambda: eng.agents.get(agent_id)) is None:
        raise click.ClickException(f"no agent {agent_id!r}")
    target = "available" if state == READY else state
    if force:
        offers = _force(eng, agent_id, target, Telephony(settings), settings.public_base)
    else:
        offers = _guard(lambda: eng.router.set_agent_state(agent_id, target))
    if not force:  # a forced change is recorded by _force, with what it ended
        cli_audit(eng, "agent_state_set", agent_id, to_state=target)
    run = Dispatcher(eng, Telephony(settings))
    run.act(offers, settings.public_base)
    if run.telephony.enabled:  # a persistent agent's open line placed, or closed
        run.sync_lines(settings.public_base)
    status = _guard(lambda: eng.agents.state(agent_id))
    busy = status.state in ("offered", "on_call") and not force
    after = f" (then {target} after the call; --force ends it now)" if busy else ""
    click.echo(f"{agent_id} is {status.state}{after}")
    for offer in offers:
        if offer.agent.id == agent_id:
            click.echo(f"  offered a waiting caller from the {offer.queue} queue")


def _force(eng: Engine, agent_id: str, target: str, telephony: Telephony, root: str) -> list[Offer]:
    """Force the state as the OS user, and say what that ended (an agent's leg still ringing
    for an offer it ended is hung up: its TwiML would take them into the caller's room; a
    caller's classic <Dial> still ringing them is left for /voice/connect, as the API does)."""
    who = os_user()
    try:
        change, offers = _guard(lambda: eng.router.force_agent_state(agent_id, target, who, "cli"))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    cli_audit(
        eng, "agent_state_forced", agent_id, from_state=change.from_state, to_state=target,
        ended=change.ended, call_sid=change.call_sid,
    )  # fmt: skip
    telephony.end(change.leg)
    if change.line:
        query = urlencode({"call": change.call_sid})
        telephony.redirect(change.line, f"{root}/voice/connect?{query}")
    ended = {
        "offer": f"; caller {change.call_sid} went back to their place in line",
        "call": f"; call {change.call_sid} was closed as completed",
    }.get(change.ended, "")
    click.echo(
        f"{agent_id} forced from {change.from_state} to {change.to_state} by {change.by}{ended}"
    )
    return offers


@agents.command("forced")
@click.option("--limit", default=20, type=click.IntRange(1, FORCED_KEEP), help="How many.")
def forced_command(limit: int) -> None:
    """Print the newest forced state changes (dashboard, API or --force), newest first."""
    eng = cli_engine()
    changes = _guard(lambda: eng.router.forced_changes(limit))
    if not changes:
        click.echo("no forced state changes")
    for c in changes:
        ended = f"  ended {c.ended} {c.call_sid}" if c.ended else ""
        click.echo(
            f"{_local(c.at, eng)}  {c.agent_id:<8} {c.from_state} -> {c.to_state}  "
            f"by {c.by} ({c.via}){ended}"
        )


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip().lower() for value in values for v in value.split(",") if v.strip()]


def _skills(engine: Engine, values: tuple[str, ...]) -> list[str]:
    known = {"senior"} | {q.skill for q in engine.settings.queues.values() if q.skill}
    chosen = _split(values)
    unknown = sorted(set(chosen) - known)
    if unknown:
        raise click.BadParameter(
            f"unknown skill {', '.join(unknown)}; known: {', '.join(sorted(known))}",
            param_hint="--skill",
        )
    return chosen


def _dialects(values: tuple[str, ...]) -> list[str]:
    chosen: list[str] = []
    for spelling in _split(values):
        try:
            code = resolve(spelling)
        except UnknownDialect as exc:
            raise click.BadParameter(str(exc), param_hint="--dialect") from None
        if code not in chosen:
            chosen.append(code)
    return chosen


def _contact(engine: Engine, raw: str) -> str:
    raw = raw.strip()
    if raw.startswith("client:"):
        return raw
    number = numbers.normalise(raw, engine.settings.hotline.default_region)
    if number is None:
        raise click.BadParameter(
            f"{raw!r} is neither client:<identity> nor a valid phone number",
            param_hint="--contact",
        )
    return number


def _line(agent: Agent, status: AgentStatus | None, engine: Engine) -> str:
    skills = ",".join(sorted(agent.skills)) or "-"
    state = f"  {status.state} since {_local(status.since, engine)}" if status else ""
    return (
        f"{agent.id:<8} {agent.name}  {agent.contact}  skills={skills}  "
        f"dialects={','.join(agent.dialects)}{'  auto-answer' if agent.auto_answer else ''}"
        f"{'  open-line' if agent.persistent else ''}{state}"
    )


def _local(when: datetime, engine: Engine) -> str:
    return when.astimezone(engine.settings.tz).strftime("%Y-%m-%d %H:%M:%S")


def _guard(fetch: Callable[[], T]) -> T:
    try:
        return fetch()
    except KeyError as exc:
        raise click.ClickException(str(exc).strip("'\"")) from exc
    except SilverlineError as exc:
        raise click.ClickException(str(exc)) from exc
