"""Values from a request, made safe to put in a log line.

A webhook's `ErrorUrl`, a request path (werkzeug decodes `%0A` in it) or a name typed at the
sign-in form may carry a line break or a terminal escape: logged as they came, they forge log
lines ("...\\n2026-11-23 10:00:00 INFO sign-in ok") or rewrite an operator's terminal. Every
such value goes through `shown()` before it reaches a logger.
"""

from __future__ import annotations

import unicodedata

LIMIT = 200  # a logged value is a clue, not a copy of the request


def shown(value: object, limit: int = LIMIT) -> str:
    """`value` cut at `limit` characters, with control and line-separator characters escaped."""
    text = str(value)
    cut = text[:limit]
    escaped = "".join(_escape(c) if _hidden(c) else c for c in cut)
    return escaped + ("…" if len(text) > limit else "")


def _hidden(char: str) -> bool:
    # Cc: C0/C1 controls (\n, \r, ESC); Cf: format characters such as the bidi overrides
    # U+202E that reorder what a reader sees; Zl/Zp: U+2028/U+2029 line and paragraph breaks.
    return unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
