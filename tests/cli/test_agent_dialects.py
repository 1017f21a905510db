"""`silverline agents add --dialect` takes dialects as records spell them (issue 21, point 9)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from app import cli as main
from dialects.packs import default_packs
from dialects.registry import DIALECTS
from ivr.settings import load_settings
from routing.clock import SystemClock
from routing.engine import Engine
from routing.store import RedisClient
from tests.cli.conftest import run

PACKS = default_packs()


@pytest.fixture
def eng(r: RedisClient) -> Engine:
    return Engine(r, SystemClock(), load_settings())


@pytest.mark.parametrize("code", DIALECTS)
def test_every_spelling_of_every_pack_is_taken_and_stored_as_its_code(
    runner: CliRunner, eng: Engine, code: str
) -> None:
    for n, spelling in enumerate(PACKS.get(code).spellings):
        agent_id = f"{code[:3]}{n}"
        run(runner, "agents", "add", agent_id, "--name", "X", "--dialect", spelling)
        agent = eng.agents.get(agent_id)
        assert agent is not None and agent.dialects == (code,), spelling


def test_mixed_spellings_of_one_dialect_count_once_in_order(runner: CliRunner, eng: Engine) -> None:
    run(runner, "agents", "add", "a01", "--name", "X", "--dialect", "廣東話,yue,Cantonese,普通话")
    agent = eng.agents.get("a01")
    assert agent is not None and agent.dialects == ("cantonese", "mandarin")


def test_a_refusal_lists_the_accepted_spellings(runner: CliRunner, eng: Engine) -> None:
    result = runner.invoke(main, ["agents", "add", "a01", "--name", "X", "--dialect", "klingon"])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "unknown dialect 'klingon'; accepted:" in flat
    for code in DIALECTS:
        assert f"{code}:" in flat
    for spelling in ("yue", "廣東話", "wuu", "上海话", "nan", "闽南语", "四川话", "cmn"):
        assert spelling in flat, spelling
    assert eng.agents.all() == []
