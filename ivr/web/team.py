"""Reports per agent and per dialect: `/api/v1/team` (JSON) and `/supervisor/team.csv`.

Read on demand, never by the live board's stream. The figures are routing/reporting/team_stats.py's,
shaped by routing/team_report.py; what each means is in docs/supervisors.md.
"""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, Response, jsonify, request

from ivr.services import engine
from ivr.web import audit, dashboard, spreadsheet
from ivr.web.auth import require_role
from routing.exceptions import StoreUnavailable
from routing.queues.wrapup import csv_cell
from routing.team_report import team_report

bp = Blueprint("team", __name__)
AGENT_COLUMNS = (
    "offered",
    "answered",
    "missed",
    "completed",
    "seniors_answered",
    "talk_s",
    "open_line_s",
    "wrap_up_s",
    "signed_in_s",
    "occupancy",
)
DIALECT_COLUMNS = ("offered", "answered", "answered_in_dialect", "time_to_human_s")
CSV_COLUMNS: tuple[str, ...] = (
    "interval_start",
    "interval_end",
    "kind",
    "who",
    *AGENT_COLUMNS,
    *(c for c in DIALECT_COLUMNS if c not in AGENT_COLUMNS),
)


@bp.errorhandler(StoreUnavailable)
def _store_unavailable(exc: StoreUnavailable) -> tuple[Response, int]:
    return jsonify(error="the store is unavailable; try again shortly"), 503


@bp.get("/api/v1/team")
@require_role("supervisor")
def team() -> Response | tuple[Response, int]:
    """Per agent and per dialect over `start`..`end` (YYYY-MM-DD, default today);
    `intervals=1` adds every interval in which anything was counted."""
    eng = engine()
    try:
        start, end = dashboard.date_range(
            request.args.get("start", ""), request.args.get("end", ""), eng.stats.today()
        )
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    by_interval = request.args.get("intervals", "") in {"1", "true"}
    return jsonify(team_report(eng, start, end, by_interval))


@bp.get("/supervisor/team.csv")
@require_role("supervisor")
def team_csv() -> Response | tuple[Response, int]:
    """Every interval of the range with a row per agent and per dialect counted in it."""
    eng = engine()
    try:
        start, end = dashboard.date_range(
            request.args.get("start", ""), request.args.get("end", ""), eng.stats.today()
        )
    except ValueError as exc:
        return Response(f"{exc}\n", mimetype="text/plain"), 400
    report = team_report(eng, start, end, by_interval=True)
    name = f"silverline-team-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    audit.record("export", name, start=start.isoformat(), end=end.isoformat())
    response = Response(team_rows_csv(report), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def team_rows_csv(report: dict[str, Any]) -> str:
    """The report's intervals as CSV, then a summary row per agent (with wrap-up codes)."""
    out = io.StringIO()
    writer = spreadsheet.writer(out, lineterminator="\n")
    writer.writerow((*CSV_COLUMNS, "wrap_up_codes"))
    for iv in report["intervals"]:
        for kind, rows in (("agent", iv["agents"]), ("dialect", iv["dialects"])):
            for who, f in rows.items():
                codes = csv_cell(f.get("wrap_up_codes", {}))
                writer.writerow([iv["start"], iv["end"], kind, who, *_cells(f), codes])
    for row in report["agents"]:
        cells = [report["start"], report["end"], "agent_total", row["agent"], *_cells(row)]
        writer.writerow([*cells, csv_cell(row["wrap_up_codes"])])
    return out.getvalue()


def _cells(figures: dict[str, Any]) -> list[Any]:
    return ["" if figures.get(c) is None else figures[c] for c in CSV_COLUMNS[4:]]
