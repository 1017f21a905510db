"""The one place that names Redis keys.

Every key starts with the configured prefix. Keys that a Lua script touches together carry
the same `{hash tag}` so they live on one Redis Cluster slot.

| key                                   | type   | owner            | lifetime                  |
|---------------------------------------|--------|------------------|---------------------------|
| `{p}:meta`                            | hash   | app              | forever (schema version)  |

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
