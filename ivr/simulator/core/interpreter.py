"""The TwiML interpreter: a document's verbs, run in order on one call leg.

A Gather's action, a Redirect or an Enqueue/Dial action replaces the document, and nothing
after it runs (`execute` returns the next target). Waiting callers re-run the wait URL each
time its TwiML runs out. The interpreter keeps no legs of its own: it asks the switch
(switchboard.py's `Switchboard`) for the time, the people on a leg, documents and webhooks,
and hands <Dial><Conference> to the conference rooms.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from ivr.simulator.core import parse as twiml
from ivr.simulator.core.calls import Leg, standard_params
from ivr.simulator.core.conferences import Conferences
from ivr.simulator.core.people import AgentPhone, Input, VirtualCaller
from ivr.simulator.core.queues import Queue, QueueFull
from ivr.simulator.core.scheduler import Interrupt
from ivr.simulator.core.steps import (
    HAND_POLL_S,
    HOLD_MUSIC,
    Bridged,
    Fetch,
    HungUp,
    Outcome,
    Redirected,
    Steps,
)
from ivr.simulator.core.switchboard import Switchboard

HAND_TALK_MAX_S = 4 * 3600.0  # <Dial>'s own timeLimit default: a forgotten call ends


class Interpreter:
    """Run TwiML verbs on the switch's legs: one `_verb_<name>` generator per verb."""

    def __init__(self, switch: Switchboard, conferences: Conferences) -> None:
        self.switch = switch
        self.conferences = conferences

    def now(self) -> float:
        """The switch's time: seconds on its scheduler."""
        return self.switch.now()

    def execute(self, leg: Leg, doc: twiml.Document, base: str, context: str) -> Steps:
        """Run verbs top to bottom; stop at the first that ends or replaces the document."""
        for verb in doc.verbs:
            if leg.status == "ringing" and verb.tag != "Reject":
                self.switch.answer(leg)
            result = yield from getattr(self, f"_verb_{verb.tag.lower()}")(leg, verb, base, context)
            if result is not None:
                return result
        return None

    # -- verbs ----------------------------------------------------------------------------

    def _verb_say(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        text = twiml.spoken_text(verb)
        loops = int(verb.get("loop", "1")) or 1000
        leg.hear(self.now(), "say", text, **_voice(verb))
        yield self.switch.say_time(verb) * loops
        return None

    def _verb_play(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        loops = int(verb.get("loop", "1")) or 1000
        if verb.get("digits"):
            leg.hear(self.now(), "play", f"DTMF {verb.get('digits')}")
            yield 0.5 * len(verb.get("digits", ""))
            return None
        url = urljoin(base, (verb.text or "").strip())
        leg.hear(self.now(), "play", url)
        yield 5.0 * loops * (1 if self.switch.seconds_per_char else 0)
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
        person = self.switch.person(leg.sid)
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
        sid = "RE" + f"{self.switch.sid_rng.getrandbits(128):032x}"
        params = {
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{self.switch.account_sid}"
            f"/Recordings/{sid}",
            "RecordingSid": sid,
            "RecordingDuration": str(int(round(duration))),
        }
        return Fetch(
            self.switch.resolve(leg, base, verb.get("action", base)), _method(verb), params
        )

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
        return Fetch(self.switch.resolve(leg, base, (verb.text or "").strip()), _method(verb))

    def _verb_gather(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        """Play the nested prompts until the caller barges in; wait for input; post it.

        The caller's input comes `said.after` seconds after the prompts start. A key stops
        the prompts at once, and so does speech unless bargeIn="false"
        (https://www.twilio.com/docs/voice/twiml/gather#bargein); the timeout runs from the
        end of the prompts (https://www.twilio.com/docs/voice/twiml/gather#timeout).
        """
        person = self.switch.person(leg.sid)
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
        return Fetch(
            self.switch.resolve(leg, base, verb.get("action", base)), _method(verb), params
        )

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
        queue = self.switch.queues.named(
            (verb.text or "").strip(), self.now(), _int(verb, "maxQueueSize")
        )
        self.switch.routed(leg)
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
                yield self.switch.sched.signal()  # silence until something takes the caller out
            started = self.now()
            if wait_url is None:
                leg.hear(self.now(), "play", HOLD_MUSIC)
                yield 60.0
                continue
            target = Fetch(self.switch.resolve(leg, base, wait_url), method)
            outcome = yield from self.switch.run_documents(
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
        target = Fetch(self.switch.resolve(leg, base, action), _method(verb), params)
        if ignore:  # the call has moved on or ended: the response is not run
            self.switch.request(leg, target, {**standard_params(leg), **params})
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
            yield from self.switch.run_documents(
                leg, Fetch(how.url, how.method), twiml.QUEUE_URL, lambda: extra
            )
        how.ready.fire()
        leg.bridged_at = self.now()
        if leg.agent_answered_at is None:
            leg.agent_answered_at = leg.bridged_at
        leg.hear(self.now(), "event", f"connected to {how.dialler.from_}")
        yield how.over
        return self._enqueue_action(leg, verb, base, "bridged", queue, waited)

    def _verb_dial(self, leg: Leg, verb: Element, base: str, context: str) -> Steps:
        self.switch.routed(leg)
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
        return Fetch(self.switch.resolve(leg, base, action), _method(verb), params)

    def _drop_child(self, leg: Leg, verb: Element, base: str, cause: object) -> None:
        """The parent hung up or was redirected mid-Dial: end the agent's leg."""
        child = next(
            (c for c in self.switch.legs.values() if c.parent_sid == leg.sid and not c.ended), None
        )
        status = self.switch.dial_status_when_caller_leaves
        if child is not None:
            status = "completed" if child.answered_at is not None else status
            self._end_child(child, status)
        if isinstance(cause, HungUp) and verb.get("action"):
            params = {**standard_params(leg), "CallStatus": "completed", "DialCallStatus": status}
            target = Fetch(self.switch.resolve(leg, base, verb.get("action", "")), _method(verb))
            self.switch.request(
                leg, target, params
            )  # requested, response ignored: the caller is gone

    def _dial_people(self, leg: Leg, verb: Element, base: str) -> Steps:
        """Ring every Number/Client at once; the first to answer hears the whisper, then talks."""
        timeout = float(verb.get("timeout", "30"))
        nouns = list(verb) or [_number_noun((verb.text or "").strip())]
        rung: list[tuple[float, Element, AgentPhone | VirtualCaller]] = []
        busy = 0
        for noun in nouns:
            address = _address(noun)
            person = self.switch.people.reach(address)
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
        child = self.switch.new_leg(
            caller_id, _address(noun), "outbound-dial", "agent", person, leg
        )
        child.status = "ringing"
        if isinstance(person, AgentPhone):
            person.busy = True
        if isinstance(person, AgentPhone) and person.buttons is not None:
            if not (yield from self.switch.ring_by_hand(person, timeout)):
                self._end_child(child, "no-answer")
                leg.hear(self.now(), "event", "dial: no-answer")
                return "no-answer", None, None
        else:
            yield delay
        return (yield from self._talk(leg, child, noun, base, person))

    def _talk_by_hand(self, agent: AgentPhone) -> Steps:
        """Talk until the agent presses Hang up (the caller's hang-up interrupts it too)."""
        started = self.now()
        while self.now() - started < HAND_TALK_MAX_S and agent.buttons:
            if agent.buttons() == "hangup":
                return
            yield HAND_POLL_S

    def _talk(self, leg: Leg, child: Leg, noun: Element, base: str, person: Any) -> Steps:
        self.switch.answer(child)
        if leg.agent_answered_at is None:  # what the server counts as answered
            leg.agent_answered_at = self.now()
        child.status_callback = noun.get("statusCallback")
        if noun.get("url"):
            target = Fetch(self.switch.resolve(child, base, noun.get("url", "")), _method(noun))
            outcome = yield from self.switch.run_documents(child, target, twiml.WHISPER)
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
        person = self.switch.person(child.sid)
        if isinstance(person, AgentPhone):
            person.busy = False
        self.switch.finish(child, status)

    def _dial_queue(self, leg: Leg, verb: Element, noun: Element, base: str) -> Steps:
        """Bridge to the caller at the front of the named queue, waiting up to the timeout."""
        queue = self.switch.queues.by_name.get((noun.text or "").strip())
        if queue is None:
            yield 0
            return "failed", None, None
        deadline = self.now() + float(verb.get("timeout", "30"))
        while not queue.members and self.now() < deadline:
            yield 1.0
        if not queue.members:
            return "no-answer", None, None
        member = queue.members[0]
        how = Bridged(
            leg,
            noun.get("url"),
            _method(noun),
            self.switch.sched.signal(),
            self.switch.sched.signal(),
        )
        self.switch.interrupt(member.call_sid, how)
        yield how.ready
        started = self.now()
        person = self.switch.person(leg.sid)
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
