"""A background beat in each server worker: assignments that no webhook would trigger.

Waiting callers poll their wait URL, and every poll runs an assignment; but a call-back
entry waits with nobody on the line, an agent's wrap-up ends with nobody polling, and
out-of-hours call-back requests must join the queue when the hotline opens, open lines that
could not be placed must be placed again (ivr/call/open_line.py), reports
that arrived while Redis was away (ivr/call/spool.py) must be applied once it is back, and calls
whose end report never came must be looked up (ivr/call/reconcile.py). The beat covers those.
Assignment is atomic in Redis, so several workers beating at once is harmless.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import UTC, datetime

from flask import Flask

from ivr import services
from ivr.call import dispatch, reconcile, spool
from routing.engine import Engine
from routing.queues.callbacks import CallbackRequest
from routing.queues.complaints import complaints_open
from routing.queues.hours import is_open
from routing.settings import EngineSettings

log = logging.getLogger("silverline.ticker")
TICKER_TTL_MS = 60_000  # the beat's trace: `silverline doctor` calls a ticker silent for 10 s dead


def beat(app: Flask, base: str) -> None:
    """One beat: queue opened-hours call-backs, run assignment, act on what it decided."""
    with app.app_context():
        found = services.of(app)
        eng = found.engine
        eng.redis.set(eng.keys.ticker(), int(eng.clock.now().timestamp() * 1000), px=TICKER_TTL_MS)
        spool.replay(app, base)
        telephony = found.telephony
        if telephony.enabled:
            # Without a REST API (demo mode, no offline Twilio) a call-back cannot be placed:
            # queued, it would sit on the dashboard as a senior waiting on the line, which
            # nobody is. It stays a pending request, shown as such (dashboard.py).
            release_after_hours(eng)
        reconcile.reconcile(eng, telephony)
        eng.privacy.enforce_due()  # data past its retention that Redis does not expire
        eng.softphones.sweep()  # agents whose phone stopped beating are offered nobody
        dispatch.act_on(eng.router.tick(), base)
        if telephony.enabled:  # a return visit and an open line are calls placed through REST
            dispatch.act_on(eng.visits.start(), base)
            # the lines no webhook will place: one that failed to be placed, or whose
            # placing went unreported (a claim expires after 30 s)
            dispatch.sync_lines(base)


def release_after_hours(eng: Engine) -> int:
    """Once the hotline is open, queue out-of-hours call-back requests; return how many."""
    s = eng.settings
    if not is_open(eng.clock.now(), s.business_hours, s.tz):
        return 0
    released = 0
    complaints = complaints_open(eng.clock.now(), s)
    for req in eng.callbacks.pending():
        if req.queue == "complaints" and not complaints:
            continue  # kept until the complaint queue's own hours (ivr.complaint_hours)
        if not eng.callbacks.take(req.call_sid):
            continue  # another worker took it
        # the directory again, so the agent's banner and whisper name the customer
        found = eng.directory.identify(req.number, eng.clock.now())
        caller = dataclasses.replace(found, dialect=req.dialect, senior=req.senior or found.senior)
        queue = req.queue or ("senior" if req.senior else "general")
        eng.router.arrive(req.call_sid, caller, queue, entered=_entered(req, queue, s))
        eng.router.request_callback(req.call_sid)
        released += 1
    return released


def _entered(req: CallbackRequest, queue: str, s: EngineSettings) -> datetime | None:
    """A caller who hung up waiting while their queue was open keeps their place in line
    (routing/queues/abandoned.py books them with their entry time); a request made while the
    queue was closed joins now (None), or its wait would count the night."""
    asked = datetime.fromtimestamp(req.requested_ms / 1000, UTC)
    if queue == "complaints":
        return asked if complaints_open(asked, s) else None
    return asked if is_open(asked, s.business_hours, s.tz) else None


def start(app: Flask, base: str, every_s: float = 1.0) -> threading.Event:
    """Beat every `every_s` seconds in a daemon thread until the returned event is set."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(every_s):
            try:
                beat(app, base)
            except Exception:  # a failed beat (Redis down) must not end the thread
                log.exception("ticker beat failed")

    threading.Thread(target=loop, name="silverline-ticker", daemon=True).start()
    return stop
