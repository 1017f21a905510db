"""The real app, in-process, on the simulator's clock: calls without a Twilio account.

`Offline(create_app, overrides)` builds the app with `create_app(overrides, clock=...,
twilio_http_client=...)` on the simulator's virtual clock and in-process REST client, points
the hotline number at /voice/incoming, and runs the app's ticker beat on the virtual clock while
calls are live.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from dialects.packs import default_packs
from ivr import services
from ivr.call import spool
from ivr.call.dispatch import Dispatcher
from ivr.runtime import ticker
from ivr.runtime.provision import APP_HOOKS, APP_NAME
from ivr.services import AppFactory
from ivr.simulator.accounting import closed_now, path_of
from ivr.simulator.core.account import Application
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import AgentPhone, VirtualCaller
from ivr.simulator.core.rest import RestClient
from ivr.simulator.core.scheduler import Interrupt, Process
from ivr.simulator.core.steps import Steps
from ivr.simulator.core.switch import Simulator
from ivr.simulator.core.transport import FlaskTransport, Reply
from ivr.simulator.occupancy import Occupancy
from ivr.simulator.traffic import LivedCall, Plan, Population, arrivals, caller_for, outcome
from routing.clock import FixedClock, epoch_ms
from routing.engine import Engine
from routing.exceptions import StoreUnavailable
from routing.queues.agents import Agent
from routing.queues.hours import is_open
from routing.queues.routing_script import ScriptReport

BASE = "http://localhost"  # the Flask test client's host: webhooks are signed for it


class Offline:
    """The app and the simulator wired together on one virtual clock."""

    def __init__(
        self,
        create_app: AppFactory,
        overrides: Mapping[str, Any] | None = None,
        *,
        clock: FixedClock | None = None,
        seed: int = 0,
        seconds_per_char: float = 0.2,
        beat_s: float | None = 1.0,
        linger_s: float = 900.0,
        speed: float | None = None,
    ) -> None:
        when = clock or FixedClock(datetime.now(UTC))
        self.sim = Simulator(clock=when, speed=speed, seed=seed, seconds_per_char=seconds_per_char)
        self.rest = RestClient(self.sim)
        self._create_app, self._overrides = create_app, overrides
        self.script_report = ScriptReport()  # the engine's, through create_app: simulate()
        self._start_app()
        self.settings = services.of(self.app).settings
        secrets = self.settings.secrets
        self.sim.account_sid, self.sim.auth_token = secrets.account_sid, secrets.auth_token
        transport = FlaskTransport(self.app, lambda: self.sim.rest_charged)
        self.sim.connect(_Beating(transport, self))
        self.base = self.settings.twilio.base or BASE
        self.number = self._hotline_number()
        self._beat_s, self._linger_s = beat_s, linger_s
        self._beat: Process | None = None
        self._beat_due = False
        # Traffic runs (simulate()) let the ticker sleep until the engine's next due time
        # instead of beating every virtual second to find nothing to do; otherwise it sleeps
        # so only while no call is live (_quiet_until): a scenario's linger after its calls.
        self.sleep_until_due, self.sleep_when_quiet = False, True
        self.beats = 0  # the ticker's own beats run (not those after each webhook)
        self._wake_at = math.inf  # when the sleeping ticker beats next
        self._grid = (0.0, beat_s or 1.0)  # the ticker's first beat and its period
        report = self.script_report
        self.occupancy = Occupancy(self.engine.agents, self.sim.sched, report.states_changed)
        self.metering = False  # simulate() turns the occupancy meter on

    def _hotline_number(self) -> str:
        """The hotline's number on the offline Twilio, its webhooks pointed at the app."""
        number = self.settings.twilio.caller_id
        self.sim.add_number(
            number,
            f"{self.base}/voice/incoming",
            status_callback=f"{self.base}/voice/status",
            fallback_url=f"{self.base}/voice/fallback",
        )
        return number

    def restart(self) -> None:
        """Replace the app by a new instance on the same store, as a server restart does:
        whatever the old one kept in memory (its spool, its caches) is gone."""
        self._start_app()
        self.sim.connect(_Beating(FlaskTransport(self.app), self))

    def _start_app(self) -> None:
        """Build the app on the simulator's clock, REST client and routing report."""
        self.app: Flask = self._create_app(
            self._overrides,
            clock=self.sim.clock,
            twilio_http_client=self.rest,
            script_report=self.script_report,
        )
        self.engine: Engine = services.of(self.app).engine

    def add_agent(
        self,
        agent_id: str,
        skills: set[str],
        dialects: tuple[str, ...] = ("mandarin",),
        persistent: bool = False,
        **phone: Any,
    ) -> AgentPhone:
        """Register an agent in the engine, make them available, and give them a phone
        (`persistent`: on an open line, placed now and connected once they answer it)."""
        contact = f"client:{agent_id}"
        agent = Agent(
            agent_id, f"Agent {agent_id}", contact, frozenset(skills), dialects, False, persistent
        )
        self.engine.agents.save(agent)
        offers = self.engine.router.set_agent_state(agent_id, "available")
        phone_of = self.sim.people.add_agent(contact, open_line=persistent, **phone)
        self.dispatcher().act(offers, self.base)
        if persistent:
            self.dispatcher().sync_lines(self.base)
        return phone_of

    def softphone_app(self) -> str:
        """The TwiML App the consoles' softphones call through, as `twilio setup` makes it."""
        for app in self.sim.account.applications.values():
            return app.sid
        app = Application(
            "AP" + "0" * 32,
            self.sim.now(),
            friendly_name=APP_NAME,
            **{attr: self.base + path for attr, path in APP_HOOKS},
        )
        self.sim.account.applications[app.sid] = app
        return app.sid

    def dispatcher(self) -> Dispatcher:
        return Dispatcher(self.engine, services.of(self.app).telephony)

    def close_lines(self) -> None:
        """Sign every agent out, which closes their open lines (the run is over)."""
        for agent in self.engine.agents.all():
            self.engine.router.set_agent_state(agent.id, "offline")
        self.dispatcher().sync_lines(self.base)

    def close_lines_after(self, over: Callable[[], bool], every_s: float = 30.0) -> None:
        """Close the open lines once `over()` (looked at every `every_s`): an open line
        never ends of itself, and the run goes on while a call is live."""

        def watch() -> Steps:
            while not over():
                yield every_s
            self.close_lines()

        self.sim.sched.spawn(watch())

    def call(self, caller: VirtualCaller, delay: float = 0.0) -> Leg:
        """Place a call from `caller` to the hotline in `delay` seconds."""
        leg = self.sim.place_call(caller, self.number, delay)
        self._keep_beating()
        return leg

    def run(self, until: float | None = None) -> None:
        """Run the time line until nothing is left (or until `until` seconds)."""
        self._keep_beating()
        self._wake_ticker("run")  # what was changed since the last run may be due sooner
        self.sim.run(until)

    def beat_soon(self) -> None:
        """One ticker beat at the current instant, after the webhook now running."""
        if not self._beat_due:
            self._beat_due = True
            self.sim.sched.call_later(0, self._beat_now)

    def observe(self) -> None:
        """Let the occupancy meter read the agents' states before this instant's work."""
        if self.metering:
            self.occupancy.observe()

    def _beat_now(self) -> None:
        self._beat_due = False
        self.observe()
        if not self.sleep_until_due:
            ticker.beat(self.app, self.base)
            self._wake_ticker("webhook")  # a call has started, or something is due sooner
            return
        # After a webhook only its assignments are new; the ticker's other jobs (spool,
        # call-backs, reconcile) keep to its own beats. The webhook's last routing call, at
        # this instant, says whether a tick would find anything: a settle just ran and no
        # offer waits to be acted on is the usual case, and then no round trip is needed;
        # otherwise one: tick and what is due.
        done, due = self.engine.router.last_call()
        if not done:
            offers, due = self.engine.router.tick_due()
            Dispatcher(self.engine, services.of(self.app).telephony).act(offers, self.base)
        beat = self._beat
        if beat is not None and beat.alive and beat.turn and self._beat_at(due) < self._wake_at:
            beat.interrupt("due sooner")  # this webhook made something due before that beat

    def _wake_ticker(self, cause: str) -> None:
        """Have a ticker sleeping through quiet beats plan its next beat again."""
        beat = self._beat
        beyond = self._on_grid(self.sim.now() + self._grid[1])  # past the next beat on the grid
        if beat is not None and beat.alive and beat.turn and self._wake_at > beyond:
            beat.interrupt(cause)

    def _keep_beating(self) -> None:
        if self._beat_s is not None and (self._beat is None or not self._beat.alive):
            self._beat = self.sim.sched.spawn(self._beats(self._beat_s))

    def _beats(self, every_s: float) -> Steps:
        """The server's ticker on virtual time; stops once calls have been over a while.

        With `sleep_until_due` it skips the beats that would find nothing due, keeping the
        others on the same one-second grid, so the run is the one beating every second.
        """
        self._grid = (self.sim.now(), every_s)
        quiet_since = self.sim.now()
        while True:
            self.observe()
            ticker.beat(self.app, self.base)
            self.beats += 1
            if self.sim.live:
                quiet_since = self.sim.now()
            elif self.sim.now() - quiet_since > self._linger_s:
                return
            soonest = self._on_grid(self.sim.now() + every_s)  # the grid's next beat
            last = quiet_since + self._linger_s + every_s  # the beat that ends the linger
            self._wake_at = soonest
            if self.sleep_until_due:
                self._wake_at = min(max(self._next_beat(), soonest), last)
            elif self.sleep_when_quiet and not self.sim.live:
                self._wake_at = min(max(self._quiet_until(), soonest), last)
            while True:
                try:
                    yield self._wake_at - self.sim.now()
                    break
                except Interrupt:  # a webhook made something due before the planned beat
                    if self.sleep_until_due:
                        self._wake_at = min(self._wake_at, max(self._next_beat(), soonest))
                    else:  # a call started, or a test changed the store between runs
                        soonest = self._on_grid(self.sim.now())
                        sooner = soonest if self.sim.live else self._quiet_until()
                        self._wake_at = min(self._wake_at, sooner)
            self._wake_at = math.inf

    def _on_grid(self, at: float) -> float:
        """The first beat of the one-second grid at or after `at`."""
        origin, every_s = self._grid
        return origin + math.ceil((at - origin) / every_s - 1e-9) * every_s

    def _next_beat(self) -> float:
        """The grid's first beat at or after the engine's next due time (inf: none due).

        Spooled reports (Redis was away) are replayed at the server's pace, every beat.
        """
        if len(spool.spool_of(self.app)):
            return self._on_grid(self.sim.now() + self._grid[1])
        done, due = self.engine.router.last_call()
        if done:  # the last routing call, at this instant, settled and said what is due
            return self._beat_at(due)
        try:
            return self._beat_at(self.engine.router.next_due())
        except StoreUnavailable:
            return self._on_grid(self.sim.now() + self._grid[1])

    def _quiet_until(self) -> float:
        """With no call live, the grid's first beat at which a beat can do anything.

        Each job of a beat (ivr/runtime/ticker.py) is the engine's routing (its next due time:
        `_next_beat`, which also keeps every beat out of hours and while reports are
        spooled), the privacy trim (once a minute), or one that is beaten for every second
        while it may have work, as it was: call-back requests waiting to be queued, phones
        the sweep watches, campaigns' visits, and agents who want an open line.
        """
        eng, every_beat = self.engine, self._on_grid(self.sim.now())
        try:
            if (
                eng.callbacks.count()
                or eng.softphones.watched()
                or any(c.state == "active" for c in eng.campaigns.all())
                or any(a.persistent for a in eng.agents.all())
            ):
                return every_beat
        except StoreUnavailable:
            return every_beat
        trim_s = (eng.privacy.next_enforce_ms() - epoch_ms(self.sim.clock.now())) / 1000
        return min(self._next_beat(), self._on_grid(self.sim.now() + max(trim_s, 0.0)))

    def _beat_at(self, due: datetime | None) -> float:
        """The grid's first beat at or after `due` (inf: nothing due).

        Out of hours every beat is kept: call-backs asked for then are queued at opening.
        """
        s = self.engine.settings
        if not is_open(self.sim.clock.now(), s.business_hours, s.tz):
            return self._on_grid(self.sim.now() + self._grid[1])
        if due is None:
            return math.inf
        return self._on_grid(self.sim.now() + (due - self.sim.clock.now()).total_seconds())


class _Beating:
    """A transport that asks for a ticker beat after each webhook.

    The server's ticker beats every second; beating right after each webhook hands out the
    assignments that webhook's engine call made at once, without a beat every virtual second.
    """

    def __init__(self, inner: FlaskTransport, offline: Offline) -> None:
        self._inner, self._offline = inner, offline

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        self._offline.observe()
        reply = self._inner.send(method, url, form, headers)
        self._offline.beat_soon()
        return reply


def simulate(offline: Offline, plan: Plan) -> list[LivedCall]:
    """Run `plan` through the app: `plan.agents` agents who take every queue and dialect.

    `offline.occupancy` meters the agents' time on calls; the app must have been built with
    the plan's wrap-up (`routing.wrap_up_seconds`), if the plan sets one.
    """
    wrap_up = offline.engine.settings.routing.wrap_up_seconds
    if plan.wrap_up_s is not None and plan.wrap_up_s != wrap_up:
        raise ValueError(f"the plan's wrap-up is {plan.wrap_up_s} s, the app's {wrap_up} s")
    offline.metering = True
    offline.sleep_until_due = True
    offline.script_report.enabled = True  # ticks only where a webhook left work
    packs = default_packs()
    skills = {"senior"} | {t.queue for t in offline.engine.settings.ivr.topics}
    open_lines = round(plan.open_lines * plan.agents)
    drops = {"line_drops": plan.line_drops, "drop_rng": random.Random(plan.seed + 3)}
    for n in range(plan.agents):
        offline.add_agent(
            f"sim{n:03d}",
            skills | {"complaints"},
            packs.codes,
            persistent=n < open_lines,
            aht_s=plan.aht_s,
            answer_delay_s=plan.answer_delay_s,
            miss_probability=plan.miss_probability,
            **(drops if n < open_lines else {}),
        )
    population = Population(random.Random(plan.seed + 2))
    agent_key = offline.engine.settings.ivr.agent_key

    def callers(i: int, rng: random.Random) -> VirtualCaller:
        caller = caller_for(i, rng, plan, population, agent_key)
        if caller.senior:
            offline.engine.directory.save(population.seniors[-1])
        return caller

    return _run_traffic(offline, plan, callers)


def _run_traffic(
    offline: Offline, plan: Plan, callers: Callable[[int, random.Random], VirtualCaller]
) -> list[LivedCall]:
    """Place the plan's calls, run them out, and say where each one ended up."""
    legs: list[tuple[Leg, str]] = []
    closed: dict[str, bool] = {}  # was the hotline closed when each call arrived
    paths: dict[str, str] = {}  # where each call ended up, read as it ended

    def place(caller: VirtualCaller) -> Leg:
        leg = offline.call(caller)
        closed[leg.sid] = closed_now(offline.engine)
        return leg

    # Read as each call ends, not after the run: the engine forgets a call's record
    # `privacy.call_record_hours` (1 day) after its last change, so a run over more than a
    # day read at its end found the early callers nowhere (issue 31: 30,000 calls over 2.8
    # virtual days, 19,314 of them counted as hung up in the menu).
    def ended(leg: Leg) -> None:
        if leg.sid in closed:
            paths[leg.sid] = path_of(offline.engine, leg, closed[leg.sid])

    offline.sim.on_call_end.append(ended)
    try:
        offline.sim.sched.spawn(arrivals(offline.sim, plan, place, callers, legs))
        if plan.open_lines > 0:
            offline.close_lines_after(
                lambda: len(legs) == plan.calls and all(x.ended for x, _ in legs)
            )
        offline.run()
    finally:
        offline.sim.on_call_end.remove(ended)
    offline.observe()
    return [
        dataclasses.replace(
            outcome(leg, label),
            path=paths.get(leg.sid) or path_of(offline.engine, leg, closed[leg.sid]),
        )
        for leg, label in legs
    ]
