"""`silverline campaigns`: a campaign made from a CSV, listed, paused and resumed."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from app import cli as main
from ivr.cli.helpers import cli_engine
from tests.cli.conftest import run


def test_a_campaign_is_made_only_from_a_clean_list_unless_told(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "loan.csv"
    path.write_text("number,name,note\n13800138000,陈伯,贷款\n12345,王姨,\n", encoding="utf-8")
    args = ["campaigns", "add", "loan", str(path), "--reason", "贷款确认", "--hours", "09:00-17:00"]
    refused = runner.invoke(main, args)
    assert refused.exit_code == 1
    assert "loan.csv: line 3: number '12345' is not a phone number" in refused.output
    assert "nothing was written" in refused.output
    assert json.loads(run(runner, "campaigns", "list", "--json")) == []
    out = run(runner, *args, "--skip-invalid")
    assert out.strip().endswith("campaign loan: 1 customers, hours 09:00-17:00, reason: 贷款确认")
    [listed] = json.loads(run(runner, "campaigns", "list", "--json"))
    assert (listed["state"], listed["progress"]["pending"], listed["queue"]) == (
        "active", 1, "senior",
    )  # fmt: skip
    assert run(runner, "campaigns", "pause", "loan").strip() == "campaign loan: paused"
    assert "paused" in run(runner, "campaigns", "list")
    assert run(runner, "campaigns", "resume", "loan").strip() == "campaign loan: active"
    shown = run(runner, "campaigns", "show", "loan")
    assert "+86•••••••8000" in shown and "13800138000" not in shown
    missing = runner.invoke(main, ["campaigns", "pause", "nope"])
    assert missing.exit_code == 1 and "no campaign 'nope'" in missing.output


def test_show_lists_each_customers_attempts(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "loan.csv"
    path.write_text("number\n13800138000\n", encoding="utf-8")
    run(runner, "campaigns", "add", "loan", str(path), "--reason", "贷款", "--hours", "09:00-17:00")
    eng = cli_engine()
    loan = eng.campaigns.get("loan")
    assert loan is not None
    eng.campaigns.started(loan, "+8613800138000", "VS1", "a01")
    eng.campaigns.attempt_over("loan", "+8613800138000", "VS1", "voicemail")
    shown = run(runner, "campaigns", "show", "loan").splitlines()
    [line] = [x for x in shown if x.endswith("voicemail")]
    assert line.split()[2] == "a01"  # when (date, time), who, how it ended
