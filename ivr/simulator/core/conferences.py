"""Twilio conferences: rooms by name, their participants, the waitUrl, and status callbacks.

A `<Dial><Conference>` puts the leg in the room named by its text, creating the room if no
live one has that name. Until a participant with `startConferenceOnEnter` (default true) joins,
the others hear the `waitUrl` (default: hold music), re-requested each time its TwiML runs out;
when one does, the conference starts, their wait audio stops at once and they are bridged. A
participant with `endConferenceOnExit` who leaves ends it for everyone, as does the last one
leaving or REST `Status=completed`; each remaining `<Dial>` then ends and goes on to its action.
Pages: https://www.twilio.com/docs/voice/twiml/conference,
https://www.twilio.com/docs/voice/api/conference-resource,
https://www.twilio.com/docs/voice/api/conference-participant-resource.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any
from urllib.parse import urljoin
from xml.etree.ElementTree import Element

from twilio.twiml.voice_response import VoiceResponse

from ivr.simulator.core import parse as twiml
from ivr.simulator.core.calls import Leg, new_sid, standard_params
from ivr.simulator.core.people import AgentPhone
from ivr.simulator.core.scheduler import Interrupt
from ivr.simulator.core.steps import (
    HAND_POLL_S,
    HOLD_MUSIC,
    Fetch,
    HungUp,
    Inline,
    Outcome,
    Redirected,
)
from ivr.simulator.core.switchboard import Switchboard

Steps = Generator[Any, Any, Any]
MAX_PARTICIPANTS = 250
# statusCallbackEvent words and the StatusCallbackEvent values they stand for
EVENTS = {
    "start": ("conference-start",),
    "end": ("conference-end",),
    "join": ("participant-join",),
    "leave": ("participant-leave",),
    "mute": ("participant-mute", "participant-unmute"),
    "hold": ("participant-hold", "participant-unhold"),
    "modify": ("participant-modify",),
    "speaker": ("participant-speech-start", "participant-speech-stop"),
    "announcement": ("announcement-end", "announcement-fail"),
}
# The Participants API's default (its ConferenceStatusCallbackEvent); the TwiML page gives none.
DEFAULT_EVENTS = "start end"


@dataclass(frozen=True)
class Started:
    """The conference started: stop the wait audio."""


@dataclass(frozen=True)
class Removed:
    """The participant is out of the conference (it ended, or REST kicked them)."""


@dataclass
class Participant:
    """One call in a conference, or on its way there (placed by the Participants API)."""

    call_sid: str
    created_at: float
    status: str = "connected"  # queued/ringing/connecting until it joins; complete after
    label: str = ""
    muted: bool = False
    hold: bool = False
    coach: str = ""  # the CallSid this participant coaches
    start_on_enter: bool = True
    end_on_exit: bool = False
    updated_at: float = 0.0
    bridged: bool = False  # talking to someone (the conference started with another in it)
    waiting: bool = False  # hearing the waitUrl now
    in_dial: bool = False  # its <Dial><Conference> is running: interrupts are for it
    announcing: bool = False  # hearing an announcement made to it alone (not talking)
    talks: int = 0  # conversations it has had in this room (an open line has many)


@dataclass
class Conference:
    """One conference: `init` until started, `in-progress`, then `completed` for good."""

    sid: str
    name: str
    created_at: float
    status: str = "init"
    updated_at: float = 0.0
    participants: dict[str, Participant] = field(default_factory=dict)
    callback: tuple[str, str, frozenset[str]] | None = None  # url, method, event values
    sequence: int = 0
    max_participants: int = MAX_PARTICIPANTS
    reason_ended: str | None = None
    call_sid_ending: str | None = None
    calls: list[str] = field(default_factory=list)  # every call placed to it or joining it

    def joined(self) -> list[Participant]:
        return [p for p in self.participants.values() if p.status == "connected"]

    def member(self, sid_or_label: str) -> Participant | None:
        """A participant by CallSid or by label (the Participants API takes either)."""
        found = self.participants.get(sid_or_label)
        if found is None:
            found = next((p for p in self.participants.values() if p.label == sid_or_label), None)
        return found


def _flag(el: Element, name: str, default: bool) -> bool:
    return el.get(name, str(default).lower()).lower() == "true"


def _events(raw: str) -> frozenset[str]:
    return frozenset(value for word in raw.split() for value in EVENTS.get(word, ()))


class Conferences:
    """All conferences of the account, and what the switch does with them."""

    def __init__(self, sim: Switchboard) -> None:
        self.sim = sim
        self.by_sid: dict[str, Conference] = {}
        self._live: dict[str, Conference] = {}  # friendly name -> the conference not completed
        # The Dial page lists `answered` for a conference and `completed` for a person
        # (https://www.twilio.com/docs/voice/twiml/dial#dialcallstatus); which one a real
        # <Dial><Conference> action carries is not shown anywhere, so tests vary it.
        self.dial_status = "answered"
        sim.on_call_end.append(self._call_ended)

    # -- rooms --------------------------------------------------------------------------

    def room(self, name: str) -> Conference:
        """The live conference called `name`, created if there is none."""
        conf = self._live.get(name)
        if conf is None:
            now = self.sim.now()
            conf = Conference(new_sid("CF", self.sim.sid_rng), name, now, updated_at=now)
            self._live[name] = conf
            self.by_sid[conf.sid] = conf
        return conf

    def find(self, sid_or_name: str) -> Conference | None:
        """A conference by sid (any, ended too) or by friendly name (the live one)."""
        return self.by_sid.get(sid_or_name) or self._live.get(sid_or_name)

    # -- <Dial><Conference> ---------------------------------------------------------------

    def dial(self, leg: Leg, verb: Element, noun: Element, base: str) -> Steps:
        """Join the room, wait or talk until out of it; return the Dial action's request."""
        conf = self.room((noun.text or "").strip())
        if len(conf.joined()) >= conf.max_participants:  # [?] undocumented: a failed Dial
            yield 0
            return self._action(leg, verb, base, "failed")
        part = self._join(conf, leg, noun, base)
        part.in_dial = True
        try:
            yield from self._attend(leg, conf, part, noun, base)
        except Interrupt as stop:
            if isinstance(stop.cause, HungUp | Redirected) and part.status == "connected":
                hung_up = isinstance(stop.cause, HungUp)
                why = "participant_hung_up" if hung_up else "participant_updated_via_api"
                self.leave(conf, part, why, "completed" if hung_up else leg.status)
                if hung_up:  # requested, the answer unused: the caller is gone
                    self._action(leg, verb, base, self.dial_status, ignore=True)
            raise
        finally:
            part.in_dial = part.waiting = False
        return self._action(leg, verb, base, self.dial_status)

    def _attend(
        self, leg: Leg, conf: Conference, part: Participant, noun: Element, base: str
    ) -> Steps:
        """Hear the wait URL until the conference starts, then stay until removed."""
        while True:
            try:
                if conf.status == "init":
                    part.waiting = True
                    yield from self._wait(leg, noun, base)
                part.waiting = False
                yield self.sim.sched.signal()  # in the conference until Removed
            except Interrupt as stop:
                part.waiting = False
                if isinstance(stop.cause, Started):
                    continue
                if isinstance(stop.cause, Removed):
                    return
                raise

    def _wait(self, leg: Leg, noun: Element, base: str) -> Steps:
        """Loop the waitUrl: re-requested when its TwiML runs out; only Play/Say/Pause/Redirect.

        Without waitUrl Twilio plays its hold music; with waitUrl="" the wait is silent. A wait
        document Twilio refuses (13238, a bad verb) leaves the caller waiting in silence [?].
        """
        url = noun.get("waitUrl")
        method = noun.get("waitMethod", "POST").upper()
        while True:
            if url == "":
                yield self.sim.sched.signal()
            if url is None or url.lower().endswith((".mp3", ".wav")):
                leg.hear(self.sim.now(), "play", HOLD_MUSIC if url is None else urljoin(base, url))
                yield 60.0
                continue
            started = self.sim.now()
            target = Fetch(self.sim.resolve(leg, base, url), method)
            outcome = yield from self.sim.run_documents(leg, target, twiml.CONFERENCE_WAIT)
            if outcome == Outcome.ERROR:
                url = ""
            elif self.sim.now() - started < 1.0:
                yield 1.0  # Twilio re-requests at once; a floor keeps an empty document finite

    def _action(
        self, leg: Leg, verb: Element, base: str, status: str, *, ignore: bool = False
    ) -> Fetch | None:
        """The Dial action: DialCallStatus only (no DialCallSid or duration for a conference)."""
        action = verb.get("action")
        if not action:
            return None
        target = Fetch(self.sim.resolve(leg, base, action), verb.get("method", "POST").upper())
        params = {"DialCallStatus": status}
        if ignore:
            gone = {**standard_params(leg), **params, "CallStatus": "completed"}
            self.sim.request(leg, target, gone)
            return None
        return Fetch(target.url, target.method, params)

    # -- joining, starting, leaving, ending --------------------------------------------------

    def _join(self, conf: Conference, leg: Leg, noun: Element, base: str) -> Participant:
        now = self.sim.now()
        pending = conf.participants.get(leg.sid)
        part = Participant(
            leg.sid,
            pending.created_at if pending else now,
            label=noun.get("participantLabel", ""),
            muted=_flag(noun, "muted", False),
            coach=noun.get("coach", ""),
            start_on_enter=_flag(noun, "startConferenceOnEnter", True),
            end_on_exit=_flag(noun, "endConferenceOnExit", False),
            updated_at=now,
        )
        conf.participants[leg.sid] = part
        if leg.sid not in conf.calls:
            conf.calls.append(leg.sid)
        if len(conf.joined()) == 1:  # the first to join sets the room's size
            conf.max_participants = int(noun.get("maxParticipants") or MAX_PARTICIPANTS)
        if conf.callback is None and noun.get("statusCallback"):
            # "Only the value set by the first participant to join the conference is used"
            events = _events(noun.get("statusCallbackEvent") or DEFAULT_EVENTS)
            method = noun.get("statusCallbackMethod", "POST").upper()
            url = self.sim.resolve(leg, base, noun.get("statusCallback", ""))
            conf.callback = (url, method, events)
        if isinstance(person := self.sim.person(leg.sid), AgentPhone):
            person.busy = True
        self._event(conf, "participant-join", part)
        leg.hear(now, "event", f"joined conference {conf.name}")
        self._drops_after(conf, part)
        if part.start_on_enter and conf.status == "init":
            self._start(conf)
        self._mix(conf)
        return part

    def _drops_after(self, conf: Conference, part: Participant) -> None:
        """An agent's open line in the room may drop after this caller joins (AgentPhone)."""
        for other in conf.joined():
            agent = self.sim.person(other.call_sid)
            if other is part or not isinstance(agent, AgentPhone):
                continue
            after = agent.line_drop()
            if after is not None:
                self.sim.sched.call_later(after, self._drop, other.call_sid)

    def _drop(self, call_sid: str) -> None:
        if call_sid in self.sim.live:
            self.sim.hang_up(call_sid, "the line dropped")

    def _start(self, conf: Conference) -> None:
        """Start mixing: everyone waiting stops hearing the wait URL at once."""
        conf.status, conf.updated_at = "in-progress", self.sim.now()
        self._event(conf, "conference-start")
        for part in conf.joined():
            if part.waiting:
                self._poke(part, Started())

    def _mix(self, conf: Conference) -> None:
        """Once started with two or more in it, each new pair of ears is connected.

        A participant hearing an announcement made to it alone is not talking yet: who joins
        meanwhile is connected to them when it ends (what the caller lives through)."""
        joined = [p for p in conf.joined() if not p.announcing]
        if conf.status != "in-progress" or len(joined) < 2:
            return
        for part in joined:
            if not part.bridged:
                other = next(p for p in joined if p is not part)
                self._bridge(part, self.sim.legs[other.call_sid])

    def _bridge(self, part: Participant, other: Leg) -> None:
        part.bridged = True
        part.talks += 1
        now = self.sim.now()
        leg = self.sim.legs[part.call_sid]
        leg.hear(now, "event", f"connected to {_address(other)}")
        person = self.sim.person(leg.sid)
        if isinstance(person, AgentPhone):  # talks for talk_time(), then hangs up
            person.calls += 1
            if person.buttons is not None:  # a phone worked by hand: until its Hang up
                self.sim.sched.spawn(self._hang_up_by_hand(person, part))
                return
            done = self._agent_done if not person.open_line else self._others_out
            self.sim.sched.call_later(person.talk_time(), done, part, part.talks)
            return
        leg.bridged_at = leg.bridged_at if leg.bridged_at is not None else now
        if leg.agent_answered_at is None:
            leg.agent_answered_at = now

    def _hang_up_by_hand(self, agent: AgentPhone, part: Participant) -> Steps:
        """Look at the agent's buttons while they are in the room; Hang up takes them out."""
        while part.status == "connected" and agent.buttons and agent.buttons() != "hangup":
            yield HAND_POLL_S
        self._agent_done(part)

    def _agent_done(self, part: Participant, talk: int = 0) -> None:
        if part.status == "connected":
            self.sim.hang_up(part.call_sid, "agent hung up")

    def _others_out(self, part: Participant, talk: int) -> None:
        """An agent on an open line ends the conversation from their console, which takes
        the other party off: their own line stays in the room for the next caller."""
        if part.status != "connected" or part.talks != talk:
            return  # out of the room, or that conversation ended some other way
        conf = next((c for c in self._live.values() if c.participants.get(part.call_sid)), None)
        for other in conf.joined() if conf else []:
            if other is not part:
                self.sim.hang_up(other.call_sid, "agent ended the call")

    # -- announcements to one participant ---------------------------------------------

    def announce(self, conf: Conference, part: Participant, url: str, method: str) -> None:
        """REST participant update with AnnounceUrl: the participant alone hears the document
        (Play, Say, Pause, Redirect), then `announcement-end` goes to the room's callback
        (https://www.twilio.com/changelog/conference-announce-events)."""
        part.announcing = True  # from the request on: who joins now waits for its end
        self.sim.sched.spawn(self._announcing(conf, part, url, method))

    def _announcing(self, conf: Conference, part: Participant, url: str, method: str) -> Steps:
        leg = self.sim.legs[part.call_sid]
        target = Fetch(self.sim.resolve(leg, "", url), method)
        try:
            outcome = yield from self.sim.run_documents(leg, target, twiml.CONFERENCE_WAIT)
        finally:
            part.announcing = False
        if part.status != "connected":
            return
        failed = outcome == Outcome.ERROR
        self._event(conf, "announcement-fail" if failed else "announcement-end", part)
        self._mix(conf)

    def leave(self, conf: Conference, part: Participant, why: str, call_status: str) -> None:
        """Take `part` out: a leave event, then the end of the conference if it takes it."""
        was_in = part.status == "connected"  # a call that never joined cannot end it
        part.status, part.updated_at = "complete", self.sim.now()
        del conf.participants[part.call_sid]
        if isinstance(person := self.sim.person(part.call_sid), AgentPhone):
            person.busy = False
        if len(left := conf.joined()) == 1:
            left[0].bridged = False  # alone again: the next to join is a new conversation
        extra = {"ReasonParticipantLeft": why, "ParticipantCallStatus": call_status}
        self._event(conf, "participant-leave", part, extra)
        if conf.status == "completed":
            return
        kicked = why == "participant_kicked"
        how = "kicked" if kicked else "left"
        if was_in and part.end_on_exit:
            self.end(conf, f"participant-with-end-conference-on-exit-{how}", part)
        elif not conf.joined():
            self.end(conf, f"last-participant-{how}", part)

    def end(self, conf: Conference, reason: str, ending: Participant | None = None) -> None:
        """End the conference: everyone in it leaves, calls still ringing to it are cancelled."""
        conf.status, conf.updated_at = "completed", self.sim.now()
        conf.reason_ended = reason
        conf.call_sid_ending = ending.call_sid if ending else None
        if self._live.get(conf.name) is conf:
            del self._live[conf.name]
        for part in list(conf.participants.values()):
            if part.status != "connected":  # [?] a call placed to join it: no room to join
                del conf.participants[part.call_sid]
                self.sim.hang_up(part.call_sid, "the conference ended")
                continue
            self.sim.legs[part.call_sid].hear(self.sim.now(), "event", "conference ended")
            self.leave(conf, part, reason.replace("-", "_"), "in-progress")
            self._poke(part, Removed())
        extra = {"ReasonConferenceEnded": reason, "Reason": _REASONS.get(reason, reason)}
        if ending is not None:
            extra["CallSidEndingConference"] = ending.call_sid
            if ending.label:
                extra["ParticipantLabelEndingConference"] = ending.label
        self._event(conf, "conference-end", None, extra)

    def kick(self, conf: Conference, part: Participant) -> None:
        """REST delete: the participant's <Dial> ends and its call goes on to the action."""
        if part.status != "connected":
            del conf.participants[part.call_sid]
            self.sim.hang_up(part.call_sid, "removed from the conference")
            return
        self.leave(conf, part, "participant_kicked", "in-progress")
        self._poke(part, Removed())

    def _poke(self, part: Participant, cause: Started | Removed) -> None:
        """Interrupt the participant's call at once, if it is still where the cause applies."""

        def deliver() -> None:
            if part.waiting if isinstance(cause, Started) else part.in_dial:
                self.sim.throw(part.call_sid, cause)

        self.sim.sched.call_later(0, deliver)

    def _call_ended(self, leg: Leg) -> None:
        """A call placed to join a conference ended before it joined: it leaves the room."""
        for conf in list(self._live.values()):
            part = conf.participants.get(leg.sid)
            if part is not None and part.status != "connected":
                self.leave(conf, part, "participant_hung_up", leg.status)

    # -- status callbacks ---------------------------------------------------------------

    def _event(
        self,
        conf: Conference,
        event: str,
        part: Participant | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        """POST one conference event to the room's statusCallback, if it asked for it."""
        if conf.callback is None or event not in conf.callback[2]:
            return
        conf.sequence += 1
        params = {
            "AccountSid": self.sim.account_sid,
            "ConferenceSid": conf.sid,
            "FriendlyName": conf.name,
            "StatusCallbackEvent": event,
            "Timestamp": format_datetime(self.sim.clock.now(), usegmt=True),
            "SequenceNumber": str(conf.sequence),
        }
        if part is not None:
            params.update(_participant_params(part))
        params.update(extra or {})
        url, method, _ = conf.callback
        leg = self.sim.legs[part.call_sid] if part else next(iter(self.sim.legs.values()))
        self.sim.callback(leg, Fetch(url, method), params)

    # -- the Participants API -----------------------------------------------------------

    def add(self, conf: Conference, to: str, from_: str, options: dict[str, str]) -> Participant:
        """REST participant create: call `to`; once answered it joins `conf` as TwiML would.

        The new call runs `<Dial><Conference>` with the options given, so an answered callee
        joins exactly as a TwiML participant does; nothing follows the Dial, so the call ends
        when it leaves the conference.
        """
        vr = VoiceResponse()
        vr.dial().conference(conf.name, **_noun_options(options))
        events = frozenset(options.get("StatusCallbackEvent", "completed").split())
        leg = self.sim.create_call(
            to,
            from_,
            Inline(str(vr)),
            timeout=int(options.get("Timeout") or 60),
            status_callback=options.get("StatusCallback") or None,
            status_method=options.get("StatusCallbackMethod", "POST").upper(),
            status_events=events,
        )
        now = self.sim.now()
        part = Participant(leg.sid, now, status="queued", label=options.get("Label", ""))
        part.end_on_exit = options.get("EndConferenceOnExit", "false") == "true"
        part.start_on_enter = options.get("StartConferenceOnEnter", "true") == "true"
        part.muted = options.get("Muted", "false") == "true"
        part.coach, part.updated_at = options.get("CallSidToCoach", ""), now
        conf.participants[leg.sid] = part
        conf.calls.append(leg.sid)
        return part

    def update(self, conf: Conference, part: Participant, changes: dict[str, bool]) -> None:
        """REST participant update of Muted, Hold, EndConferenceOnExit: events follow."""
        for name, value in changes.items():
            if name == "Muted" and value != part.muted:
                part.muted = value
                self._event(conf, f"participant-{'mute' if value else 'unmute'}", part)
            elif name == "Hold" and value != part.hold:
                part.hold = value
                self._hold(part, value)
                self._event(conf, f"participant-{'hold' if value else 'unhold'}", part)
            elif name == "EndConferenceOnExit" and value != part.end_on_exit:
                part.end_on_exit = value
                self._event(conf, "participant-modify", part)
        part.updated_at = self.sim.now()

    def _hold(self, part: Participant, on: bool) -> None:
        """On hold the participant hears the hold music and the others do not hear them."""
        leg = self.sim.legs[part.call_sid]
        if on:
            leg.hear(self.sim.now(), "play", HOLD_MUSIC)
        else:
            leg.hear(self.sim.now(), "event", "off hold")

    def participant_status(self, part: Participant) -> str:
        """queued, ringing, connecting (answered, not yet in), connected or complete."""
        if part.status in ("connected", "complete"):
            return part.status
        leg = self.sim.legs[part.call_sid]
        if leg.ended:
            return "failed" if leg.status != "completed" else "complete"
        return {"queued": "queued", "ringing": "ringing"}.get(leg.status, "connecting")


_REASONS = {
    "conference-ended-via-api": "Conference ended via API",
    "participant-with-end-conference-on-exit-left": "Participant with endConferenceOnExit left",
    "participant-with-end-conference-on-exit-kicked": (
        "Participant with endConferenceOnExit was kicked"
    ),
    "last-participant-left": "Last participant left",
    "last-participant-kicked": "Last participant was kicked",
}
# Participants API fields that are <Conference> attributes, and their TwiML names
_NOUN_OPTIONS = {
    "Muted": "muted",
    "Beep": "beep",
    "StartConferenceOnEnter": "startConferenceOnEnter",
    "EndConferenceOnExit": "endConferenceOnExit",
    "WaitUrl": "waitUrl",
    "WaitMethod": "waitMethod",
    "MaxParticipants": "maxParticipants",
    "ConferenceRecord": "record",
    "ConferenceStatusCallback": "statusCallback",
    "ConferenceStatusCallbackMethod": "statusCallbackMethod",
    "ConferenceStatusCallbackEvent": "statusCallbackEvent",
    "Label": "participantLabel",
    "CallSidToCoach": "coach",
    "JitterBufferSize": "jitterBufferSize",
}


def _noun_options(options: dict[str, str]) -> dict[str, str]:
    return {twiml_name: options[api] for api, twiml_name in _NOUN_OPTIONS.items() if api in options}


def _participant_params(part: Participant) -> dict[str, str]:
    params = {
        "CallSid": part.call_sid,
        "Muted": str(part.muted).lower(),
        "Hold": str(part.hold).lower(),
        "Coaching": str(bool(part.coach)).lower(),
        "EndConferenceOnExit": str(part.end_on_exit).lower(),
        "StartConferenceOnEnter": str(part.start_on_enter).lower(),
    }
    if part.label:
        params["ParticipantLabel"] = part.label
    if part.coach:
        params["CallSidToCoach"] = part.coach
    return params


def _address(leg: Leg) -> str:
    """Who a participant is to the others: the number or client the call reached or came from."""
    return leg.from_ if leg.direction == "inbound" else leg.to
