"""The routing script's sources and the configuration routing_script.py writes for them agree."""

from __future__ import annotations

import re

from routing.keys import Keys
from routing.queues.routing_script import RoutingLua
from routing.settings import load_engine_settings


def test_the_script_reads_every_configured_name_and_no_other() -> None:
    lua = RoutingLua(load_engine_settings(environ={}), Keys("sl"))
    made = lua._config_of(lua.settings)
    # a misspelt name would read nil in Lua, not fail: both ways round
    read = set(re.findall(r"\bcfg\.(\w+)", lua.source))
    assert read == set(made), f"read only: {read - set(made)}; made only: {set(made) - read}"


def test_the_sources_are_indented_inside_define_in_the_printed_script() -> None:
    lua = RoutingLua(load_engine_settings(environ={}), Keys("sl"))
    body = lua.source.split("local function define()", 1)[1].split("\nend  -- define\n", 1)[0]
    code = [line for line in body.splitlines()[1:] if line.strip()]
    assert code and all(line.startswith("  ") for line in code)
