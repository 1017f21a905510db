"""What the switch's parts use of it: the `Switchboard` protocol, under public names.

The switch (switch.py, `Simulator`) owns the call legs and their processes. The TwiML
interpreter (interpreter.py), the conference rooms (conferences.py) and the REST surface
(rest.py, account.py) work on the legs through this protocol alone, so none of them imports
the switch that composes them, and the switch's private members stay private.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator
from typing import Any, Protocol
from xml.etree.ElementTree import Element

from ivr.simulator.core.account import Account
from ivr.simulator.core.amd import Detection
from ivr.simulator.core.calls import Leg
from ivr.simulator.core.people import AgentPhone, People, VirtualCaller
from ivr.simulator.core.queues import Queue, Queues
from ivr.simulator.core.scheduler import Scheduler, SettableClock
from ivr.simulator.core.steps import Fetch, Number, Target
from ivr.simulator.core.transport import Reply

Steps = Generator[Any, Any, Any]
Person = AgentPhone | VirtualCaller


class Switchboard(Protocol):
    """The switch as its parts see it: legs and their people, documents, webhooks, the time."""

    account_sid: str
    auth_token: str
    sched: Scheduler
    sid_rng: random.Random  # draws every sid, so seeded runs repeat
    people: People
    queues: Queues
    numbers: dict[str, Number]
    account: Account
    legs: dict[str, Leg]
    live: set[str]  # CallSids of legs not yet ended
    on_call_end: list[Callable[[Leg], None]]
    seconds_per_char: float  # speaking time of <Say>; 0 = instant (and <Play> too)
    dial_status_when_caller_leaves: str
    rest_latency_s: float
    rest_down: bool
    rest_charged: float

    @property
    def clock(self) -> SettableClock: ...

    def now(self) -> float: ...

    # -- legs ------------------------------------------------------------------------------

    def person(self, call_sid: str) -> Person | None:
        """The person on the leg `call_sid`, if the switch knows one."""

    def new_leg(
        self,
        from_: str,
        to: str,
        direction: str,
        party: str,
        person: Person | None,
        parent: Leg | None = None,
    ) -> Leg:
        """A new live leg with a CallSid of its own (`parent`: the leg whose <Dial> made it)."""

    def answer(self, leg: Leg) -> None:
        """Mark `leg` answered (once) and send its `answered` status callback."""

    def finish(self, leg: Leg, status: str) -> None:
        """End `leg` with `status`: its `completed` callback, then the call-end hooks."""

    def routed(self, leg: Leg) -> None:
        """The call reached routing (first Enqueue or Dial): the caller's patience starts."""

    def interrupt(self, call_sid: str, cause: object) -> None:
        """Stop the leg's running verb at its next turn, for `cause`."""

    def throw(self, call_sid: str, cause: object) -> None:
        """Stop the leg's running verb now, if its process is alive (scheduler callbacks only)."""

    def ring_by_hand(self, agent: AgentPhone, timeout: float) -> Steps:
        """Ring a phone worked by hand until its Answer (True), its Decline or the timeout."""

    # -- documents and webhooks ---------------------------------------------------------------

    def run_documents(
        self,
        leg: Leg,
        target: Target,
        context: str,
        extra: Callable[[], dict[str, str]] | None = None,
    ) -> Steps:
        """Fetch and run documents from `target` on; return an Outcome, a status, or None."""

    def resolve(self, leg: Leg, base: str, url: str) -> str:
        """Absolute URL of `url` against the document's `base`."""

    def request(self, leg: Leg, target: Fetch, params: dict[str, str]) -> Reply:
        """Send one signed webhook for `leg`; the reply is the caller's to use or ignore."""

    def callback(self, leg: Leg, target: Fetch, params: dict[str, str]) -> None:
        """Send a status or conference callback after its delivery delay."""

    def say_time(self, say: Element) -> float:
        """Seconds to speak a <Say> once."""

    # -- what REST asks of calls ---------------------------------------------------------------

    def create_call(
        self,
        to: str,
        from_: str,
        target: Target,
        *,
        timeout: int = 60,
        status_callback: str | None = None,
        status_method: str = "POST",
        status_events: frozenset[str] = frozenset({"completed"}),
        fallback_url: str | None = None,
        detection: Detection | None = None,
    ) -> Leg:
        """REST Calls.create: ring `to`; when answered, run `target`."""

    def redirect(self, call_sid: str, target: Target) -> Leg:
        """REST call update with Url or Twiml: stop the running verb and run `target`."""

    def hang_up(self, call_sid: str, why: str = "rest") -> Leg:
        """REST Status=completed/canceled, or the person putting the phone down."""

    def dequeue(self, queue: Queue, call_sid: str, target: Fetch) -> str | None:
        """REST queue-member update: send the member to `target`; return its CallSid."""
