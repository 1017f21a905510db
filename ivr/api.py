"""`/api/v1/...`: JSON for supervisors' tools — queues, agents and interval statistics.

Every endpoint needs a signed-in supervisor (the session cookie; 401 JSON without one, 403
for an agent). The shapes are documented in docs/api.md; the figures in docs/statistics.md.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from ivr import dashboard
from ivr.auth import require_role
from ivr.context import engine
from routing.exceptions import StoreUnavailable

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.errorhandler(StoreUnavailable)
def _store_unavailable(exc: StoreUnavailable) -> tuple[Response, int]:
    return jsonify(error="the store is unavailable; try again shortly"), 503


@bp.get("/queues")
@require_role("supervisor")
def queues() -> Response:
    """Each queue now (waiting, longest wait, agents by state) and today's figures."""
    return jsonify(dashboard.queues(engine()))


@bp.get("/agents")
@require_role("supervisor")
def agents() -> Response:
    """Every agent and their state now."""
    eng = engine()
    return jsonify(at=eng.clock.now().isoformat(), agents=dashboard.agents(eng))


@bp.get("/intervals")
@require_role("supervisor")
def intervals() -> Response | tuple[Response, int]:
    """Every interval of a date range (`start`, `end`: YYYY-MM-DD; `queue`: one or all)."""
    eng = engine()
    try:
        start, end, queue = dashboard.range_query(eng, request.args)
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    rows = eng.stats.intervals(start, end, queue)
    return jsonify(
        queue=queue or "all",
        start=start.isoformat(),
        end=end.isoformat(),
        interval_minutes=eng.settings.stats.interval_minutes,
        timezone=eng.settings.hotline.timezone,
        histogram_bounds_s=list(eng.settings.stats.histogram_bounds),
        intervals=dashboard.interval_rows(rows),
    )
