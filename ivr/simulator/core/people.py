"""Virtual people: agents who answer, miss and talk; callers who press, speak and give up."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element

ACCEPT_AFTER_S = 1.0  # an agent asked to press a key to accept does so within a second


@dataclass(frozen=True)
class Input:
    """What a caller does at a <Gather>: keys, or words, after `after` seconds.

    `after` counts from the start of the Gather's prompts: input within them cuts them short
    (barge-in), later input counts until the Gather's timeout runs out after them.
    """

    digits: str | None = None
    speech: str | None = None
    after: float = 1.0
    confidence: float = 0.92


@dataclass
class AgentPhone:
    """An agent's phone: answers after a drawn delay, sometimes misses, talks ~Exp(aht)."""

    address: str  # "client:<id>" or an E.164 number
    rng: random.Random
    aht_s: float = 180.0
    answer_delay_s: tuple[float, float] = (2.0, 6.0)
    miss_probability: float = 0.0
    busy: bool = False
    refuse: str = ""  # "busy": the line is always engaged; "no-answer": it rings out
    # A phone a person works by hand (a web page): the button last pressed for the call now
    # ringing or talking, "answer", "decline", "hangup" or "". None: the drawn delays above.
    buttons: Callable[[], str] | None = None
    # Told True when such a phone starts ringing and False when it stops: a page shows
    # Answer only while the phone really rings, not from the offer (seconds earlier on <Dial>)
    rings: Callable[[bool], None] | None = None
    talk_s: float | None = None  # every conversation this long (a demo's), not drawn
    # On an open line (a leg kept in their own room): a conversation is ended from the
    # console, which takes the caller off; the agent's own leg stays
    open_line: bool = False
    # On an open line: the chance that a caller joining it is followed by the line dropping
    # (network, a closed tab), at a moment drawn uniformly over one mean conversation after
    # the join: while the agent hears who is calling, while they talk, or idle after it, in
    # proportion to how long each lasts. Drawn from `drop_rng` when given, apart from the
    # run's other draws.
    line_drops: float = 0.0
    drop_rng: random.Random | None = None

    # A phone number whose voicemail answers the leg: it picks up after the drawn delay, plays
    # its greeting, presses nothing, and hangs up this many seconds after answering (0: the
    # agent answers in person)
    voicemail_s: float = 0.0

    calls: int = 0

    def ring(self) -> float | None:
        """Seconds until the agent picks up, or None if they let this offer ring out."""
        if self.busy or self.refuse or self.rng.random() < self.miss_probability:
            return None
        low, high = self.answer_delay_s
        return self.rng.uniform(low, high) if high > low else low

    def talk_time(self) -> float:
        """A conversation's length: `talk_s`, else exponential with mean `aht_s`."""
        if self.talk_s is not None:
            return self.talk_s
        return self.rng.expovariate(1.0 / self.aht_s) if self.aht_s > 0 else 0.0

    def line_drop(self) -> float | None:
        """Seconds after a caller joins this open line until it drops, or None if it holds."""
        if not self.open_line or self.line_drops <= 0:
            return None
        rng = self.drop_rng or self.rng
        if rng.random() >= self.line_drops:
            return None
        return rng.uniform(0.0, self.talk_s if self.talk_s is not None else self.aht_s)

    def respond(self, context: str, gather: Element) -> Input | None:
        """A key to accept the call, pressed as the whisper ends; a voicemail presses none."""
        del context, gather
        return None if self.voicemail_s else Input(digits="1", after=ACCEPT_AFTER_S)


@dataclass
class VirtualCaller:
    """A caller: presses `inputs` at successive menus, waits `patience_s` for a person."""

    number: str
    rng: random.Random
    inputs: list[Input] = field(default_factory=list)
    patience_s: float = math.inf
    senior: bool = False
    accept_callback: bool = False
    answer_delay_s: float = 3.0  # when we are called back
    label: str = "other"
    # Who picks up when we call back: "person", "voicemail" (a machine that answers like a
    # person unless detection was asked for), "fax", "busy", or "nobody" (rings out).
    answers: str = "person"
    # How long they talk on picking up before they listen: "喂？" about 1 s; a senior's
    # "喂？喂？您好，哪位啊？" 3-4 s, longer than Twilio's default speech threshold, so that
    # detection calls them a machine (core/amd.py); 0: they say nothing (`unknown`).
    greeting_s: float = 1.0
    # What they answer to call-back offers while waiting, in turn (then accept_callback holds)
    wait_inputs: list[Input] = field(default_factory=list)
    message_s: float = 0.0  # how long they speak when recorded (<Record>); 0: they say nothing
    # When patience starts: "routing" (their first Enqueue or Dial: time in a queue, as
    # queueing theory counts it) or "start" (the call's start: they may hang up in a menu too)
    patience_from: str = "routing"

    def respond(self, context: str, gather: Element) -> Input | None:
        """The next scripted input for a call's menu; '1' to a call-back offer if wanted."""
        if context == "wait":
            if self.wait_inputs:
                return self.wait_inputs.pop(0)
            return Input(digits="1") if self.accept_callback else None
        return self.inputs.pop(0) if self.inputs else None

    def ring(self) -> float | None:
        return None if self.answers in ("busy", "nobody") else self.answer_delay_s


def patience(rng: random.Random, mean_s: float) -> float:
    """Exponential patience with mean `mean_s` (inf: never gives up)."""
    return math.inf if math.isinf(mean_s) else rng.expovariate(1.0 / mean_s)


class People:
    """Who answers which address; unknown addresses get a default agent when `auto_answer`."""

    def __init__(self, rng: random.Random, *, auto_answer: bool = True) -> None:
        self._rng = rng
        self.auto_answer = auto_answer
        self.agent_options: dict[str, object] = {}  # for agents met by auto_answer
        # Options of one address's phone, over agent_options (the agent's own settings)
        self.options_for: Callable[[str], dict[str, object]] | None = None
        self.agents: dict[str, AgentPhone] = {}
        self.callers: dict[str, VirtualCaller] = {}

    def add_agent(self, address: str, **options: object) -> AgentPhone:
        agent = AgentPhone(address, self._rng, **options)  # type: ignore[arg-type]
        self.agents[address] = agent
        return agent

    def add_caller(self, caller: VirtualCaller) -> VirtualCaller:
        self.callers[caller.number] = caller
        return caller

    def reach(self, address: str) -> AgentPhone | VirtualCaller | None:
        """The person who answers `address`, if anyone does."""
        found = self.agents.get(address) or self.callers.get(address)
        if found is None and self.auto_answer:
            own = self.options_for(address) if self.options_for else {}
            found = self.add_agent(address, **{**self.agent_options, **own})
        return found
