"""`/healthz`: is the process up, and can it reach Redis."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from ivr.services import engine
from routing.store import server_version

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    try:
        version = server_version(engine().redis)
    except Exception as exc:  # any failure to reach Redis is "unhealthy", never a 500
        return jsonify(
            status="degraded", redis={"reachable": False, "error": type(exc).__name__}
        ), 503
    return jsonify(status="ok", redis={"reachable": True, "version": version}), 200
