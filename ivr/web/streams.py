"""The pages' live event streams (server-sent events), bounded so the webhooks keep threads.

An open stream holds one of its worker's gthread threads for its whole life (two to five
minutes): 90 streams from one signed-in agent once took all 64 threads of the default server,
and signed `/voice/incoming` waited 15-20 s. So a stream first takes a slot in its worker's
`StreamSlots`: at most `server.stream_slots` at once (three quarters of the threads by
default) and `server.streams_per_user` for one user, which leaves the other threads to the
webhooks whatever the pages do. A stream beyond either cap is answered 429 at once (the page
tries again a few seconds later); the slot is given back when the response is closed, which
the WSGI server does however the stream ends (its lifetime, a shutdown, a client gone).
A stream also ends at its next poll once its session has (sign-out, new password, user
removed).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

from flask import Flask, current_app, jsonify
from flask import Response as FlaskResponse

from ivr import services
from ivr.web import auth

STREAMS_STOP = "silverline.streams_stop"
STREAM_SLOTS = "silverline.stream_slots"
# A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15.0
# Seconds a page is told to wait before trying a refused stream again.
RETRY_AFTER_S = 10
# What a page's stream looks at each poll: (the frame's data, its mark) - a new mark is a
# change worth sending - or None for "nothing to say" (Redis away for a moment).
Look = Callable[[], "tuple[str, str] | None"]


class StreamSlots:
    """The event streams one worker process serves at once: a cap in all and per user."""

    def __init__(self, total: int, per_user: int) -> None:
        self.total = total
        self.per_user = per_user
        self._lock = threading.Lock()
        self._open: Counter[str] = Counter()

    def take(self, user: str) -> Callable[[], None] | None:
        """A slot for one of `user`'s streams: its release (safe to call twice), or None."""
        with self._lock:
            if self._open.total() >= self.total or self._open[user] >= self.per_user:
                return None
            self._open[user] += 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if not released.is_set():
                    released.set()
                    self._open[user] -= 1
                    if self._open[user] <= 0:
                        del self._open[user]

        return release

    def open(self) -> int:
        """Streams open now."""
        with self._lock:
            return self._open.total()


def slots(app: Flask) -> StreamSlots:
    """The app's stream slots in this process (a forked worker counts its own)."""
    found = app.extensions.get(STREAM_SLOTS)
    if found is None:
        server = services.of(app).settings.server
        made = StreamSlots(server.stream_slots, server.streams_per_user)
        found = app.extensions.setdefault(STREAM_SLOTS, made)
    assert isinstance(found, StreamSlots)
    return found


def streams_stop(app: Flask) -> threading.Event:
    """The app's signal to its event streams: wait on it between polls, end when it is set."""
    found: threading.Event = app.extensions.setdefault(STREAMS_STOP, threading.Event())
    return found


def stop_streams(app: Flask) -> None:
    """End every event stream of `app` at its next poll (shutdown, a test's live server)."""
    streams_stop(app).set()


def open_stream(
    look: Look, *, event: str | None, poll_s: float, lifetime_s: float
) -> FlaskResponse:
    """The signed-in user's event stream of what `look` sees, or 429 when the caps are full."""
    user = auth.current_user()
    assert user is not None  # the view is guarded by require_role
    release = slots(current_app).take(user.name)
    if release is None:
        return _refused()
    try:
        frames = event_stream(
            look,
            event=event,
            poll_s=poll_s,
            lifetime_s=lifetime_s,
            stop=streams_stop(current_app),
            alive=auth.still_signed_in(),
        )
        # Not stream_with_context: `look` and `alive` carry what they need, and a request
        # context kept for minutes would outlive its request.
        response = stream_response(frames)
    except BaseException:
        release()
        raise
    response.call_on_close(release)
    return response


def _refused() -> FlaskResponse:
    response = jsonify(error="too many live pages open; the page tries again shortly")
    response.status_code = 429
    response.headers["Retry-After"] = str(RETRY_AFTER_S)
    return response


def event_stream(
    look: Look,
    *,
    event: str | None,
    poll_s: float,
    lifetime_s: float,
    stop: threading.Event,
    alive: Callable[[], bool] = lambda: True,
) -> Iterator[str]:
    """Server-sent events: what `look` sees at once, then whenever its mark changes, until
    `lifetime_s` (the browser's EventSource then reconnects), `stop` is set (shutdown) or
    `alive` says the session has ended.

    `event` names the frames (None: the default "message" event). Between looks it waits
    `poll_s` of real time on `stop`: the engine's clock is its own.
    """
    yield "retry: 1000\n\n"
    started = last_sent = time.monotonic()
    sent = ""
    while True:
        seen = look()
        now = time.monotonic()
        if seen is not None and seen[1] != sent:
            sent, last_sent = seen[1], now
            yield (f"event: {event}\n" if event else "") + f"data: {seen[0]}\n\n"
        elif now - last_sent >= KEEPALIVE_S:
            last_sent = now
            yield ": keep-alive\n\n"
        if now - started >= lifetime_s or stop.wait(poll_s) or not alive():
            return


def stream_response(frames: Iterator[str]) -> FlaskResponse:
    """An event stream's response: never cached, never buffered by a proxy."""
    response = FlaskResponse(frames, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass events through at once
    return response
