"""`silverline script`: the routing script Redis runs, with the line numbers its errors give."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from app import cli as main
from ivr.settings import load_settings
from routing.clock import FixedClock
from routing.engine import Engine
from routing.exceptions import StoreUnavailable
from routing.keys import Keys
from routing.queues.routing_script import RoutingLua
from routing.store import RedisClient

ROOT = Path(__file__).resolve().parents[2]


def _lua() -> RoutingLua:
    settings = load_settings()
    return RoutingLua(settings, Keys(settings.redis.key_prefix))


def test_the_script_is_printed_as_redis_runs_it_numbered_as_its_errors_count(
    runner: CliRunner,
) -> None:
    plain = runner.invoke(main, ["script"])
    numbered = runner.invoke(main, ["script", "--numbered"])
    assert plain.exit_code == 0 and numbered.exit_code == 0, plain.output + numbered.output
    lua = _lua()
    assert plain.stdout == lua.source
    assert lua.sha in plain.stderr
    lines = numbered.stdout.splitlines()
    assert len(lines) == len(lua.source.splitlines())
    for n in (1, 500, len(lines)):
        number, text = re.match(r"^\s*(\d+)  (.*)$", lines[n - 1]).groups()  # type: ignore[union-attr]
        assert (int(number), text) == (n, lua.source.splitlines()[n - 1])


def test_every_line_of_the_script_maps_to_the_line_of_its_source_file() -> None:
    lua = _lua()
    for n, text in enumerate(lua.source.splitlines(), 1):
        where, at = lua.origin(n)
        if where.endswith(".lua"):
            source = (ROOT / where).read_text(encoding="utf-8").splitlines()[at - 1]
            # routing_script.py presizes F and OPS in the one line that makes them
            assert source.strip() == text.strip() or source == "local F, OPS = {}, {}", (n, where)
    with pytest.raises(ValueError, match="lines 1 to"):
        lua.origin(len(lua.source.splitlines()) + 1)


def test_a_line_redis_blames_is_found_in_its_source_file(
    r: RedisClient, clock: FixedClock, runner: CliRunner
) -> None:
    engine = Engine(r, clock, load_settings())
    with pytest.raises(StoreUnavailable) as failed:
        engine.script.run("remove", 0, {})  # no agent id: HGET of nil, refused by Redis
    line = int(re.search(r"user_script:(\d+)", str(failed.value)).group(1))  # type: ignore[union-attr]
    found = runner.invoke(main, ["script", "--line", str(line)])
    assert found.exit_code == 0, found.output
    assert found.stdout.startswith("routing/lua/route/lib/agents.lua:")
    assert "redis.call('HGET', AGENTS, id)" in found.stdout
