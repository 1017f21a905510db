"""Traffic straight into the routing engine, as the webhooks would drive it, without HTTP.

A statistical run needs tens of thousands of calls; through the webhooks a call costs about
fifty milliseconds of Flask and Redis, here about one. Callers arrive (`Router.arrive`), are
offered to agents who answer at once (`answered`), talk for an exponential time
(`dial_result`), and the engine's pending assignments are handed out straight after each event
(`tick`), as the server's ticker would within its beat.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from dialects.packs import default_packs
from ivr.simulator.core.calls import new_sid
from ivr.simulator.core.people import patience
from ivr.simulator.core.scheduler import Scheduler
from ivr.simulator.core.steps import Steps
from ivr.simulator.traffic import LivedCall, Plan
from routing.callers.caller import Caller
from routing.engine import Engine
from routing.queues.agents import Agent
from routing.queues.router import Offer


@dataclass
class _Call:
    label: str
    arrived: float
    waited: bool = False
    answered: float | None = None
    ended: float | None = None


class EngineTraffic:
    """Run a Plan against `engine`, whose clock must be `sched.clock`."""

    def __init__(self, engine: Engine, sched: Scheduler, plan: Plan) -> None:
        if engine.clock is not sched.clock:
            raise ValueError("the engine must read the scheduler's clock")
        self.engine, self.sched, self.plan = engine, sched, plan
        self._rng = random.Random(plan.seed)
        self._talk_rng = random.Random(plan.seed + 7)
        self.calls: dict[str, _Call] = {}
        self._waiting = 0  # callers queued and not yet answered: only then can a tick assign

    def run(self) -> list[LivedCall]:
        """Staff the agents, place every call, run to the end; outcomes in arrival order."""
        self._staff()
        self.sched.spawn(self._arrivals())
        self.sched.run()
        return [
            LivedCall(c.label, c.arrived, c.arrived, c.waited, c.answered, c.ended)
            for c in self.calls.values()
        ]

    def _staff(self) -> None:
        skills = frozenset(
            {"senior", "complaints"} | {t.queue for t in self.engine.settings.ivr.topics}
        )
        for n in range(self.plan.agents):
            agent = Agent(f"sim{n:03d}", f"Sim {n}", f"client:sim{n:03d}", skills, self._dialects())
            self.engine.agents.save(agent)
            self._take(self.engine.router.set_agent_state(agent.id, "available"))

    def _dialects(self) -> tuple[str, ...]:
        return default_packs().codes

    def _arrivals(self) -> Steps:
        for _ in range(self.plan.calls):
            yield self._rng.expovariate(self.plan.rate)
            self._arrive()

    def _arrive(self) -> None:
        senior = self._rng.random() < self.plan.senior_share
        sid = new_sid("CA", self._rng)
        age = 70 if senior else 40
        caller = Caller("", None, None, age, "mandarin", senior)
        self.calls[sid] = _Call("senior" if senior else "other", self.sched.now())
        placement = self.engine.router.arrive(sid, caller, "senior" if senior else "general")
        if isinstance(placement, Offer):
            self._answer(placement)
            return
        self.calls[sid].waited = True
        self._waiting += 1
        wait = patience(self._rng, self.plan.patience_s)
        if wait != float("inf"):
            self.sched.call_later(wait, self._give_up, sid)

    def _answer(self, offer: Offer) -> None:
        call = self.calls[offer.call_sid]
        if (
            call.ended is not None
            or self.engine.router.answered(offer.call_sid, offer.agent.id) is None
        ):
            return
        call.answered = self.sched.now()
        self._waiting -= call.waited
        talk = self._talk_rng.expovariate(1.0 / self.plan.aht_s)
        self.sched.call_later(talk, self._hang_up, offer, talk)

    def _hang_up(self, offer: Offer, talk: float) -> None:
        self.calls[offer.call_sid].ended = self.sched.now()
        self.engine.router.dial_result(offer.call_sid, offer.agent.id, "completed", int(talk))
        if self._waiting:
            self._take(self.engine.router.tick())

    def _give_up(self, sid: str) -> None:
        call = self.calls[sid]
        if call.answered is None and call.ended is None:
            call.ended = self.sched.now()
            self._waiting -= 1
            self.engine.router.hangup(sid)

    def _take(self, offers: list[Offer]) -> None:
        for offer in offers:
            self._answer(offer)
