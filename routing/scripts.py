"""The Lua scripts, kept as files in routing/lua/ and read by this one loader.

Each script gets its keys through KEYS (or, for route.lua, by name from routing/keys.py: see
routing_script.py) and the time through ARGV; none reads the clock or builds a key of its own.
"""

from __future__ import annotations

import functools
from importlib import resources


@functools.cache
def lua_source(name: str) -> str:
    """The text of routing/lua/<name>.lua (`name` may hold "/": route/lib/calls)."""
    *folders, base = name.split("/")
    path = resources.files("routing").joinpath("lua", *folders, f"{base}.lua")
    return path.read_text(encoding="utf-8")
