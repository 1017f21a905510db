"""A campaign's progress in /api/v1/campaigns, its CSV (the attempts log) and /metrics."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from flask.testing import FlaskClient

from routing.engine import Engine
from routing.governance.users import Users
from routing.outbound.campaigns import Campaign
from tests.helpers.web import as_user, metric_lines

NUMBERS = ["+8613800138001", "+8613800138002", "+8613800138003"]


def worked(engine: Engine, tmp_path: Path) -> None:
    """Three customers: one confirmed by a01, one unreached twice (failed), one pending."""
    path = tmp_path / "list.csv"
    path.write_text("number\n" + "\n".join(NUMBERS) + "\n", encoding="utf-8")
    loan = Campaign("loan", "保单贷款确认", "09:00-17:00", attempts=2)
    engine.campaigns.add(loan, path)
    c = engine.campaigns
    c.started(loan, NUMBERS[0], "VS1", "a01")
    c.attempt_over("loan", NUMBERS[0], "VS1", "talked")
    c.record_outcome("loan", NUMBERS[0], "VS1", "confirmed")
    for sid, outcome in (("VS2", "busy"), ("VS3", "voicemail")):
        c.started(loan, NUMBERS[1], sid, "a02")
        c.attempt_over("loan", NUMBERS[1], sid, outcome)


def test_the_api_gives_each_campaigns_progress_and_its_customers_masked(
    client: FlaskClient, users: Users, engine: Engine, tmp_path: Path
) -> None:
    worked(engine, tmp_path)
    assert client.get("/api/v1/campaigns").status_code == 401
    sup = as_user(client, users, "sue")
    [row] = sup.get("/api/v1/campaigns").get_json()["campaigns"]
    assert row["name"] == "loan" and row["state"] == "active"
    p = row["progress"]
    assert (p["confirmed"], p["failed"], p["pending"], p["reached"], p["total"]) == (1, 1, 1, 1, 3)
    one = sup.get("/api/v1/campaigns/loan").get_json()
    numbers = [x["number"] for x in one["customers"]]
    assert numbers == ["+86•••••••8001", "+86•••••••8002", "+86•••••••8003"]
    assert [a["outcome"] for a in one["customers"][1]["log"]] == ["busy", "voicemail"]
    assert sup.get("/api/v1/campaigns/nope").status_code == 404
    assert as_user(client, users, "a01").get("/api/v1/campaigns").status_code == 403


def test_the_csv_has_a_row_per_attempt_and_the_figures_add_up(
    metrics_open: None, client: FlaskClient, users: Users, engine: Engine, tmp_path: Path
) -> None:
    worked(engine, tmp_path)
    sup = as_user(client, users, "sue")
    response = sup.get("/supervisor/campaigns/loan.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["outcome"], r["attempt_agent"], r["attempt_outcome"]) for r in rows] == [
        ("confirmed", "a01", "confirmed"),
        ("failed", "a02", "busy"),
        ("failed", "a02", "voicemail"),
        ("pending", "", ""),
    ]
    assert all("8001" not in r["number"] or "•" in r["number"] for r in rows)
    m = metric_lines(client.get("/metrics").get_data(as_text=True))
    by = {o: m[f'silverline_campaign_customers{{campaign="loan",outcome="{o}"}}'] for o in
          ("pending", "confirmed", "failed", "refused")}  # fmt: skip
    assert by == {"pending": 1, "confirmed": 1, "failed": 1, "refused": 0}
    assert m['silverline_campaign_reached{campaign="loan"}'] == 1


def test_the_dashboard_has_the_campaigns_table_fed_by_the_api(
    client: FlaskClient, users: Users
) -> None:
    page = as_user(client, users, "sue").get("/supervisor").get_data(as_text=True)
    assert 'id="campaigns"' in page and "campaigns.js" in page
    script = client.get("/static/campaigns.js")
    assert script.status_code == 200 and b"/api/v1/campaigns" in script.data
    script.close()
