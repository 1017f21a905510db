"""What reads badly in a sentence built from fields that may be unknown (tests' helper)."""

from __future__ import annotations

import re

# Punctuation after punctuation ("，，", ", ."), a unit with no number ("，岁", "aged ,"), a
# field's leftovers ("None", "{age}", "[") or loose spaces.
_BAD = re.compile(
    r"[，,。.、:：]\s*[，,。.、:：]"
    r"|[，,]\s*[岁歲]|aged\s*[,.]|speaks\s*[,.]|Caller\s*[,.]"
    r"|None|\{|\}|\[|\]|\s{2,}|\s[,.]|^\s|\s$|来电人[，。]|來電人[，。]|讲[，。]|講[，。]"
)


def reads_badly(text: str) -> list[str]:
    """The bad spots in `text` ([] when it reads well)."""
    return [m.group(0) for m in _BAD.finditer(text)] + ([] if text.strip() else ["(empty)"])
