"""Call legs and their state, the transcript of what each party heard, Twilio's parameters."""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

import phonenumbers

API_VERSION = "2010-04-01"
ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})


def new_sid(prefix: str, rng: random.Random) -> str:
    """A Twilio-shaped sid: two letters and 32 hex digits."""
    return f"{prefix}{rng.getrandbits(128):032x}"


@dataclass(frozen=True)
class Line:
    """One thing a party heard or did, at `at` seconds on the simulator's time line."""

    at: float
    party: str  # "caller" or "agent"
    kind: str  # say, play, pause, input, event, error
    text: str
    detail: dict[str, str] = field(default_factory=dict)


@dataclass
class Leg:
    """One call leg as Twilio tracks it."""

    sid: str
    account_sid: str
    from_: str
    to: str
    direction: str  # inbound, outbound-api, outbound-dial
    party: str  # whose ears this leg is: "caller" or "agent"
    transcript: list[Line]
    parent_sid: str | None = None
    status: str = "queued"
    created_at: float = 0.0
    answered_at: float | None = None
    ended_at: float | None = None
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_events: frozenset[str] = frozenset({"completed"})
    fallback_url: str | None = None
    sequence: int = 0
    # What the call went through, for statistics.
    routed_at: float | None = None
    enqueued_at: float | None = None
    bridged_at: float | None = None
    agent_answered_at: float | None = None  # an agent picked up, before the whisper
    queue_results: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    def hear(self, at: float, kind: str, text: str, **detail: str) -> None:
        self.transcript.append(Line(at, self.party, kind, text, detail))

    def duration(self) -> int:
        """Whole seconds from answer to end (Twilio's CallDuration)."""
        if self.answered_at is None or self.ended_at is None:
            return 0
        return int(round(self.ended_at - self.answered_at))


def standard_params(leg: Leg) -> dict[str, str]:
    """The parameters Twilio sends with every request about `leg`, legacy duplicates too."""
    params = {
        "CallSid": leg.sid,
        "AccountSid": leg.account_sid,
        "From": leg.from_,
        "To": leg.to,
        "CallStatus": leg.status,
        "Direction": leg.direction,
        "ApiVersion": API_VERSION,
        "Caller": leg.from_,
        "Called": leg.to,
    }
    for prefix, number in (("From", leg.from_), ("To", leg.to)):
        legacy = "Caller" if prefix == "From" else "Called"
        for part, value in _geo(number).items():
            params[f"{prefix}{part}"] = value
            params[f"{legacy}{part}"] = value
    if leg.parent_sid:
        params["ParentCallSid"] = leg.parent_sid
    return params


def _geo(number: str) -> dict[str, str]:
    """Best-effort geography, as Twilio sends it (country known, the rest often empty)."""
    return {"Country": _country(number), "State": "", "City": "", "Zip": ""}


@functools.lru_cache(maxsize=4096)
def _country(number: str) -> str:
    # once per number: a call's every webhook carries both numbers' geography, and parsing
    # them each time was 3 % of a traffic run's CPU (BENCHMARKS.md, section 9)
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None)) or ""
    except phonenumbers.NumberParseException:
        return ""


def status_params(leg: Leg, when: datetime) -> dict[str, Any]:
    """A status callback's parameters: the standard set plus duration, time and sequence."""
    params: dict[str, Any] = standard_params(leg)
    params.update(
        {
            "CallbackSource": "call-progress-events",
            "Timestamp": format_datetime(when, usegmt=True),
            "SequenceNumber": str(leg.sequence),
        }
    )
    if leg.ended:
        params["CallDuration"] = str(leg.duration())
    leg.sequence += 1
    return params
