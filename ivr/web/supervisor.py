"""The supervisor dashboard: the page, its live event stream and the CSV export.

The page draws what `/supervisor/events` pushes: a server-sent event with the whole board
(ivr.dashboard) whenever it differs from the last one sent. The stream polls Redis every
half second of real time (a routing snapshot and one read of today's aggregates) and ends
after a few minutes; the browser reconnects at once, and the sign-in is checked again.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from ivr.services import engine
from ivr.web import audit, dashboard, spreadsheet
from ivr.web.auth import require_role
from ivr.web.streams import open_stream
from routing.exceptions import StoreUnavailable
from routing.queues.wrapup import csv_cell
from routing.reporting.queue_stats import CLASSES, Figures, Interval
from routing.settings import StatsSettings

bp = Blueprint("supervisor", __name__)

POLL_S = 0.5  # real seconds between polls: a change shows within a second
LIFETIME_S = 300.0  # a stream ends after this; EventSource reconnects (retry below)
CSV_COLUMNS = (
    "interval_start",
    "interval_end",
    "queue",
    "class",
    "offered",
    "answered",
    "answered_within_sl",
    "sl_seconds",
    "abandoned",
    "short_abandoned",
    "asa_s",
    "service_level",
    "abandon_rate",
    "max_wait_s",
    "callbacks_requested",
    "connected",
    "time_to_human_s",
    "time_to_human_p90_s",
    "wrap_up_codes",  # reasons agents gave after the interval's calls: claim=2;complaint=1
    # calls that never reached a queue (docs/statistics.md, "Every caller counted")
    "ivr_abandoned",
    "callbacks_booked",
    "after_hours_duty",
    "after_hours_hangup",
    "recordings_left",  # complaints recorded out of complaint hours
    # overflow (docs/routing.md): sent to a line, moved to another queue, moved in from one
    "overflowed",
    "moved_out",
    "moved_in",
)


@bp.get("/supervisor")
@require_role("supervisor")
def page() -> str:
    eng = engine()
    try:
        initial: dict[str, Any] | None = dashboard.Board(eng).build()
    except StoreUnavailable:
        initial = None
    return render_template(
        "supervisor.html",
        board=initial,
        queues=eng.settings.queues,
        bounds=eng.settings.stats.histogram_bounds,
        today=eng.stats.today().isoformat(),
        short_abandon_s=eng.settings.stats.short_abandon_seconds,
        interval_minutes=eng.settings.stats.interval_minutes,
    )


@bp.get("/supervisor/events")
@require_role("supervisor")
def events() -> Response:
    """The board as server-sent events, one whenever it changes."""
    config = current_app.config
    board = dashboard.Board(engine())

    def look() -> tuple[str, str]:
        data = _board_json(board)
        return data, _without_time(data)

    return open_stream(
        look,
        event=None,  # the page listens to plain messages (supervisor.js onmessage)
        poll_s=float(config.get("SILVERLINE_SSE_POLL_S", POLL_S)),
        lifetime_s=float(config.get("SILVERLINE_SSE_LIFETIME_S", LIFETIME_S)),
    )


def _board_json(board: dashboard.Board) -> str:
    try:
        return json.dumps(board.build(), ensure_ascii=False, separators=(",", ":"))
    except StoreUnavailable:
        return json.dumps({"error": "store unavailable"})


def _without_time(data: str) -> str:
    """The payload minus what changes every poll by itself: its "at" stamp and how long each
    agent has been in their state (the page counts that on from the last frame)."""
    parsed = json.loads(data)
    parsed.pop("at", None)
    for agent in parsed.get("agents", []):
        agent.pop("in_state_s", None)
    return json.dumps(parsed, sort_keys=True)


@bp.get("/supervisor/export.csv")
@require_role("supervisor")
def export_csv() -> Response | tuple[Response, int]:
    """Every interval of a date range as CSV: one row per interval and class."""
    eng = engine()
    try:
        start, end, queue = dashboard.range_query(eng, request.args)
    except ValueError as exc:
        return Response(f"{exc}\n", mimetype="text/plain"), 400
    rows = eng.stats.intervals(start, end, queue)
    ids = [f"{iv.start:%Y%m%dT%H%M}" for iv in rows]
    codes = eng.wrap_ups.by_class([queue] if queue else eng.stats.queues(), ids)
    text = intervals_csv(rows, eng.settings.stats, codes)
    response = Response(text, mimetype="text/csv")
    name = f"silverline-{queue or 'all'}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    audit.record("export", name, start=start.isoformat(), end=end.isoformat())
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def intervals_csv(
    intervals: list[Interval],
    stats: StatsSettings,
    wrap_ups: list[dict[str, dict[str, int]]] | None = None,
) -> str:
    """Intervals as CSV text, with local start and end times (and the wrap-up codes given)."""
    out = io.StringIO()
    writer = spreadsheet.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    size = timedelta(minutes=stats.interval_minutes)
    for i, iv in enumerate(intervals):
        for klass in CLASSES:
            codes = csv_cell(wrap_ups[i].get(klass, {})) if wrap_ups else ""
            writer.writerow(_csv_row(iv, klass, size, codes))
    return out.getvalue()


def _csv_row(iv: Interval, klass: str, size: timedelta, codes: str) -> list[object]:
    """One interval's row for one class of callers, in CSV_COLUMNS' order."""
    f = iv.figures[klass]
    return [
        iv.start.isoformat(),
        (iv.start + size).isoformat(),
        iv.queue,
        klass,
        f.offered,
        f.answered,
        f.answered_sl,
        "" if f.sl_seconds is None else f.sl_seconds,
        f.abandoned,
        f.short_abandoned,
        _num(f.asa_s, 1),
        _num(f.service_level, 4),
        _num(f.abandon_rate, 4),
        round(f.max_wait_s, 1),
        f.cb_requested,
        f.connected,
        _num(f.tth_s, 1),
        _num(f.tth_p90_s, 0),
        codes,
        *_unrouted(f),
        f.overflowed,
        f.moved_out,
        f.moved_in,
    ]


def _unrouted(f: Figures) -> tuple[int, ...]:
    """The counts of calls that never reached a queue, in CSV_COLUMNS' order."""
    return (f.ivr_abandoned, f.booked_callback, f.ah_duty, f.ah_hangup, f.complaint_recorded)


def _num(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"
