"""The alerts' thread in each server worker: evaluates the rules (routing/reporting/alerts.py) every
`alerts.check_seconds` and posts each alert that fired or resolved to `alerts.webhook_url`.

A thread of its own, so a slow or dead webhook never delays a call's webhook or the ticker's
assignments. Each notice is claimed by one worker; a failed post (a network error, a timeout,
an answer other than 2xx) is retried with doubling waits, `alerts.webhook_attempts` times.
The body (docs/supervisors.md, "Alerts"):
{"event": "firing" | "resolved", "hotline": ..., "attempt": n, "alert": {id, rule, subject,
since, value, zh, en[, resolved_at]}}.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from flask import Flask

from ivr import services
from routing.engine import Engine

log = logging.getLogger("silverline.alerts")
POST_TIMEOUT_S = 5.0
Post = Callable[[str, dict[str, Any]], None]


def post_json(url: str, body: dict[str, Any]) -> None:
    """POST `body` as JSON; raise OSError unless the answer is 2xx."""
    data = json.dumps(body, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as response:  # noqa: S310
        if not 200 <= response.status < 300:
            raise OSError(f"the alert webhook answered {response.status}")


def deliver(engine: Engine, post: Post = post_json) -> int:
    """Post the notices due now; return how many were delivered."""
    url = engine.settings.alerts.webhook_url
    if not url:
        return 0
    sent = 0
    for notice in engine.alerts.due_notices():
        body = {
            "event": notice["event"],
            "hotline": engine.settings.hotline.name,
            "attempt": int(notice.get("attempt", 0)) + 1,
            "alert": notice["alert"],
        }
        try:
            post(url, body)
            sent += 1
        except (OSError, urllib.error.URLError) as exc:
            log.warning("alert webhook failed for %s: %s", notice["alert"]["id"], exc)
            engine.alerts.retry(notice)
    return sent


def start(app: Flask, every_s: float = 1.0) -> threading.Event:
    """Evaluate and deliver every `every_s` seconds in a daemon thread until the event is set."""
    stop = threading.Event()
    engine = services.of(app).engine

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                engine.alerts.evaluate()
                deliver(engine)
            except Exception:  # Redis away, a bug: the next round tries again
                log.exception("alerts round failed")

    threading.Thread(target=loop, name="silverline-alerts", daemon=True).start()
    return stop
