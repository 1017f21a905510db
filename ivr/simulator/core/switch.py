"""The offline Twilio: call legs running TwiML over signed webhooks on the scheduler's clock.

Each leg is a process: the switch places and answers legs, runs their documents one after
another and ends them with their status callbacks. Documents are fetched and checked by
documents.py (the fallback URL, the debugger's faults), their verbs run by the TwiML
interpreter (interpreter.py), <Dial><Conference> by the conference rooms (conferences.py);
those parts, and the REST surface, use the switch through the `Switchboard` protocol
(switchboard.py). REST requests and hang-ups interrupt a leg where it is (Twilio stops the
running verb at once).
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable
from typing import Any
from xml.etree.ElementTree import Element

from ivr.simulator.core import parse as twiml
from ivr.simulator.core.account import Account
from ivr.simulator.core.amd import Detection, classify
from ivr.simulator.core.calls import Leg, new_sid, standard_params, status_params
from ivr.simulator.core.conferences import Conferences
from ivr.simulator.core.documents import Documents
from ivr.simulator.core.interpreter import Interpreter
from ivr.simulator.core.people import AgentPhone, People, VirtualCaller
from ivr.simulator.core.queues import Queue, Queues
from ivr.simulator.core.scheduler import Interrupt, Process, Scheduler, SettableClock, Timer
from ivr.simulator.core.steps import (
    HAND_POLL_S,
    Fault,
    Fetch,
    HungUp,
    Inline,
    Number,
    Redirected,
    Steps,
    Target,
)
from ivr.simulator.core.switchboard import Person
from ivr.simulator.core.transport import Reply, Transport, Webhooks

# The longest delay of a status or conference callback by default (Simulator.callback_jitter_s)
CALLBACK_JITTER_S = 1.0


class Simulator:
    """Twilio's voice side: numbers, calls, queues; webhooks out, REST in."""

    def __init__(
        self,
        *,
        clock: SettableClock,
        speed: float | None = None,
        seed: int = 0,
        account_sid: str = "AC" + "0" * 32,
        auth_token: str = "",
        seconds_per_char: float = 0.2,
        people: People | None = None,
        unique_sids: bool = False,
    ) -> None:
        self.sched = Scheduler(clock, speed=speed)
        self.rng = random.Random(seed)
        # Callbacks' delivery delays, apart from the run's other draws (same seed, same run)
        self.jitter_rng = random.Random(f"jitter-{seed}")
        # A live server keeps its call records: a second run with the same seed must not reuse
        # a CallSid it has seen. Offline runs draw sids from the seeded rng, reproducibly.
        self.sid_rng = random.Random(secrets.randbits(128)) if unique_sids else self.rng
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.seconds_per_char = seconds_per_char  # speaking time of <Say>; 0 = instant
        self.people = people or People(self.rng)
        self.queues = Queues(self.sid_rng)
        self.numbers: dict[str, Number] = {}
        self.account = Account()  # its keys and TwiML Apps (account.py)
        self.legs: dict[str, Leg] = {}
        self.live: set[str] = set()  # CallSids of legs not yet ended
        self._procs: dict[str, Process] = {}
        self._persons: dict[str, Person] = {}
        self._patience: dict[str, Timer] = {}  # callers' give-up timers, cancelled at the end
        self.documents = Documents(self.now)  # fetching, the fallback URL, the debugger
        self.on_call_end: list[Callable[[Leg], None]] = []
        self._real_network()
        self.conferences = Conferences(self)
        self.interpreter = Interpreter(self, self.conferences)

    def _real_network(self) -> None:
        """The real network's ways, each a setting tests may change.

        Twilio's docs do not say which DialCallStatus a <Dial> reports when the caller hangs
        up while the agent's phone rings (canceled is only for REST cancellation:
        https://www.twilio.com/docs/voice/twiml/dial#dialcallstatus); tests vary it so that
        the app depends on none.
        """
        self.dial_status_when_caller_leaves = "no-answer"
        # A voicemail's greeting up to its beep: DetectMessageEnd waits it out (amd.py)
        self.greeting_seconds = 8.0
        self.rest_latency_s = 0.0  # how long each REST request takes (rest.RestClient)
        self.rest_down = False  # REST requests fail to connect
        self.rest_charged = 0.0  # REST seconds spent so far; a webhook's share is its time
        # Status and conference callbacks are sent asynchronously, each event on its own
        # request: Twilio promises no order of arrival and gives each a Timestamp and a
        # SequenceNumber to order them by
        # (https://www.twilio.com/docs/voice/api/call-resource#statuscallbackevent,
        # https://www.twilio.com/docs/voice/twiml/conference#attributes-statusCallbackEvent).
        # The docs give no figure: each waits up to this long, so two events closer together
        # than it may arrive in either order (the worse plausible behaviour)
        self.callback_jitter_s = CALLBACK_JITTER_S

    @property
    def clock(self) -> SettableClock:
        return self.sched.clock

    @property
    def webhooks(self) -> Webhooks | None:
        """The signed webhooks' sender, once connected (tests wrap its transport)."""
        return self.documents.webhooks

    @property
    def faults(self) -> list[Fault]:
        """Errors as Twilio's debugger would show them."""
        return self.documents.faults

    def connect(self, transport: Transport) -> None:
        """Send webhooks through `transport` (a FlaskTransport or an HttpTransport)."""
        self.documents.webhooks = Webhooks(transport, self.auth_token)

    def add_number(self, number: str, voice_url: str, **options: Any) -> Number:
        self.numbers[number] = Number(voice_url, **options)
        return self.numbers[number]

    def now(self) -> float:
        return self.sched.now()

    def run(self, until: float | None = None) -> None:
        self.sched.run(until)

    def person(self, call_sid: str) -> Person | None:
        """The person on the leg `call_sid`, if the switch knows one."""
        return self._persons.get(call_sid)

    # -- placing calls ------------------------------------------------------------------

    def place_call(self, caller: VirtualCaller, to: str, delay: float = 0.0) -> Leg:
        """An inbound call from `caller` to our number `to`, starting in `delay` seconds."""
        number = self.numbers[to]
        leg = self.new_leg(caller.number, to, "inbound", "caller", caller)
        leg.status = "ringing"
        leg.status_callback = number.status_callback
        leg.fallback_url = number.fallback_url
        self.people.add_caller(caller)
        self._start(leg, Fetch(number.voice_url, number.method), delay)
        if caller.patience_from == "start" and not math.isinf(caller.patience_s):
            self._patience[leg.sid] = self.sched.call_later(
                delay + caller.patience_s, self._lose_patience, leg
            )
        return leg

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
        """REST Calls.create: ring `to`; when answered, run `target`.

        A new call with a CallSid of its own, carried by all its webhooks. With `detection`
        (Enable, DetectMessageEnd) the first request carries AnsweredBy, or with AsyncAmd
        the first request is made at once and AnsweredBy goes to its own callback; without
        it a voicemail answers like a person
        (https://www.twilio.com/docs/voice/answering-machine-detection).
        """
        person = self.people.reach(to)
        party = "agent" if isinstance(person, AgentPhone) else "caller"  # whose ears: an agent rung
        leg = self.new_leg(from_, to, "outbound-api", party, person)
        leg.status_callback, leg.status_callback_method = status_callback, status_method
        leg.status_events, leg.fallback_url = status_events, fallback_url
        outbound = self._outbound(leg, target, timeout, detection or Detection())
        self._procs[leg.sid] = self.sched.spawn(outbound)
        return leg

    def client_call(self, identity: str, app_sid: str, params: dict[str, str]) -> Leg:
        """A Voice SDK Device's outgoing call (Device.connect): run the TwiML App's Voice URL.

        The Device connects to Twilio, which requests the Voice URL of the TwiML App its
        token names (https://www.twilio.com/docs/voice/sdks) with the connect's `params`
        ("key:value pairs to be sent to the TwiML app",
        https://twilio.github.io/twilio-voice.js/interfaces/Device.ConnectOptions.html) beside
        the usual ones; From is client:<identity> and the call's end goes to the app's
        StatusCallback (https://www.twilio.com/docs/usage/api/applications). Its Direction is
        "inbound", as for a call to a number (docs/real-network.md); the Device is the agent.
        """
        app = self.account.applications[app_sid]
        address = f"client:{identity}"
        leg = self.new_leg(
            address, params.get("To", ""), "inbound", "agent", self.people.reach(address)
        )
        leg.status = "ringing"
        leg.status_callback = app.status_callback or None
        leg.status_callback_method = app.status_callback_method
        leg.fallback_url = app.voice_fallback_url or None
        extra = {**params, "ApplicationSid": app.sid}
        self._start(leg, Fetch(app.voice_url, app.voice_method, extra))
        return leg

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
        leg = Leg(
            new_sid("CA", self.sid_rng),
            self.account_sid,
            from_,
            to,
            direction,
            party,
            parent.transcript if parent else [],
            parent_sid=parent.sid if parent else None,
            created_at=self.now(),
        )
        self.legs[leg.sid] = leg
        self.live.add(leg.sid)
        if person is not None:
            self._persons[leg.sid] = person
        return leg

    def _start(self, leg: Leg, target: Target, delay: float = 0.0) -> None:
        self._procs[leg.sid] = self.sched.spawn(self._call(leg, target), delay)

    def _outbound(self, leg: Leg, target: Target, timeout: int, detect: Detection) -> Steps:
        leg.status = "ringing"
        self._callback(leg, "ringing")
        leg.hear(self.now(), "event", f"ringing {leg.to}")
        person = self._persons.get(leg.sid)
        answers = person.answers if isinstance(person, VirtualCaller) else "person"
        speaks = person.greeting_s if isinstance(person, VirtualCaller) else 1.0
        by, known_after = classify(detect, answers, speaks, self.greeting_seconds)
        delay = person.ring() if person is not None else None
        rings = 1.0 if answers == "busy" else float(timeout)  # busy comes back at once
        try:
            if isinstance(person, AgentPhone) and person.buttons is not None:  # worked by hand
                delay = 0.0 if (yield from self.ring_by_hand(person, timeout)) else None
            else:
                yield rings if delay is None or delay > timeout else delay
            if delay is not None and delay <= timeout:
                self.answer(leg)
                if isinstance(person, AgentPhone) and person.voicemail_s:
                    self.sched.call_later(person.voicemail_s, self._voicemail_ends, leg)
                if detect.mode and not detect.asynchronous:
                    yield known_after
        except Interrupt as stop:  # REST Status=canceled while it rings, or a hang-up
            if not isinstance(stop.cause, HungUp):
                raise
            self.finish(leg, "completed" if leg.answered_at is not None else "canceled")
            return
        if delay is None or delay > timeout:
            self.finish(leg, "busy" if answers == "busy" else "no-answer")
            return
        if detect.mode and detect.asynchronous:
            self.sched.call_later(known_after, self._amd_result, leg, detect, by, known_after)
        elif detect.mode and isinstance(target, Fetch):
            target = Fetch(target.url, target.method, {**target.params, "AnsweredBy": by})
        yield from self._call(leg, target)

    def _voicemail_ends(self, leg: Leg) -> None:
        """An agent's voicemail that answered a leg hangs up when its recording is over."""
        if not leg.ended:
            self.hang_up(leg.sid, "voicemail hung up")

    def _amd_result(self, leg: Leg, detect: Detection, by: str, after_s: float) -> None:
        """AsyncAmd: the result to AsyncAmdStatusCallback while the call goes on, if it does."""
        if leg.ended or not detect.callback:
            return
        params = {
            **standard_params(leg),
            "AnsweredBy": by,
            "MachineDetectionDuration": str(round(after_s * 1000)),
        }
        self.request(leg, Fetch(detect.callback, detect.callback_method), params)

    # -- REST -------------------------------------------------------------------------

    def redirect(self, call_sid: str, target: Target) -> Leg:
        """REST call update with Url or Twiml: stop the running verb and run `target`."""
        leg = self.legs[call_sid]
        self.interrupt(call_sid, Redirected(target))
        return leg

    def hang_up(self, call_sid: str, why: str = "rest") -> Leg:
        """REST Status=completed/canceled, or the person putting the phone down."""
        leg = self.legs[call_sid]
        proc = self._procs.get(call_sid)
        if proc is not None and proc.alive:
            proc.interrupt(HungUp(why))
        return leg

    def interrupt(self, call_sid: str, cause: object) -> None:
        """Stop the leg's running verb at its next turn, for `cause`."""
        self._procs[call_sid].interrupt(cause)

    def throw(self, call_sid: str, cause: object) -> None:
        """Stop the leg's running verb now, if its process is alive (scheduler callbacks only)."""
        proc = self._procs.get(call_sid)
        if proc is not None and proc.alive:
            proc.throw(cause)

    def dequeue(self, queue: Queue, call_sid: str, target: Fetch) -> str | None:
        """REST queue-member update: send the member to `target`; return its CallSid."""
        member = queue.member(call_sid)
        if member is None:
            return None
        self.interrupt(member.call_sid, Redirected(target))
        return member.call_sid

    # -- a leg's life -------------------------------------------------------------------

    def _call(self, leg: Leg, first: Target) -> Steps:
        """Run documents until the call ends, following REST redirects; then report status."""
        target: Target | None = first
        status = "completed"
        try:
            while target is not None:
                try:
                    outcome = yield from self.run_documents(leg, target, twiml.CALL)
                    target = None
                    status = outcome if outcome in ("busy", "no-answer") else "completed"
                except Interrupt as stop:
                    if not isinstance(stop.cause, Redirected):
                        raise
                    self.answer(leg)
                    target = stop.cause.target
        except Interrupt as stop:
            if not isinstance(stop.cause, HungUp):
                raise
            leg.hear(self.now(), "event", f"hung up ({stop.cause.why})")
            status = "completed" if leg.answered_at is not None else "canceled"
        self.finish(leg, status)

    def answer(self, leg: Leg) -> None:
        """Mark `leg` answered (once) and send its `answered` status callback."""
        if leg.answered_at is None:
            leg.answered_at = self.now()
            leg.status = "in-progress"
            self._callback(leg, "answered")

    def finish(self, leg: Leg, status: str) -> None:
        """End `leg` with `status`: its `completed` callback, then the call-end hooks."""
        leg.status = status
        leg.ended_at = self.now()
        self.live.discard(leg.sid)
        if (timer := self._patience.pop(leg.sid, None)) is not None:
            timer.cancelled = True  # a real-time run need not wait for it
        self._callback(leg, "completed")
        for hook in self.on_call_end:
            hook(leg)

    def _callback(self, leg: Leg, event: str) -> None:
        if leg.status_callback and event in leg.status_events:
            params = status_params(leg, self.clock.now())
            self.callback(leg, Fetch(leg.status_callback, leg.status_callback_method), params)

    def callback(self, leg: Leg, target: Fetch, params: dict[str, str]) -> None:
        """Send a status or conference callback after its delivery delay (callback_jitter_s)."""
        delay = self.jitter_rng.uniform(0.0, self.callback_jitter_s)
        if delay <= 0:
            self.request(leg, target, params)
        else:
            self.sched.call_later(delay, self.request, leg, target, params)

    def run_documents(
        self,
        leg: Leg,
        target: Target,
        context: str,
        extra: Callable[[], dict[str, str]] | None = None,
    ) -> Steps:
        """Fetch and run documents from `target` on; return an Outcome, a status, or None."""
        current: Target | None = target
        while current is not None:
            fetched = self.documents.fetch(leg, current, context, extra)
            if isinstance(fetched, str):  # an error outcome
                return fetched
            if isinstance(fetched, Fetch):  # the fallback URL
                current = fetched
                continue
            doc, base = fetched
            result = yield from self.interpreter.execute(leg, doc, base, context)
            if isinstance(result, Fetch | Inline):
                current = result
                continue
            return result
        return None

    def speaking_time(self, text: str) -> float:
        """Seconds to speak `text`: about five CJK characters or two English words a second."""
        return len(text) * self.seconds_per_char

    def say_time(self, say: Element) -> float:
        """Seconds to speak a <Say> once: slower inside <prosody rate="80%"> (0.25 s a char)."""
        return sum(self.speaking_time(text) / rate for text, rate in twiml.spoken_parts(say))

    def resolve(self, leg: Leg, base: str, url: str) -> str:
        """Absolute URL of `url` against the document's; REST TwiML needs absolute URLs."""
        return self.documents.resolve(leg, base, url)

    def request(self, leg: Leg, target: Fetch, params: dict[str, str]) -> Reply:
        """Send one signed webhook for `leg`; the reply is the caller's to use or ignore."""
        return self.documents.request(leg, target, params)

    def routed(self, leg: Leg) -> None:
        """The call reached routing (first Enqueue or Dial): the caller's patience starts."""
        if leg.routed_at is not None:
            return
        leg.routed_at = self.now()
        person = self.person(leg.sid)
        if leg.sid in self._patience:  # patience from the call's start, already running
            return
        if isinstance(person, VirtualCaller) and not math.isinf(person.patience_s):
            self._patience[leg.sid] = self.sched.call_later(
                person.patience_s, self._lose_patience, leg
            )

    def _lose_patience(self, leg: Leg) -> None:
        if leg.bridged_at is None and not leg.ended:
            self.hang_up(leg.sid, "caller gave up")

    def ring_by_hand(self, agent: AgentPhone, timeout: float) -> Steps:
        """Ring a phone worked by hand until its Answer (True), its Decline or the timeout."""
        deadline = self.now() + timeout
        if agent.rings:
            agent.rings(True)
        try:
            while self.now() < deadline:
                pressed = agent.buttons() if agent.buttons else "decline"
                if pressed in ("answer", "decline"):
                    return pressed == "answer"
                yield HAND_POLL_S
            return False
        finally:
            if agent.rings:
                agent.rings(False)
