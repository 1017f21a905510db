"""What a call leg's steps hand each other: documents to fetch, how a document ended, why a
leg was interrupted, and the account's numbers and debugger entries.

Kept apart from switch.py so that the interpreter, the conference rooms and the REST surface
build on these types without importing the switch that composes them.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from ivr.simulator.core.calls import Leg

Steps = Generator[Any, Any, Any]
HAND_POLL_S = 0.25  # how often a phone worked by hand (a web page) is looked at
HOLD_MUSIC = "https://s3.amazonaws.com/com.twilio.sounds.music/index.xml"


@dataclass(frozen=True)
class Fetch:
    """A document to request next: URL, method and the extra parameters to send."""

    url: str
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Inline:
    """TwiML handed over directly (REST `Twiml`): relative URLs cannot be resolved."""

    body: str


Target = Fetch | Inline


class Outcome:
    END = "end"  # the call is over (Hangup, Reject, hang-up in a wait document)
    LEAVE = "leave"
    ERROR = "error"


@dataclass(frozen=True)
class HungUp:
    """The person on the leg hung up (or REST set Status=completed)."""

    why: str = "hangup"


@dataclass(frozen=True)
class Redirected:
    """REST moved the call elsewhere (call update or queue-member dequeue)."""

    target: Target


@dataclass(frozen=True)
class Bridged:
    """A <Dial><Queue> on another leg took this caller from the front of the queue."""

    dialler: Leg
    url: str | None
    method: str
    ready: Any  # Signal fired once the <Queue url> document has run
    over: Any  # Signal fired when the conversation ends


@dataclass(frozen=True)
class Number:
    """A phone number on the account: where its calls and status callbacks go."""

    voice_url: str
    method: str = "POST"
    status_callback: str | None = None
    fallback_url: str | None = None
    fallback_method: str = "POST"
    status_callback_method: str = "POST"
    friendly_name: str = ""


@dataclass(frozen=True)
class Fault:
    """An error Twilio would show in the debugger."""

    at: float
    call_sid: str
    code: int
    message: str
    url: str
