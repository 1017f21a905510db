"""Every CSV the product writes keeps a formula-looking text as text (CSV injection)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask.testing import FlaskClient

from ivr.web.spreadsheet import cell
from ivr.web.team import team_rows_csv
from routing.engine import Engine
from routing.governance.users import Users
from routing.outbound.campaigns import Campaign
from tests.helpers.web import as_user

EVIL = '=HYPERLINK("//ev.il","Hi")'


def test_each_formula_start_is_neutralised_and_figures_are_not() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert cell(start + "1+1") == "'" + start + "1+1"
    assert cell("王丽") == "王丽" and cell("a=b") == "a=b" and cell("") == ""
    assert cell(-3) == -3 and cell(2.5) == 2.5  # a negative figure stays a number


def test_a_campaign_customer_named_like_a_formula_comes_back_as_text(
    client: FlaskClient, users: Users, engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_text(f'number,name\n+8613800138001,"{EVIL.replace(chr(34), chr(34) * 2)}"\n')
    engine.campaigns.add(Campaign("loan", "保单贷款确认", "09:00-17:00"), path)
    text = as_user(client, users, "sue").get("/supervisor/campaigns/loan.csv").get_data(True)
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["name"] == "'" + EVIL
    assert row["number"] == "'+86•••••••8001"  # a leading + would be read as a formula too


def test_an_agent_id_like_a_formula_in_the_team_csv_comes_back_as_text() -> None:
    report = {
        "start": "2026-11-23",
        "end": "2026-11-23",
        "intervals": [{"start": "s", "end": "e", "agents": {"@SUM(A1)": {}}, "dialects": {}}],
        "agents": [{"agent": "-2+3", "wrap_up_codes": {}}],
    }
    rows = list(csv.reader(io.StringIO(team_rows_csv(report))))
    assert rows[1][3] == "'@SUM(A1)" and rows[2][3] == "'-2+3"
