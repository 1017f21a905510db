"""Reports Twilio sent while Redis was away, kept in memory and replayed once it is back.

A call that ends during an outage tells the app so only once: the <Dial> action, the queue's
hang-up, the status callback. Lost, they would leave an agent "on call" and a caller
"waiting" for ever. So when Redis fails inside one of those report webhooks the request is
kept here (per process, bounded), and the ticker replays it through the same view once Redis
answers again. Every engine step is idempotent, so a report that also arrives some other
way counts once.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass

import redis
from flask import Flask, request
from werkzeug.datastructures import MultiDict

from routing.exceptions import StoreUnavailable

log = logging.getLogger("silverline.spool")

EXTENSION = "silverline.spool"
# Webhooks that report what happened to a call; their answers do not steer the call.
REPORTS = frozenset(
    {"voice.status", "voice.dial_result", "voice.queue_result", "voice.callback_status"}
)
STORE_ERRORS = (StoreUnavailable, redis.RedisError)


@dataclass(frozen=True)
class Report:
    """One report webhook as it arrived: which view, its query string and form fields."""

    endpoint: str
    path: str
    query: str
    form: tuple[tuple[str, str], ...]


class Spool:
    """A bounded, thread-safe list of reports waiting for Redis."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._reports: deque[Report] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._reports)

    def keep(self, report: Report) -> None:
        with self._lock:
            self._reports.append(report)

    def take(self) -> list[Report]:
        with self._lock:
            out = list(self._reports)
            self._reports.clear()
            return out

    def put_back(self, reports: list[Report]) -> None:
        with self._lock:
            self._reports.extendleft(reversed(reports))


def spool_of(app: Flask) -> Spool:
    """The app's spool, made on first use."""
    found: Spool = app.extensions.setdefault(EXTENSION, Spool())
    return found


def keep_if_report(app: Flask, exc: BaseException) -> bool:
    """Inside a failed webhook: keep it for replay if it is a report Redis could not take."""
    if request.endpoint not in REPORTS or not isinstance(exc, STORE_ERRORS):
        return False
    form = tuple((k, v) for k, values in request.form.lists() for v in values)
    query = request.query_string.decode("latin-1")
    spool_of(app).keep(Report(request.endpoint, request.path, query, form))
    return True


def replay(app: Flask, base: str) -> int:
    """Run kept reports through their views (signature already checked); return how many.

    Stops at the first that Redis still cannot take, keeping it and the rest for next time.
    """
    spool = spool_of(app)
    pending = spool.take()
    for done, report in enumerate(pending):
        view = app.view_functions[report.endpoint]
        inner = getattr(view, "__wrapped__", view)  # past the signature check and fallback
        try:
            with app.test_request_context(
                report.path,
                base_url=base,
                method="POST",
                query_string=report.query,
                data=MultiDict(report.form),
            ):
                inner()
        except STORE_ERRORS:
            spool.put_back(pending[done:])
            return done
        except Exception:  # a report that cannot be applied must not block the others
            log.exception("dropping a kept %s report that failed on replay", report.endpoint)
    return len(pending)
