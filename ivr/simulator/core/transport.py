"""Deliver webhooks as Twilio does: signed, form-encoded, over HTTP or a Flask test client."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

from flask import Flask
from twilio.request_validator import RequestValidator

MAX_REDIRECTS = 10
TIMEOUT_S = 15.0  # Twilio's default read timeout


NO_ANSWER = 599  # the status of a Reply that is not the server's: `error` says why


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, media type (no parameters), body, and headers we need.

    Without an HTTP answer to show (the server refused the connection, timed out, redirected
    too often), the status is NO_ANSWER, `error` Twilio's error code and the body its message.
    """

    status: int
    content_type: str
    body: str
    location: str = ""
    error: int = 0
    elapsed: float = 0.0  # simulated seconds the server spent before answering


class Transport(Protocol):
    """Sends one HTTP request; never follows redirects itself."""

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply: ...


class FlaskTransport:
    """Requests through a Flask app's test client, in-process.

    `meter` reads the simulated seconds spent on the app's behalf so far (REST latency,
    Simulator.rest_charged): what accrues before the answer is the webhook's elapsed time.
    The response is then closed, as a WSGI server closes it once sent; work the app put off
    until then (Werkzeug's call_on_close) runs there, outside the webhook's time.
    """

    def __init__(self, app: Flask, meter: Callable[[], float] | None = None) -> None:
        self._client = app.test_client()
        self._meter = meter or (lambda: 0.0)

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        before = self._meter()
        res = self._client.open(url, method=method, data=dict(form) or None, headers=headers)
        reply = Reply(
            res.status_code,
            res.mimetype or "",
            res.get_data(as_text=True),
            res.location or "",
            elapsed=self._meter() - before,
        )
        res.close()
        return reply


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class HttpTransport:
    """Requests over real HTTP to a running server."""

    def __init__(self, timeout: float = TIMEOUT_S) -> None:
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        data = urlencode(form).encode() if method == "POST" else None
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self._opener.open(req, timeout=self._timeout) as res:
                return _reply(res.status, res.headers, res.read())
        except urllib.error.HTTPError as err:
            return _reply(err.code, err.headers, err.read())
        except OSError as err:  # refused, reset, timed out: Twilio's "HTTP connection failure"
            reason = err.reason if isinstance(err, urllib.error.URLError) else err
            return Reply(NO_ANSWER, "", f"HTTP connection failure: {reason}", error=11205)


def _reply(status: int, headers: Any, raw: bytes) -> Reply:
    media = (headers.get("Content-Type") or "").split(";")[0].strip()
    return Reply(status, media, raw.decode("utf-8", "replace"), headers.get("Location") or "")


class Webhooks:
    """Sign and send Twilio's requests; follow redirects like Twilio (POST fields are lost)."""

    def __init__(self, transport: Transport, auth_token: str) -> None:
        self.transport = transport
        self._validator = RequestValidator(auth_token)

    def request(self, method: str, url: str, params: Mapping[str, str]) -> Reply:
        """Send `params` to `url`; a 3xx is followed with GET and no fields, up to 10 times."""
        method = method.upper()
        for _ in range(MAX_REDIRECTS + 1):
            reply = self._send_signed(method, url, params)
            if reply.elapsed > TIMEOUT_S:  # the answer came too late: Twilio gave up on it
                return Reply(NO_ANSWER, "", f"no answer within {TIMEOUT_S:.0f} s", error=11205)
            if reply.status not in (301, 302, 303, 307, 308) or not reply.location:
                return reply
            url, method, params = urljoin(url, reply.location), "GET", {}
        return Reply(NO_ANSWER, "", "HTTP too many redirects", error=11215)

    def _send_signed(self, method: str, url: str, params: Mapping[str, str]) -> Reply:
        form: dict[str, str] = {}
        if method == "GET":
            url = with_query(url, params)
        else:
            form = dict(params)
        url = _drop_fragment(url)  # connection overrides (#rc=...) are not sent
        headers = {
            "X-Twilio-Signature": self._validator.compute_signature(url, form),
            "User-Agent": "TwilioProxy/1.1",
            "I-Twilio-Idempotency-Token": "silverline-simulator",
        }
        return self.transport.send(method, url, form, headers)


def with_query(url: str, params: Mapping[str, str]) -> str:
    """`url` with `params` appended to its query string."""
    if not params:
        return url
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _drop_fragment(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))
