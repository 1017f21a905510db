"""Return-visit campaigns for supervisors (docs/campaigns.md): their progress as JSON, and a
campaign's customers and attempts (the compliance log) as CSV, numbers masked.

Supervisors only, as the rest of /api/v1 (docs/api.md). Progress is counted from the
customers' entries at each request: a campaign of 5,000 customers is one HGETALL.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify

from ivr.services import engine
from ivr.web import audit, spreadsheet
from ivr.web.auth import require_role
from routing.engine import Engine
from routing.exceptions import StoreUnavailable
from routing.governance.privacy import mask
from routing.outbound.campaigns import Campaign, Target

bp = Blueprint("campaigns", __name__)

CSV_FIELDS = (
    "campaign",
    "number",
    "name",
    "outcome",
    "attempts",
    "next_at",
    "attempt_at",
    "attempt_agent",
    "attempt_outcome",
)


@bp.errorhandler(StoreUnavailable)
def _store_unavailable(exc: StoreUnavailable) -> tuple[Response, int]:
    return jsonify(error="the store is unavailable; try again shortly"), 503


@bp.get("/api/v1/campaigns")
@require_role("supervisor")
def campaigns() -> Response:
    """Every campaign with its settings and progress."""
    eng = engine()
    return jsonify(at=eng.clock.now().isoformat(), campaigns=progress_rows(eng))


@bp.get("/api/v1/campaigns/<name>")
@require_role("supervisor")
def campaign(name: str) -> Response | tuple[Response, int]:
    """One campaign: settings, progress, and each customer's attempts (numbers masked)."""
    eng = engine()
    found = eng.campaigns.get(name)
    if found is None:
        return jsonify(error=f"no campaign {name!r}"), 404
    customers = [_customer(t) for t in eng.campaigns.targets(name)]
    return jsonify(**_row(eng, found), customers=customers)


@bp.get("/supervisor/campaigns/<name>.csv")
@require_role("supervisor")
def export(name: str) -> Response | tuple[Response, int]:
    """A campaign's customers, one row per attempt (a customer not yet called: one row)."""
    eng = engine()
    if eng.campaigns.get(name) is None:
        return Response(f"no campaign {name!r}\n", mimetype="text/plain"), 404
    out = io.StringIO()
    writer = spreadsheet.writer(out)
    writer.writerow(CSV_FIELDS)
    for target in eng.campaigns.targets(name):
        writer.writerows(_csv_rows(name, target))
    filename = f"silverline-campaign-{name}.csv"
    audit.record("export", filename, campaign=name)
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def progress_rows(eng: Engine) -> list[dict[str, Any]]:
    """Each campaign's settings and progress (the dashboard and /metrics read these too)."""
    return [_row(eng, c) for c in eng.campaigns.all()]


def _row(eng: Engine, c: Campaign) -> dict[str, Any]:
    return {
        "name": c.name,
        "reason": c.reason,
        "hours": c.hours,
        "queue": c.queue,
        "attempts": c.attempts,
        "spacing_minutes": c.spacing_minutes,
        "state": c.state,
        "progress": eng.campaigns.progress(c.name),
    }


def _customer(t: Target) -> dict[str, Any]:
    return {
        "number": mask(t.number),
        "name": t.name,
        "outcome": t.outcome,
        "attempts": t.attempts,
        "next_at": _iso(t.next_ms) if t.next_ms else None,
        "log": [
            {"at": _iso(int(a["at"])), "agent": a.get("agent", ""), "outcome": a["outcome"]}
            for a in t.log
        ],
    }


def _csv_rows(name: str, t: Target) -> list[list[object]]:
    head: list[object] = [
        name,
        mask(t.number),
        t.name,
        t.outcome,
        t.attempts,
        _iso(t.next_ms) if t.next_ms else "",
    ]
    if not t.log:
        return [[*head, "", "", ""]]
    return [[*head, _iso(int(a["at"])), a.get("agent", ""), a["outcome"]] for a in t.log]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()
