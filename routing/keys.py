"""The one place that names Redis keys.

Every key starts with the configured prefix. Keys that a Lua script touches together carry
the same `{hash tag}` so they live on one Redis Cluster slot.

| key                                   | type   | owner            | lifetime                  |
|---------------------------------------|--------|------------------|---------------------------|
| `{p}:meta`                            | hash   | app              | forever (schema version)  |
| `{p}:ahcb`                            | zset   | callbacks.py     | until queued (sid -> ms)  |
| `{p}:ahcb:<call_sid>`                 | string | callbacks.py     | 8 days (caller as JSON)   |

Modules add their keys here as functions, with a row in this table.
"""

from __future__ import annotations


class Keys:
    """Key names under one prefix."""

    def __init__(self, prefix: str = "sl") -> None:
        self.prefix = prefix

    def meta(self) -> str:
        """Hash of facts about the store itself (schema version, seeded flag)."""
        return f"{self.prefix}:meta"

    def after_hours_callbacks(self) -> str:
        """Out-of-hours call-back requests waiting for opening time, scored by request time."""
        return f"{self.prefix}:ahcb"

    def after_hours_callback(self, call_sid: str) -> str:
        """One out-of-hours call-back request (JSON of the caller)."""
        return f"{self.prefix}:ahcb:{call_sid}"
