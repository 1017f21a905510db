"""Acting on the floor: today's abandoned callers, and a call-back booked to one of them.

Read on demand (the page's button, the API), never by the live board's stream, so the board
keeps its latency. Booking needs a supervisor and the CSRF token (ivr/web/auth.py), and is
recorded in the audit trail. The engine side is routing/queues/abandoned.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from ivr.services import engine
from ivr.web import audit
from ivr.web.auth import mask_number, require_role
from routing.exceptions import StoreUnavailable
from routing.queues.abandoned import AbandonedCaller

bp = Blueprint("floor", __name__, url_prefix="/api/v1")


@bp.errorhandler(StoreUnavailable)
def _store_unavailable(exc: StoreUnavailable) -> tuple[Response, int]:
    return jsonify(error="the store is unavailable; try again shortly"), 503


def _listed() -> dict[str, Any]:
    eng = engine()
    return {
        "at": eng.clock.now().isoformat(),
        "day": eng.stats.today().isoformat(),
        "callers": [_row(a) for a in eng.abandoned.today()],
    }


def _row(found: AbandonedCaller) -> dict[str, Any]:
    return found.as_dict(mask_number(found.info.caller_number))


@bp.get("/abandoned")
@require_role("supervisor")
def abandoned() -> Response:
    """Today's callers who hung up while waiting: seniors first, then the longest wait."""
    return jsonify(_listed())


@bp.post("/abandoned/<call_sid>/callback")
@require_role("supervisor")
def book_callback(call_sid: str) -> Response | tuple[Response, int]:
    """Book a call-back to the caller of abandoned call `call_sid` (queued while open)."""
    try:
        booked = engine().abandoned.book_callback(call_sid)
    except KeyError:
        return jsonify(error=f"no abandoned call {call_sid!r} today"), 404
    except ValueError as exc:
        return jsonify(error=str(exc)), 409
    masked = mask_number(booked.info.caller_number)
    audit.record("callback_scheduled", call_sid, number=masked, senior=booked.info.senior)
    return jsonify(booked=_row(booked), **_listed())
