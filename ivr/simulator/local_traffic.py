"""`simulate --url` through the local Twilio: a Plan's callers placed by it, followed there.

The callers dial the hotline at the local Twilio (`silverline twilio-local`, which demo mode's
`silverline serve` starts), the same Twilio the server's REST requests go to, so a run takes
the path production takes (the agent rung by REST during the greeting). The run's temporary
agents are saved on the server's store with `client:` contacts, which the local Twilio's
phones answer after the plan's delay and talk a time drawn around its handle time. The run
keeps its session read (which keeps the local Twilio's lease on its callers); at the end,
also on Ctrl-C or an error, it hangs up the callers still on the line, so that the server
hears their status callbacks, then signs the agents out and removes them, and deletes the
seniors it put in the directory. The calls stay in the server's statistics.
"""

from __future__ import annotations

import random
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

from ivr.simulator.core.people import VirtualCaller, patience
from ivr.simulator.live import enlist, staff_agents, unstaff
from ivr.simulator.local import POLL_S, LocalTwilio, LocalTwilioError
from ivr.simulator.occupancy import Occupancy
from ivr.simulator.traffic import LivedCall, Plan, Population
from routing.clock import Clock
from routing.engine import Engine
from routing.exceptions import SilverlineError
from routing.queues.router import Offer

_NUMBER_BLOCKS = 10**8  # the eight digits after +86139 / +86137
_TEMPORARY = re.compile(r"sim([0-9a-f]{6})\d{3}")  # live.staff_agents' ids: the run's, a number


class FollowedTime:
    """The local Twilio's time line as read from here (its seconds, from the last call read)
    and the engine's clock: what the occupancy meter reads."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._offset = -time.monotonic()

    def seen(self, service_now: float) -> None:
        """The local Twilio said it was `service_now`: read its time from the wall's."""
        self._offset = service_now - time.monotonic()

    def now(self) -> float:
        return time.monotonic() + self._offset


class LocalTraffic:
    """Run `plan` through the local Twilio against the server on `engine`'s store."""

    def __init__(
        self,
        local: LocalTwilio,
        engine: Engine,
        plan: Plan,
        *,
        on_offers: Callable[[list[Offer]], None] | None = None,
        limit_s: float = float("inf"),
    ) -> None:
        self.local, self.engine, self.plan = local, engine, plan
        self.run_id = secrets.token_hex(3)
        self.session = f"simulate-{self.run_id}"
        self.agent_ids: list[str] = []
        self.saved_numbers: list[str] = []  # seniors put in the directory for this run
        self.problems: list[str] = []  # what clean-up could not undo
        self._on_offers = on_offers or (lambda offers: None)
        self._limit_s = limit_s
        self.time = FollowedTime(engine.clock)
        self.occupancy = Occupancy(engine.agents, self.time)
        first = secrets.randbelow(max(1, _NUMBER_BLOCKS - plan.calls))
        self._population = Population(random.Random(plan.seed + 2), first=first)

    def run(self) -> list[LivedCall]:
        """Staff, place every call at its time, follow all to their end; in arrival order."""
        placed: list[tuple[str, str]] = []  # sid, label
        calls: dict[str, dict[str, Any]] = {}
        try:
            self._staff()
            self.occupancy.watch(self.agent_ids)
            self._follow(self._arrivals(), placed, calls)
        finally:
            self.clean_up()
        return [_lived(calls[sid], label) for sid, label in placed]

    def _staff(self) -> None:
        self.local.session(self.session, open_it=True)  # its agents are alive while it is
        self.problems += sweep_stale_agents(self.local, self.engine)
        low, high = self.plan.answer_delay_s
        phone = {"answer_after": (low + high) / 2, "aht": self.plan.aht_s, "open_line": False}
        self.local.set_phones({"*": phone})  # the server's own agents answer as the plan says
        self.agent_ids = staff_agents(self.engine, self.plan.agents, self.run_id)
        for agent_id in self.agent_ids:
            self._on_offers(self.engine.router.set_agent_state(agent_id, "available"))

    def _arrivals(self) -> list[tuple[float, VirtualCaller]]:
        """Seconds from the start and caller, drawn as in-process runs draw them (Poisson)."""
        rng, at, due = random.Random(self.plan.seed + 1), 0.0, []
        for i in range(self.plan.calls):
            at += rng.expovariate(self.plan.rate)
            caller = self._caller(i, rng)
            caller.patience_s = patience(rng, self.plan.patience_s)
            caller.patience_from = self.plan.patience_from
            due.append((at, caller))
        return due

    def _caller(self, i: int, rng: random.Random) -> VirtualCaller:
        return enlist(self.engine, i, rng, self.plan, self._population, self.saved_numbers)

    def _follow(
        self,
        due: list[tuple[float, VirtualCaller]],
        placed: list[tuple[str, str]],
        calls: dict[str, dict[str, Any]],
    ) -> None:
        """Place each caller at its time; read the session until every call has ended."""
        start = time.monotonic()
        while True:
            elapsed = time.monotonic() - start
            while len(placed) < len(due) and due[len(placed)][0] <= elapsed:
                caller = due[len(placed)][1]
                call = self.local.place(caller, self.session)
                placed.append((str(call["sid"]), caller.label))
            for call in self.local.session(self.session):
                calls[str(call["sid"])] = call
                self.time.seen(float(call["now"]))
            self.occupancy.observe()
            if len(placed) == len(due) and all(c["ended"] for c in calls.values()):
                return
            if elapsed > self._limit_s:
                raise SilverlineError(f"the run did not end within {self._limit_s:.0f} s")
            next_due = due[len(placed)][0] - elapsed if len(placed) < len(due) else POLL_S
            time.sleep(max(0.0, min(POLL_S, next_due)))

    def clean_up(self) -> None:
        """Hang up callers still on the line, sign the agents out and remove them, drop
        the seniors."""
        try:
            self.local.leave(self.session)
        except OSError as exc:  # keep going: the rest can still be undone
            self.problems.append(f"could not hang up the run's callers: {exc}")
        unstaff(self.engine, self.agent_ids, self.saved_numbers, self.problems)


def sweep_stale_agents(local: LocalTwilio, engine: Engine) -> list[str]:
    """Remove the temporary agents of runs killed outright (their session has lapsed at the
    local Twilio), which would otherwise answer the server's next callers; what failed."""
    runs: dict[str, list[str]] = {}
    for agent in engine.agents.all():
        found = _TEMPORARY.fullmatch(agent.id)
        if found and agent.contact == f"client:{agent.id}":
            runs.setdefault(found.group(1), []).append(agent.id)
    problems = []
    for run_id, agent_ids in runs.items():
        try:
            local.session(f"simulate-{run_id}")
            continue  # its run is alive
        except LocalTwilioError as exc:
            if exc.status != 404:
                continue
        for agent_id in agent_ids:
            try:
                engine.router.set_agent_state(agent_id, "offline")
                engine.agents.remove(agent_id)
            except SilverlineError as exc:
                problems.append(f"could not remove the stale agent {agent_id}: {exc}")
    return problems


def _lived(call: dict[str, Any], label: str) -> LivedCall:
    """A followed call's outcome, on the local Twilio's time line."""
    return LivedCall(
        label,
        call["created_at"],
        call["routed_at"],
        call["enqueued_at"] is not None,
        call["agent_answered_at"],
        call["ended_at"],
        call["bridged_at"],
    )
