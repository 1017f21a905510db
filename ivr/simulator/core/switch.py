"""The offline Twilio: call legs running TwiML over signed webhooks on the scheduler's clock.

Each leg is a process. A document's verbs run in order; a Gather's action, a Redirect or an
Enqueue/Dial action replaces the document, and nothing after it runs. Waiting callers re-run
the wait URL each time its TwiML runs out. REST requests and hang-ups interrupt a leg where it
is (Twilio stops the running verb at once).
"""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from ivr.simulator.core import parse as twiml
from ivr.simulator.core.account import Account
from ivr.simulator.core.calls import Leg, new_sid, standard_params, status_params
from ivr.simulator.core.conferences import Conferences
from ivr.simulator.core.people import AgentPhone, Input, People, VirtualCaller
from ivr.simulator.core.queues import Queue, QueueFull, Queues
from ivr.simulator.core.scheduler import Interrupt, Process, Scheduler, SettableClock, Timer
from ivr.simulator.core.steps import (
    HAND_POLL_S,
    HOLD_MUSIC,
    Bridged,
    Fault,
    Fetch,
    HungUp,
    Inline,
    Number,
    Outcome,
    Redirected,
    Steps,
    Target,
)
from ivr.simulator.core.transport import Reply, Transport, Webhooks

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
_TWIML_TYPES = {"text/xml", "application/xml", "text/html"}
HAND_TALK_MAX_S = 4 * 3600.0  # <Dial>'s own timeLimit default: a forgotten call ends


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
        self.faults: list[Fault] = []
        self._procs: dict[str, Process] = {}
        self._persons: dict[str, AgentPhone | VirtualCaller] = {}
        self._patience: dict[str, Timer] = {}  # callers' give-up timers, cancelled at the end
        self.webhooks: Webhooks | None = None
        self.on_call_end: list[Callable[[Leg], None]] = []
        self._real_network()
        self.conferences = Conferences(self)

    def _real_network(self) -> None:
        """The real network's ways, each a setting tests may change.

        Twilio's docs do not say which DialCallStatus a <Dial> reports when the caller hangs
        up while the agent's phone rings (canceled is only for REST cancellation:
        https://www.twilio.com/docs/voice/twiml/dial#dialcallstatus); tests vary it so that
        the app depends on none.
        """
        self.dial_status_when_caller_leaves = "no-answer"
        self.amd_seconds = 2.0  # answering-machine detection listens before the Url request
        # DetectMessageEnd waits out a voicemail's greeting (to its beep) before the Url request
        self.greeting_seconds = 8.0
        self.rest_latency_s = 0.0  # how long each REST request takes (rest.RestClient)
        self.rest_down = False  # REST requests fail to connect
        self.rest_charged = 0.0  # REST seconds spent so far; a webhook's share is its time

    @property
    def clock(self) -> SettableClock:
        return self.sched.clock

    def connect(self, transport: Transport) -> None:
        """Send webhooks through `transport` (a FlaskTransport or an HttpTransport)."""
        self.webhooks = Webhooks(transport, self.auth_token)

    def add_number(self, number: str, voice_url: str, **options: Any) -> Number:
        self.numbers[number] = Number(voice_url, **options)
        return self.numbers[number]

    def now(self) -> float:
        return self.sched.now()

    def run(self, until: float | None = None) -> None:
        self.sched.run(until)

    # -- placing calls ------------------------------------------------------------------

    def place_call(self, caller: VirtualCaller, to: str, delay: float = 0.0) -> Leg:
        """An inbound call from `caller` to our number `to`, starting in `delay` seconds."""
        number = self.numbers[to]
        leg = self._new_leg(caller.number, to, "inbound", "caller", caller)
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
        machine_detection: str = "",
    ) -> Leg:
        """REST Calls.create: ring `to`; when answered, run `target`.

        A new call with a CallSid of its own, carried by all its webhooks. With
        `machine_detection` (Enable, DetectMessageEnd) the first request carries AnsweredBy;
        without it a voicemail answers like a person
        (https://www.twilio.com/docs/voice/answering-machine-detection).
        """
        person = self.people.reach(to)
        party = "agent" if isinstance(person, AgentPhone) else "caller"  # whose ears: an agent rung
        leg = self._new_leg(from_, to, "outbound-api", party, person)
        leg.status_callback, leg.status_callback_method = status_callback, status_method
        leg.status_events, leg.fallback_url = status_events, fallback_url
        outbound = self._outbound(leg, target, timeout, machine_detection)
        self._procs[leg.sid] = self.sched.spawn(outbound)
        return leg

    def _new_leg(
        self,
        from_: str,
        to: str,
        direction: str,
        party: str,
        person: AgentPhone | VirtualCaller | None,
        parent: Leg | None = None,
    ) -> Leg:
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

    def _outbound(self, leg: Leg, target: Target, timeout: int, detect: str) -> Steps:
        leg.status = "ringing"
        self._callback(leg, "ringing")
        leg.hear(self.now(), "event", f"ringing {leg.to}")
        person = self._persons.get(leg.sid)
        answers = person.answers if isinstance(person, VirtualCaller) else "person"
        delay = person.ring() if person is not None else None
        rings = 1.0 if answers == "busy" else float(timeout)  # busy comes back at once
        try:
            if isinstance(person, AgentPhone) and person.buttons is not None:  # worked by hand
                delay = 0.0 if (yield from self._ring_by_hand(person, timeout)) else None
            else:
                yield rings if delay is None or delay > timeout else delay
            if delay is not None and delay <= timeout:
                self._answer(leg)
                if detect:
                    yield self.amd_seconds
                if detect == "DetectMessageEnd" and answers == "voicemail":
                    yield self.greeting_seconds
        except Interrupt as stop:  # REST Status=canceled while it rings, or a hang-up
            if not isinstance(stop.cause, HungUp):
                raise
            self._finish(leg, "completed" if leg.answered_at is not None else "canceled")
            return
        if delay is None or delay > timeout:
            self._finish(leg, "busy" if answers == "busy" else "no-answer")
            return
        if detect and isinstance(target, Fetch):
            by = _answered_by(answers, detect)
            target = Fetch(target.url, target.method, {**target.params, "AnsweredBy": by})
        yield from self._call(leg, target)

    # -- REST -------------------------------------------------------------------------

    def redirect(self, call_sid: str, target: Target) -> Leg:
        """REST call update with Url or Twiml: stop the running verb and run `target`."""
        leg = self.legs[call_sid]
        self._procs[call_sid].interrupt(Redirected(target))
        return leg

    def hang_up(self, call_sid: str, why: str = "rest") -> Leg:
        """REST Status=completed/canceled, or the person putting the phone down."""
        leg = self.legs[call_sid]
        proc = self._procs.get(call_sid)
        if proc is not None and proc.alive:
            proc.interrupt(HungUp(why))
        return leg

    def dequeue(self, queue: Queue, call_sid: str, target: Fetch) -> str | None:
        """REST queue-member update: send the member to `target`; return its CallSid."""
        member = queue.member(call_sid)
        if member is None:
            return None
        self._procs[member.call_sid].interrupt(Redirected(target))
        return member.call_sid

    # -- a leg's life -------------------------------------------------------------------

    def _call(self, leg: Leg, first: Target) -> Steps:
        """Run documents until the call ends, following REST redirects; then report status."""
        target: Target | None = first
        status = "completed"
        try:
            while target is not None:
                try:
                    outcome = yield from self._run(leg, target, twiml.CALL)
                    target = None
                    status = outcome if outcome in ("busy", "no-answer") else "completed"
                except Interrupt as stop:
                    if not isinstance(stop.cause, Redirected):
                        raise
                    self._answer(leg)
                    target = stop.cause.target
        except Interrupt as stop:
            if not isinstance(stop.cause, HungUp):
                raise
            leg.hear(self.now(), "event", f"hung up ({stop.cause.why})")
            status = "completed" if leg.answered_at is not None else "canceled"
        self._finish(leg, status)

    def _answer(self, leg: Leg) -> None:
        if leg.answered_at is None:
            leg.answered_at = self.now()
            leg.status = "in-progress"
            self._callback(leg, "answered")

    def _finish(self, leg: Leg, status: str) -> None:
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
            self._send(leg, Fetch(leg.status_callback, leg.status_callback_method), params)

    def _run(
        self,
        leg: Leg,
        target: Target,
        context: str,
        extra: Callable[[], dict[str, str]] | None = None,
    ) -> Steps:
        """Fetch and run documents from `target` on; return an Outcome, a status, or None."""
        current: Target | None = target
        while current is not None:
            fetched = self._fetch(leg, current, context, extra)
            if isinstance(fetched, str):  # an error outcome
                return fetched
            if isinstance(fetched, Fetch):  # the fallback URL
                current = fetched
                continue
            doc, base = fetched
            result = yield from self._execute(leg, doc, base, context)
            if isinstance(result, Fetch | Inline):
                current = result
                continue
            return result
        return None

    def _fetch(
        self,
        leg: Leg,
        target: Target,
        context: str,
        extra: Callable[[], dict[str, str]] | None,
    ) -> tuple[twiml.Document, str] | Fetch | str:
        """The next document, or the fallback to fetch, or Outcome.ERROR / END on failure."""
        if isinstance(target, Inline):
            return self._parse(leg, target.body, "", context)
        params = {**standard_params(leg), **(extra() if extra else {}), **target.params}
        reply = self._send(leg, target, params)
        if reply.error:
            return self._fail(leg, target.url, context, reply.error, reply.body)
        if not 200 <= reply.status < 300:
            return self._fail(leg, target.url, context, 11200, f"HTTP {reply.status}")
        if reply.content_type not in _TWIML_TYPES and reply.content_type != "text/plain":
            return self._fail(leg, target.url, context, 12300, f"bad type {reply.content_type}")
        return self._parse(leg, reply.body, target.url, context)

    def _parse(
        self, leg: Leg, body: str, url: str, context: str
    ) -> tuple[twiml.Document, str] | Fetch | str:
        try:
            doc = twiml.parse(body, context)
        except twiml.TwimlError as err:
            return self._fail(leg, url, context, err.code, err.message)
        for warning in doc.warnings:
            self._fault(leg, url, warning.code, warning.message)
        return doc, url

    def _fail(self, leg: Leg, url: str, context: str, code: int, message: str) -> Fetch | str:
        """Record the error; try the fallback URL once; else the caller hears Twilio's apology."""
        self._fault(leg, url, code, message)
        if context == twiml.CALL and leg.fallback_url and url != leg.fallback_url:
            return Fetch(leg.fallback_url, "POST", {"ErrorCode": str(code), "ErrorUrl": url})
        if context == twiml.CALL:
            leg.hear(self.now(), "say", APPLICATION_ERROR, voice="twilio")
            return Outcome.END
        return Outcome.ERROR

    def _fault(self, leg: Leg, url: str, code: int, message: str) -> None:
        self.faults.append(Fault(self.now(), leg.sid, code, message, url))
        leg.errors.append(f"{code} {message}")
        leg.hear(self.now(), "error", f"{code}: {message}", url=url)

    def _send(self, leg: Leg, target: Fetch, params: dict[str, str]) -> Reply:
        if self.webhooks is None:
            raise RuntimeError("the simulator is not connected to an app (call connect())")
        return self.webhooks.request(target.method, target.url, params)

    def _execute(self, leg: Leg, doc: twiml.Document, base: str, context: str) -> Steps:
        """Run verbs top to bottom; stop at the first that ends or replaces the document."""
        for verb in doc.verbs:
            if leg.status == "ringing" and verb.tag != "Reject":
                self._answer(leg)
            result = yield from getattr(self, f"_verb_{verb.tag.lower()}")(leg, verb, base, context)
            if result is not None:
                return result
        return None

    # -- verbs ----------------------------------------------------------------------------

    def _verb_say(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        text = twiml.spoken_text(verb)
        loops = int(verb.get("loop", "1")) or 1000
        leg.hear(self.now(), "say", text, **_voice(verb))
        yield self.say_time(verb) * loops
        return None

    def speaking_time(self, text: str) -> float:
        """Seconds to speak `text`: about five CJK characters or two English words a second."""
        return len(text) * self.seconds_per_char

    def say_time(self, say: Element) -> float:
        """Seconds to speak a <Say> once: slower inside <prosody rate="80%"> (0.25 s a char)."""
        return sum(self.speaking_time(text) / rate for text, rate in twiml.spoken_parts(say))

    def _verb_play(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        loops = int(verb.get("loop", "1")) or 1000
        if verb.get("digits"):
            leg.hear(self.now(), "play", f"DTMF {verb.get('digits')}")
            yield 0.5 * len(verb.get("digits", ""))
            return None
        url = urljoin(base, (verb.text or "").strip())
        leg.hear(self.now(), "play", url)
        yield 5.0 * loops * (1 if self.seconds_per_char else 0)
        return None

    def _verb_pause(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        yield float(verb.get("length", "1"))
        return None

    def _verb_record(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        """Record the caller: they speak `message_s`, then `timeout` s of silence ends it.

        The action gets RecordingUrl, RecordingSid and RecordingDuration
        (https://www.twilio.com/docs/voice/twiml/record#request-parameters). A caller who says
        nothing leaves no recording; Twilio's pages do not promise what follows then, so
        this emulator goes on with the next verb and the app must not depend on either.
        """
        person = self._persons.get(leg.sid)
        spoken = float(getattr(person, "message_s", 0.0))
        limit = float(verb.get("maxLength", "3600")) or 3600.0
        timeout = float(verb.get("timeout", "5"))
        leg.hear(self.now(), "event", "<Record> beep")
        if spoken <= 0:
            yield timeout
            return None
        duration = min(spoken, limit)
        yield duration + (timeout if duration < limit else 0.0)
        leg.hear(self.now(), "event", f"recorded {duration:.0f} s")
        sid = "RE" + f"{self.sid_rng.getrandbits(128):032x}"
        params = {
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}"
            f"/Recordings/{sid}",
            "RecordingSid": sid,
            "RecordingDuration": str(int(round(duration))),
        }
        return Fetch(self._resolve(leg, base, verb.get("action", base)), _method(verb), params)

    def _verb_hangup(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        leg.hear(self.now(), "event", "<Hangup>")
        yield 0
        return Outcome.END

    def _verb_reject(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        leg.hear(self.now(), "event", "<Reject>")
        yield 0
        if leg.answered_at is not None:
            return Outcome.END
        return "busy" if verb.get("reason") == "busy" else "no-answer"

    def _verb_leave(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        yield 0
        return Outcome.LEAVE if context == twiml.WAIT else None

    def _verb_redirect(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        yield 0
        return Fetch(self._resolve(leg, base, (verb.text or "").strip()), _method(verb))

    def _resolve(self, leg: Leg, base: str, url: str) -> str:
        """Absolute URL of `url` against the document's; REST TwiML needs absolute URLs."""
        if not base and not url.startswith(("http://", "https://")):
            self._fault(leg, url, 12200, f"relative URL {url!r} in TwiML given over REST")
        return urljoin(base, url)

    def _verb_gather(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        """Play the nested prompts until the caller barges in; wait for input; post it.

        The caller's input comes `said.after` seconds after the prompts start. A key stops
        the prompts at once, and so does speech unless bargeIn="false"
        (https://www.twilio.com/docs/voice/twiml/gather#bargein); the timeout runs from the
        end of the prompts (https://www.twilio.com/docs/voice/twiml/gather#timeout).
        """
        person = self._persons.get(leg.sid)
        said = person.respond(context, verb) if person is not None else None
        started = self.now()
        barge = started + said.after if said is not None and _barges_in(verb, said) else math.inf
        for n, prompt in enumerate(verb):
            if n and self.now() >= barge:
                break
            steps = getattr(self, f"_verb_{prompt.tag.lower()}")(leg, prompt, base, context)
            yield from self._until(steps, barge)
        audio_s = self.now() - started
        timeout = float(verb.get("timeout", "5"))
        params = _gather_result(verb, said, audio_s + timeout)
        if said is not None and params:
            heard = started + max(said.after, audio_s)  # speech without barge-in waits
            leg.hear(heard, "input", _describe(said))
            yield heard - self.now()
        else:
            yield timeout
        if not params and verb.get("actionOnEmptyResult") != "true":
            return None  # no input: fall through to the next verb
        return Fetch(self._resolve(leg, base, verb.get("action", base)), _method(verb), params)

    def _until(self, steps: Steps, deadline: float) -> Steps:
        """Run a nested prompt's steps, cut short at `deadline` (the caller barged in)."""
        try:
            wait = next(steps)
            while True:
                left = deadline - self.now()
                if wait > left:
                    yield max(left, 0.0)
                    return
                yield wait
                wait = steps.send(None)
        except StopIteration:
            return
        finally:
            steps.close()

    def _verb_enqueue(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        queue = self.queues.named((verb.text or "").strip(), self.now(), _int(verb, "maxQueueSize"))
        self._routed(leg)
        try:
            queue.push(leg.sid, self.now())
        except QueueFull:
            return self._enqueue_action(leg, verb, base, "queue-full", None, None)
        leg.enqueued_at = leg.enqueued_at if leg.enqueued_at is not None else self.now()
        leg.hear(self.now(), "event", f"waiting in queue {queue.name}")
        try:
            result = yield from self._wait_in(leg, queue, verb, base)
        except Interrupt as stop:
            waited = queue.remove(leg.sid, self.now())
            if isinstance(stop.cause, Bridged):
                return (yield from self._bridged(leg, queue, verb, base, stop.cause, waited))
            why = "redirected" if isinstance(stop.cause, Redirected) else "hangup"
            self._enqueue_action(leg, verb, base, why, queue, waited, ignore=True)
            raise
        waited = queue.remove(leg.sid, self.now())
        if result == Outcome.END:
            self._enqueue_action(leg, verb, base, "hangup", queue, waited, ignore=True)
            return Outcome.END
        return self._enqueue_action(leg, verb, base, result, queue, waited)

    def _wait_in(self, leg: Leg, queue: Queue, verb: Element, base: str) -> Steps:
        """Loop the wait URL until it says Leave (or hangs up, or fails)."""
        wait_url = verb.get("waitUrl")
        method = verb.get("waitUrlMethod", "POST" if wait_url else "GET")
        while True:
            if wait_url == "":
                yield self.sched.signal()  # silence until something takes the caller out
            started = self.now()
            if wait_url is None:
                leg.hear(self.now(), "play", HOLD_MUSIC)
                yield 60.0
                continue
            target = Fetch(self._resolve(leg, base, wait_url), method)
            outcome = yield from self._run(
                leg, target, twiml.WAIT, lambda: queue.wait_params(leg.sid, self.now())
            )
            if outcome == Outcome.LEAVE:
                return "leave"
            if outcome in (Outcome.END, Outcome.ERROR):
                return "error" if outcome == Outcome.ERROR else Outcome.END
            if self.now() - started < 1.0:
                yield 1.0  # Twilio re-requests at once; a floor keeps an empty document finite

    def _enqueue_action(
        self,
        leg: Leg,
        verb: Element,
        base: str,
        result: str,
        queue: Queue | None,
        waited: float | None,
        *,
        ignore: bool = False,
    ) -> Fetch | None:
        """The Enqueue action's request (QueueResult, QueueSid, QueueTime)."""
        leg.queue_results.append(result)
        action = verb.get("action")
        if not action:
            return None
        params = {"QueueResult": result}
        if queue is not None:
            params.update({"QueueSid": queue.sid, "QueueTime": str(int(waited or 0))})
        target = Fetch(self._resolve(leg, base, action), _method(verb), params)
        if ignore:  # the call has moved on or ended: the response is not run
            self._send(leg, target, {**standard_params(leg), **params})
            return None
        return target

    def _bridged(
        self, leg: Leg, queue: Queue, verb: Element, base: str, how: Bridged, waited: float | None
    ) -> Steps:
        """Taken by a <Dial><Queue>: hear its url document, talk, then the action."""
        if how.url:
            extra = {
                "QueueSid": queue.sid,
                "QueueTime": str(int(waited or 0)),
                "DequeingCallSid": how.dialler.sid,
            }
            yield from self._run(leg, Fetch(how.url, how.method), twiml.QUEUE_URL, lambda: extra)
        how.ready.fire()
        leg.bridged_at = self.now()
        if leg.agent_answered_at is None:
            leg.agent_answered_at = leg.bridged_at
        leg.hear(self.now(), "event", f"connected to {how.dialler.from_}")
        yield how.over
        return self._enqueue_action(leg, verb, base, "bridged", queue, waited)

    def _routed(self, leg: Leg) -> None:
        """The call reached routing (first Enqueue or Dial): the caller's patience starts."""
        if leg.routed_at is not None:
            return
        leg.routed_at = self.now()
        person = self._persons.get(leg.sid)
        if leg.sid in self._patience:  # patience from the call's start, already running
            return
        if isinstance(person, VirtualCaller) and not math.isinf(person.patience_s):
            self._patience[leg.sid] = self.sched.call_later(
                person.patience_s, self._lose_patience, leg
            )

    def _lose_patience(self, leg: Leg) -> None:
        if leg.bridged_at is None and not leg.ended:
            self.hang_up(leg.sid, "caller gave up")

    def _verb_dial(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        self._routed(leg)
        conference = next((n for n in verb if n.tag == "Conference"), None)
        if conference is not None:
            return (yield from self.conferences.dial(leg, verb, conference, base))
        queue_noun = next((n for n in verb if n.tag == "Queue"), None)
        try:
            if queue_noun is not None:
                result = yield from self._dial_queue(leg, verb, queue_noun, base)
            else:
                result = yield from self._dial_people(leg, verb, base)
        except Interrupt as stop:
            self._drop_child(leg, verb, base, stop.cause)
            raise
        status, child_sid, duration = result
        params = {"DialCallStatus": status, "DialBridged": str(status == "completed").lower()}
        if child_sid:
            params["DialCallSid"] = child_sid
        if duration is not None:
            params["DialCallDuration"] = str(duration)
        action = verb.get("action")
        if not action:
            return None
        return Fetch(self._resolve(leg, base, action), _method(verb), params)

    def _drop_child(self, leg: Leg, verb: Element, base: str, cause: object) -> None:
        """The parent hung up or was redirected mid-Dial: end the agent's leg."""
        child = next(
            (c for c in self.legs.values() if c.parent_sid == leg.sid and not c.ended), None
        )
        status = self.dial_status_when_caller_leaves
        if child is not None:
            status = "completed" if child.answered_at is not None else status
            self._end_child(child, status)
        if isinstance(cause, HungUp) and verb.get("action"):
            params = {**standard_params(leg), "CallStatus": "completed", "DialCallStatus": status}
            target = Fetch(self._resolve(leg, base, verb.get("action", "")), _method(verb))
            self._send(leg, target, params)  # requested, response ignored: the caller is gone

    def _dial_people(self, leg: Leg, verb: Element, base: str) -> Steps:
        """Ring every Number/Client at once; the first to answer hears the whisper, then talks."""
        timeout = float(verb.get("timeout", "30"))
        nouns = list(verb) or [_number_noun((verb.text or "").strip())]
        rung: list[tuple[float, Element, AgentPhone | VirtualCaller]] = []
        busy = 0
        for noun in nouns:
            address = _address(noun)
            person = self.people.reach(address)
            if person is None:
                continue
            if isinstance(person, AgentPhone) and person.busy:
                busy += 1
                continue
            delay = person.ring()
            leg.hear(self.now(), "event", f"ringing {address}")
            if delay is not None and delay <= timeout:
                rung.append((delay, noun, person))
        if not rung:
            yield (0.0 if busy == len(nouns) else timeout)
            status = "busy" if busy == len(nouns) else "no-answer"
            leg.hear(self.now(), "event", f"dial: {status}")
            return status, None, None
        delay, noun, person = min(rung, key=lambda r: r[0])
        caller_id = verb.get("callerId") or leg.from_
        child = self._new_leg(caller_id, _address(noun), "outbound-dial", "agent", person, leg)
        child.status = "ringing"
        if isinstance(person, AgentPhone):
            person.busy = True
        if isinstance(person, AgentPhone) and person.buttons is not None:
            if not (yield from self._ring_by_hand(person, timeout)):
                self._end_child(child, "no-answer")
                leg.hear(self.now(), "event", "dial: no-answer")
                return "no-answer", None, None
        else:
            yield delay
        return (yield from self._talk(leg, child, noun, base, person))

    def _ring_by_hand(self, agent: AgentPhone, timeout: float) -> Steps:
        """Ring a phone worked by hand until its Answer (True), its Decline or the timeout."""
        deadline = self.now() + timeout
        while self.now() < deadline:
            pressed = agent.buttons() if agent.buttons else "decline"
            if pressed in ("answer", "decline"):
                return pressed == "answer"
            yield HAND_POLL_S
        return False

    def _talk_by_hand(self, agent: AgentPhone) -> Steps:
        """Talk until the agent presses Hang up (the caller's hang-up interrupts it too)."""
        started = self.now()
        while self.now() - started < HAND_TALK_MAX_S and agent.buttons:
            if agent.buttons() == "hangup":
                return
            yield HAND_POLL_S

    def _talk(self, leg: Leg, child: Leg, noun: Element, base: str, person: Any) -> Steps:
        self._answer(child)
        if leg.agent_answered_at is None:  # what the server counts as answered
            leg.agent_answered_at = self.now()
        child.status_callback = noun.get("statusCallback")
        if noun.get("url"):
            target = Fetch(self._resolve(child, base, noun.get("url", "")), _method(noun))
            outcome = yield from self._run(child, target, twiml.WHISPER)
            if outcome in (Outcome.END, Outcome.ERROR):  # [?] treated as not taking the call
                self._end_child(child, "completed")
                return "no-answer", child.sid, None
        leg.bridged_at = self.now()
        leg.hear(self.now(), "event", f"connected to {child.to}")
        if isinstance(person, AgentPhone):
            person.calls += 1
        if isinstance(person, AgentPhone) and person.buttons is not None:
            yield from self._talk_by_hand(person)
        else:
            yield person.talk_time() if isinstance(person, AgentPhone) else 60.0
        self._end_child(child, "completed")
        leg.hear(self.now(), "event", f"{child.to} hung up")
        return "completed", child.sid, child.duration()

    def _end_child(self, child: Leg, status: str) -> None:
        person = self._persons.get(child.sid)
        if isinstance(person, AgentPhone):
            person.busy = False
        self._finish(child, status)

    def _dial_queue(self, leg: Leg, verb: Element, noun: Element, base: str) -> Steps:
        """Bridge to the caller at the front of the named queue, waiting up to the timeout."""
        queue = self.queues.by_name.get((noun.text or "").strip())
        if queue is None:
            yield 0
            return "failed", None, None
        deadline = self.now() + float(verb.get("timeout", "30"))
        while not queue.members and self.now() < deadline:
            yield 1.0
        if not queue.members:
            return "no-answer", None, None
        member = queue.members[0]
        how = Bridged(leg, noun.get("url"), _method(noun), self.sched.signal(), self.sched.signal())
        self._procs[member.call_sid].interrupt(how)
        yield how.ready
        started = self.now()
        person = self._persons.get(leg.sid)
        yield person.talk_time() if isinstance(person, AgentPhone) else 60.0
        how.over.fire()
        return "completed", member.call_sid, int(self.now() - started)


def _method(el: Element) -> str:
    return el.get("method", "POST").upper()


def _int(el: Element, name: str) -> int | None:
    raw = el.get(name)
    return int(raw) if raw and raw.isdigit() else None


def _voice(say: Element) -> dict[str, str]:
    return {k: v for k in ("voice", "language") if (v := say.get(k))}


def _address(noun: Element) -> str:
    text = (noun.text or "").strip()
    return f"client:{text}" if noun.tag == "Client" else text


def _number_noun(number: str) -> Element:
    el = Element("Number")
    el.text = number
    return el


def _describe(said: Input) -> str:
    return f"pressed {said.digits}" if said.digits is not None else f"said {said.speech}"


def _barges_in(verb: Element, said: Input) -> bool:
    """Does this input stop the Gather's prompts? A key does; speech unless bargeIn="false"."""
    inputs = verb.get("input", "dtmf").split()
    if said.digits is not None and "dtmf" in inputs:
        return True
    if said.speech is not None and "speech" in inputs:
        return verb.get("bargeIn", "true").lower() != "false"
    return False


def _gather_result(verb: Element, said: Input | None, window: float) -> dict[str, str]:
    """What the Gather posts for this input: Digits or SpeechResult; {} if nothing counts.

    `window`: seconds from the start of the prompts within which input counts (the
    prompts' length plus the timeout).
    """
    if said is None or said.after > window:
        return {}
    inputs = verb.get("input", "dtmf").split()
    if said.digits is not None and "dtmf" in inputs:
        return _digits(verb, said.digits)
    if said.speech is not None and "speech" in inputs:
        return {"SpeechResult": said.speech, "Confidence": f"{said.confidence:.2f}"}
    return {}


def _digits(verb: Element, pressed: str) -> dict[str, str]:
    finish = verb.get("finishOnKey", "#")
    limit = _int(verb, "numDigits")
    keys, finished = "", ""
    for key in pressed:
        if finish and key == finish:
            finished = key
            break
        keys += key
        if limit is not None and len(keys) >= limit:
            break
    if not keys:
        return {}  # a bare finish key is no input
    return {"Digits": keys, "FinishedOnKey": finished}


def _answered_by(answers: str, detect: str) -> str:
    """AnsweredBy as Twilio reports it: `Enable` names a machine as soon as it knows
    (machine_start); `DetectMessageEnd` names it once its greeting has ended, by how it ended
    (machine_end_beep here) (https://www.twilio.com/docs/voice/answering-machine-detection)."""
    if answers != "voicemail":
        return "human"
    return "machine_end_beep" if detect == "DetectMessageEnd" else "machine_start"
