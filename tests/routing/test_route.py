"""The routing script's constants: Python values written as Lua source, read back by Redis."""

from __future__ import annotations

import json

import pytest

from routing.queues.routing_script import lua_literal
from routing.store import RedisClient


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "quote ' and backslash \\ and newline \n and NUL \0",
        "粤语 and 闽南语",
        {"sl": {"senior": 20000, "其他": 30000}, "bounds": [5000, 10000], "on": True},
        [],
        [1, [2, ["x"]]],
    ],
)
def test_a_lua_literal_reads_back_as_the_same_value(r: RedisClient, value: object) -> None:
    # cjson writes an empty table as {} and keys of a table in any order: compare parsed JSON.
    script = f"return cjson.encode({lua_literal(value)})"
    back = json.loads(r.eval(script, 1, "{sl:rt}:any"))
    assert back == ({} if value == [] else value)


def test_a_lua_literal_refuses_what_it_cannot_write() -> None:
    with pytest.raises(TypeError, match="float"):
        lua_literal(1.5)
