"""The audit trail on the web: recording what a request did, and the supervisors' page.

`record(...)` stamps an entry with the signed-in user (or the name given, for a failed
sign-in) and the request's remote address. It never fails the action it follows: the action
is done by then, so a Redis hiccup is logged instead. The page `/supervisor/audit` and
`/api/v1/audit` list the trail, newest first (routing/governance/audit.py keeps it).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify, render_template, request

from ivr.call.logtext import shown
from ivr.services import engine
from ivr.web.auth import address, current_user, require_role
from routing.exceptions import StoreUnavailable
from routing.governance.audit import AuditEntry, parse_since
from routing.queues.router import ForcedChange

bp = Blueprint("audit", __name__)
log = logging.getLogger("silverline.audit")
MAX_LIMIT = 5000


def record(action: str, target: str = "", by: str | None = None, **detail: Any) -> None:
    """Add what this request did to the audit trail, as its user from its address."""
    user = current_user()
    who = by if by is not None else (user.name if user else "")
    try:
        engine().audit.record(action, who, "web", address(), target, **detail)
    except StoreUnavailable as exc:
        log.error("audit entry %s by %s on %s not kept: %s", action, shown(who), shown(target), exc)


def forced_detail(change: ForcedChange) -> dict[str, str]:
    """What an audit entry keeps of a forced state change."""
    return {
        "from_state": change.from_state,
        "to_state": change.to_state,
        "ended": change.ended,
        "call_sid": change.call_sid,
    }


def _query() -> tuple[list[AuditEntry], str]:
    """The entries the request asks for (`since`, `limit`), or an error message."""
    eng = engine()
    raw_limit = request.args.get("limit", "500")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
        return [], f"limit must be a whole number from 1 to {MAX_LIMIT}"
    since_text = request.args.get("since", "")
    try:
        since = parse_since(since_text, eng.settings.tz) if since_text else None
    except ValueError as exc:
        return [], str(exc)
    return eng.audit.entries(since, int(raw_limit)), ""


@bp.get("/supervisor/audit")
@require_role("supervisor")
def page() -> tuple[str, int]:
    entries, error = _query()
    tz = engine().settings.tz
    rows = [(e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"), e) for e in entries]
    return render_template(
        "audit.html",
        rows=rows,
        error=error,
        since=request.args.get("since", ""),
        days=engine().settings.privacy.audit_days,
    ), (400 if error else 200)


@bp.get("/api/v1/audit")
@require_role("supervisor")
def api() -> Response | tuple[Response, int]:
    entries, error = _query()
    if error:
        return jsonify(error=error), 400
    eng = engine()
    return jsonify(at=eng.clock.now().isoformat(), entries=[e.as_dict() for e in entries])
