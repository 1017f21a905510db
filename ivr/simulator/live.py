"""A running server driven over HTTP in real time: `silverline call --url`, `simulate --url`.

The server reads the wall clock, so the simulator runs in real time (speed 1), signing its
webhooks with the settings' auth token (demo mode's fixed one), and drawing CallSids the
server has never seen. `LiveTraffic` runs a Plan against it: it creates temporary agents on
the server's store (an engine on the same Redis) with `client:` contacts that the
simulator's virtual agents answer, makes them available, places the calls, and at the end
(also on Ctrl-C or an error) hangs up calls still running, signs the agents out and removes
them, and deletes the senior callers it put in the directory. The calls stay in the
server's statistics: that is what fills the supervisor dashboard.
"""

from __future__ import annotations

import random
import secrets
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime

from dialects.packs import default_packs
from ivr.settings import Settings
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.core.steps import Steps
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import HttpTransport, Transport
from ivr.simulator.occupancy import Observing, Occupancy
from ivr.simulator.traffic import LivedCall, Plan, Population, arrivals, caller_for, outcome
from routing.clock import FixedClock
from routing.engine import Engine
from routing.exceptions import SilverlineError
from routing.queues.agents import Agent
from routing.queues.router import Offer

_NUMBER_BLOCKS = 10**8  # the eight digits after +86139 / +86137


def live_simulator(
    base_url: str,
    settings: Settings,
    *,
    seed: int = 0,
    seconds_per_char: float = 0.2,
    transport: Transport | None = None,
) -> Simulator:
    """A real-time simulator whose hotline number calls the server at `base_url`."""
    sim = Simulator(
        clock=FixedClock(datetime.now(UTC)),
        speed=1.0,
        seed=seed,
        account_sid=settings.secrets.account_sid,
        auth_token=settings.secrets.auth_token,
        seconds_per_char=seconds_per_char,
        unique_sids=True,
    )
    sim.connect(transport or HttpTransport())
    base = base_url.rstrip("/")
    sim.add_number(
        settings.twilio.caller_id,
        f"{base}/voice/incoming",
        status_callback=f"{base}/voice/status",
        fallback_url=f"{base}/voice/fallback",
    )
    return sim


def check_server(base_url: str, timeout_s: float = 5.0) -> None:
    """Raise OSError unless the server at `base_url` answers /healthz with 200."""
    with urllib.request.urlopen(f"{base_url.rstrip('/')}/healthz", timeout=timeout_s) as res:
        if res.status != 200:
            raise OSError(f"/healthz answered HTTP {res.status}")


def enlist(
    engine: Engine, i: int, rng: random.Random, plan: Plan, population: Population, saved: list[str]
) -> VirtualCaller:
    """The run's caller `i`; a senior the server's directory does not know is saved in it (their
    number added to `saved`, for unstaff to delete), so that the server hears a senior."""
    caller = caller_for(i, rng, plan, population, engine.settings.ivr.agent_key)
    if caller.senior and engine.directory.lookup(caller.number) is None:
        engine.directory.save(population.seniors[-1])
        saved.append(caller.number)
    return caller


def unstaff(engine: Engine, agent_ids: list[str], numbers: list[str], problems: list[str]) -> None:
    """Sign a run's agents out and remove them, and delete the seniors it saved; what cannot
    be undone is added to `problems`, and the rest is undone still."""
    for agent_id in agent_ids:
        undo(problems, f"remove agent {agent_id}", lambda aid: _sign_out(engine, aid), agent_id)
    for number in numbers:
        undo(problems, f"delete customer {number}", engine.directory.delete, number)


def _sign_out(engine: Engine, agent_id: str) -> None:
    engine.router.set_agent_state(agent_id, "offline")
    engine.agents.remove(agent_id)


def undo(problems: list[str], what: str, step: Callable[[str], object], arg: str) -> None:
    """Run one step of a clean-up; a failure is noted, not raised (the rest can still run)."""
    try:
        step(arg)
    except SilverlineError as exc:
        problems.append(f"could not {what}: {exc}")


def staff_agents(engine: Engine, count: int, run_id: str) -> list[str]:
    """Save `count` temporary agents, sim<run_id>000 on, with every skill and dialect and a
    `client:` contact of their own; their ids."""
    settings = engine.settings
    skills = frozenset({"senior"} | {q.skill for q in settings.queues.values() if q.skill})
    default = settings.hotline.default_dialect  # first: the language of the whisper
    dialects = (default, *(c for c in default_packs().codes if c != default))
    ids = []
    for n in range(count):
        agent_id = f"sim{run_id}{n:03d}"
        name = f"sim {n + 1} ({run_id})"
        engine.agents.save(Agent(agent_id, name, f"client:{agent_id}", skills, dialects))
        ids.append(agent_id)
    return ids


class LiveTraffic:
    """Run `plan` through a live server with temporary agents; clean up whatever happens.

    `engine` must use the server's store; `on_offers` carries out assignments that making
    an agent available returns (the CLI dispatches them as `agents set-state` does).
    """

    def __init__(
        self,
        sim: Simulator,
        engine: Engine,
        plan: Plan,
        *,
        on_offers: Callable[[list[Offer]], None] | None = None,
        limit_s: float | None = None,
    ) -> None:
        self.sim, self.engine, self.plan = sim, engine, plan
        self.number = next(iter(sim.numbers))  # the hotline's number (live_simulator)
        self.run_id = secrets.token_hex(3)
        self.agent_ids: list[str] = []
        self.saved_numbers: list[str] = []  # seniors put in the directory for this run
        self.problems: list[str] = []  # what clean-up could not undo
        self._on_offers = on_offers or (lambda offers: None)
        self._limit_s = limit_s
        self._placed_all = False
        self.occupancy = Occupancy(engine.agents, sim.sched)
        first = secrets.randbelow(max(1, _NUMBER_BLOCKS - plan.calls))
        self._population = Population(random.Random(plan.seed + 2), first=first)

    def run(self) -> list[LivedCall]:
        """Staff, place every call, run until all have ended; outcomes in arrival order."""
        legs: list[tuple[Leg, str]] = []
        try:
            self._staff()
            self.occupancy.watch(self.agent_ids)
            if self.sim.webhooks is not None:
                self.sim.webhooks.transport = Observing(self.sim.webhooks.transport, self.occupancy)
            self.sim.on_call_end.append(self._call_ended)
            self.sim.sched.spawn(self._arrivals(legs))
            self.sim.run(until=self._limit_s)
        finally:
            self.clean_up()
        return [outcome(leg, label) for leg, label in legs]

    def _staff(self) -> None:
        for agent in self.engine.agents.all():  # the server's own team, if any is available,
            self._phone(agent.contact)  # answers as the plan says too
        self.agent_ids += staff_agents(self.engine, self.plan.agents, self.run_id)
        for agent_id in self.agent_ids:
            self._phone(f"client:{agent_id}")
        for agent_id in self.agent_ids:
            self._on_offers(self.engine.router.set_agent_state(agent_id, "available"))

    def _phone(self, contact: str) -> None:
        self.sim.people.add_agent(
            contact,
            aht_s=self.plan.aht_s,
            answer_delay_s=self.plan.answer_delay_s,
            miss_probability=self.plan.miss_probability,
        )

    def _arrivals(self, legs: list[tuple[Leg, str]]) -> Steps:
        yield from arrivals(self.sim, self.plan, self._place, self._caller, legs)
        self._placed_all = True
        self._call_ended(None)

    def _place(self, caller: VirtualCaller) -> Leg:
        return self.sim.place_call(caller, self.number)

    def _caller(self, i: int, rng: random.Random) -> VirtualCaller:
        return enlist(self.engine, i, rng, self.plan, self._population, self.saved_numbers)

    def _call_ended(self, leg: Leg | None) -> None:
        if self._placed_all and not self.sim.live:
            self.sim.sched.stop()  # patience timers of answered calls are all that is left

    def clean_up(self) -> None:
        """Hang up calls still running, sign the agents out and remove them, drop seniors."""
        for sid in sorted(self.sim.live):
            if self.sim.legs[sid].direction == "inbound":
                undo(self.problems, f"hang up {sid}", self.engine.router.hangup, sid)
        unstaff(self.engine, self.agent_ids, self.saved_numbers, self.problems)
