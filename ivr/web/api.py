"""`/api/v1/...`: JSON for supervisors' tools: queues, agents (forcing their state), intervals.

Every endpoint needs a signed-in supervisor (the session cookie; 401 JSON without one, 403
for an agent); the one POST needs the session's CSRF token too (ivr/web/auth.py). The shapes
are documented in docs/api.md; the figures in docs/statistics.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Blueprint, Response, jsonify, request

from ivr.call import dispatch
from ivr.services import engine
from ivr.web import audit, dashboard
from ivr.web.auth import current_user, require_role
from routing.exceptions import StoreUnavailable
from routing.queues.agents import SETTABLE_STATES
from routing.queues.routing_script import FORCED_KEEP

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger("silverline.api")


@bp.errorhandler(StoreUnavailable)
def _store_unavailable(exc: StoreUnavailable) -> tuple[Response, int]:
    return jsonify(error="the store is unavailable; try again shortly"), 503


@bp.get("/queues")
@require_role("supervisor")
def queues() -> Response:
    """Each queue now (waiting, longest wait, agents by state) and today's figures."""
    return jsonify(dashboard.queues(engine()))


@bp.get("/alerts")
@require_role("supervisor")
def alerts() -> Response:
    """The alerts holding now, oldest first (docs/supervisors.md, "Alerts")."""
    eng = engine()
    return jsonify(at=eng.clock.now().isoformat(), alerts=eng.alerts.active())


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


@bp.post("/agents/<agent_id>/state")
@require_role("supervisor")
def force_state(agent_id: str) -> Response | tuple[Response, int]:
    """Force an agent available, away or offline now, ending a stale offer or call.

    The CSRF token comes in the X-CSRF-Token header (or a csrf_token form field); the body is
    JSON {"state": ...} or a form. The answer carries the change, every agent and the newest
    forced changes, so the dashboard redraws both lists from it.
    """
    body = request.get_json(silent=True) if request.is_json else request.form
    state = body.get("state") if isinstance(body, Mapping) else None
    if state not in SETTABLE_STATES:
        return jsonify(error=f"state must be one of {', '.join(SETTABLE_STATES)}"), 400
    eng = engine()
    if eng.agents.get(agent_id) is None:
        return jsonify(error=f"no agent {agent_id!r}"), 404
    user = current_user()
    assert user is not None  # require_role let only a signed-in supervisor through
    try:
        change, offers = eng.router.force_agent_state(agent_id, state, user.name, "web")
    except KeyError:  # removed between the look-up and the change
        return jsonify(error=f"no agent {agent_id!r}"), 404
    log.info(
        "%s forced agent %s from %s to %s (ended: %s %s)",
        user.name,
        agent_id,
        change.from_state,
        state,
        change.ended or "nothing",
        change.call_sid,
    )
    audit.record("agent_state_forced", agent_id, **audit.forced_detail(change))
    dispatch.end_agent_leg(change.leg)  # may still ring for the offer ended
    dispatch.reconnect(change.line, change.call_sid)  # a classic <Dial> may still ring them
    dispatch.act_on(offers)  # a freed agent, or the caller put back, may be offered at once
    return jsonify(
        change=change.as_dict(), agents=dashboard.agents(eng), forced=dashboard.forced(eng)
    )


@bp.get("/forced-changes")
@require_role("supervisor")
def forced_changes() -> Response | tuple[Response, int]:
    """The newest forced agent state changes, newest first (`limit`: 1-1000, default 50)."""
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= FORCED_KEEP:
        return jsonify(error=f"limit must be a whole number from 1 to {FORCED_KEEP}"), 400
    eng = engine()
    return jsonify(at=eng.clock.now().isoformat(), forced=dashboard.forced(eng, int(raw)))
