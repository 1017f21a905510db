"""What a caller's key press or words at the menu mean: the rules of who goes where."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from routing.settings import Ivr

ChoiceKind = Literal["agent", "topic", "complaint", "senior", "invalid", "none"]

_NOT_WORD = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True)
class Choice:
    kind: ChoiceKind
    queue: str = ""


def choose(
    digits: str,
    speech: str,
    ivr: Ivr,
    words: Callable[[str], tuple[str, ...]],
    *,
    offer_senior: bool,
) -> Choice:
    """Map DTMF digits or a speech result to a menu choice.

    A key wins over speech. The words for a person are checked first, so "我要人工，理赔" reaches a
    person; `words(meaning)` gives the dialect's words for "agent", "complaints", topic names
    and "senior".
    """
    digits = (digits or "").strip()
    if digits:
        return _by_key(digits, ivr, offer_senior=offer_senior)
    said = _normalise(speech)
    if not said:
        return Choice("none")
    return _by_words(said, ivr, words, offer_senior=offer_senior)


def _by_key(digits: str, ivr: Ivr, *, offer_senior: bool) -> Choice:
    if digits == ivr.agent_key:
        return Choice("agent", "general")
    if digits == ivr.complaint_key:
        return Choice("complaint", "complaints")
    if offer_senior and digits == ivr.senior_key:
        return Choice("senior", "senior")
    for topic in ivr.topics:
        if digits == topic.key:
            return Choice("topic", topic.queue)
    return Choice("invalid")


def _by_words(
    said: str, ivr: Ivr, words: Callable[[str], tuple[str, ...]], *, offer_senior: bool
) -> Choice:
    if _mentions(said, words("agent")):
        return Choice("agent", "general")
    if _mentions(said, words("complaints")):
        return Choice("complaint", "complaints")
    for topic in ivr.topics:
        if _mentions(said, words(topic.name)):
            return Choice("topic", topic.queue)
    if offer_senior and _mentions(said, words("senior")):
        return Choice("senior", "senior")
    return Choice("invalid")


def _normalise(text: str) -> str:
    return _NOT_WORD.sub(" ", (text or "").lower()).strip()


def _mentions(said: str, candidates: tuple[str, ...]) -> bool:
    padded = f" {said} "
    for word in candidates:
        w = _normalise(word)
        if not w:
            continue
        # Chinese has no spaces: a substring match. Latin words must match whole words.
        if (w.isascii() and f" {w} " in padded) or (not w.isascii() and w in said):
            return True
    return False


OfferReply = Literal["yes", "agent", "no", "none", "invalid"]


def reply_to_offer(
    digits: str,
    speech: str,
    words: Callable[[str], tuple[str, ...]],
    *,
    yes_key: str,
    agent_key: str,
) -> OfferReply:
    """A caller's answer where a call-back is offered by key: after hours, or while waiting.

    `yes_key` or a word for yes ("回电", "call back") takes the offer; `agent_key` or a word for
    a person ("人工", "搵真人", "agent") asks for one, and wins over yes, so "我要人工" is never a
    call-back. A word for no ("不要回电") outweighs a yes word. `words(meaning)` gives the
    dialect's words for "agent", "yes" and "no".
    """
    digits = (digits or "").strip()
    if digits:
        return "yes" if digits == yes_key else "agent" if digits == agent_key else "invalid"
    said = _normalise(speech)
    if not said:
        return "none"
    if _mentions(said, words("agent")):
        return "agent"
    if _mentions(said, words("no")):
        return "no"
    return "yes" if _mentions(said, words("yes")) else "invalid"


def reply_by(
    digits: str, speech: str, words: Callable[[str], tuple[str, ...]], keys: dict[str, str]
) -> str:
    """The meaning of a caller's key or words where `keys` (key -> meaning) are offered.

    A word for a meaning counts as its key; words for a person ("agent") win over the others.
    Returns a meaning of `keys`, "none" (silence) or "invalid".
    """
    digits = (digits or "").strip()
    if digits:
        return keys.get(digits, "invalid")
    said = _normalise(speech)
    if not said:
        return "none"
    meanings = sorted(set(keys.values()), key=lambda m: m != "agent")
    return next((m for m in meanings if _mentions(said, words(m))), "invalid")
