"""`silverline dialects check`: what the recorded packs are missing."""

from __future__ import annotations

import json

from click.testing import CliRunner

from app import cli as main
from tests.cli.conftest import run


def test_check_lists_each_recorded_pack_and_strict_fails_while_prompts_are_spoken(
    runner: CliRunner,
) -> None:
    text = run(runner, "dialects", "check")
    assert text.startswith("minnan: 0 recorded, 0 composed, ")
    assert "shanghainese: " in text and "sichuanese: " in text
    assert "broken  connecting: connecting.mp3: missing" in text
    found = json.loads(run(runner, "dialects", "check", "shanghainese", "--json"))
    greeting = next(f for f in found["shanghainese"] if f["prompt"] == "senior_greeting")
    assert greeting["status"] == "broken" and "senior_greeting_1.mp3: missing" in greeting["detail"]
    assert runner.invoke(main, ["dialects", "check", "--strict"]).exit_code == 1
    bad = runner.invoke(main, ["dialects", "check", "klingon"])
    assert bad.exit_code == 2 and "no pack 'klingon'" in bad.output
