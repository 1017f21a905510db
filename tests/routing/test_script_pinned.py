"""The assembled routing script, pinned by the SHA-1 that EVALSHA calls it by.

A change to the Lua sources, to the order the builder joins them in, or to how the settings
and keys are written as constants changes the script Redis runs. Such a change is made on
purpose: re-pin the SHA in a commit of its own that says why (and shows the benchmarks)."""

from __future__ import annotations

from typing import Any

import pytest

from routing.keys import Keys
from routing.queues.routing_script import RoutingLua
from routing.settings import EngineSettings, build_settings
from routing.store import RedisClient

# Settings written out here, not read from config/silverline.toml: the pin is of the builder
# and the sources, and editing the shipped file must not move it.
PLAIN: dict[str, Any] = {
    "queues": {
        "senior": {"priority": 10, "skill": "senior"},
        "general": {"priority": 1},
    },
}
RICH: dict[str, Any] = {
    "routing": {"senior_wrap_up_break": 5, "senior_reserve": 2},
    "campaigns": {"agent_share": 0.25, "keep_idle": 1},
    "queues": {
        "senior": {
            "priority": 10,
            "skill": "senior",
            "ladder": [
                {"after": 0, "skill": "senior", "dialect": True},
                {"after": 30, "skill": "senior"},
                {"after": 45, "skill": ""},
            ],
        },
        "general": {"priority": 1, "age_after": 180, "overflow_after": 240,
                    "overflow_to": "callback"},
        "policy": {"priority": 2, "skill": "policy", "widen_to_any_after": 60,
                   "overflow_length": 3, "overflow_to": "general"},
        "claims": {"priority": 2, "skill": "claims", "overflow_after": 90,
                   "overflow_to": "+8613800138000"},
    },
}  # fmt: skip
PINNED = {
    "plain": "3599c2c6f0818f1a393577b11d4c213cabe8ab54",
    "rich": "a31ea298a2f2bbf0f858bd9ccf10f6003010acc3",
}


@pytest.mark.parametrize("name, raw", [("plain", PLAIN), ("rich", RICH)])
def test_the_assembled_routing_script_is_the_pinned_one(
    r: RedisClient, name: str, raw: dict[str, Any]
) -> None:
    settings = build_settings(EngineSettings, raw)
    lua = RoutingLua(settings, Keys("sl"))
    assert lua.sha == PINNED[name]
    assert r.script_load(lua.source) == lua.sha  # the name EVALSHA calls it by
