"""Deliver webhooks as Twilio does: signed, form-encoded, over HTTP or a Flask test client."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import io
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote_plus, unquote_to_bytes, urljoin, urlsplit, urlunsplit

from flask import Flask

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
        self._app = app
        self._meter = meter or (lambda: 0.0)

    def send(
        self, method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
    ) -> Reply:
        # Straight to the WSGI callable with a hand-built environ, as a WSGI server calls it:
        # the test client's request builder cost more than a third of the app's own work
        # per webhook in a traffic run (BENCHMARKS.md, the simulated day).
        before = self._meter()
        started: list[Any] = []

        def start_response(status: str, head: list[tuple[str, str]], *_: Any) -> Any:
            started.extend((status, head))
            return None

        chunks = self._app.wsgi_app(_environ(method, url, form, headers), start_response)
        try:
            body = b"".join(chunks)
            elapsed = self._meter() - before  # the answer is out: what follows is not its time
        finally:
            getattr(chunks, "close", lambda: None)()  # Werkzeug's call_on_close runs here
        status, head = started
        found = {k.lower(): v for k, v in head}
        media = found.get("content-type", "").split(";")[0].strip()
        return Reply(
            int(status.split()[0]), media, body.decode(), found.get("location", ""), elapsed=elapsed
        )


def _environ(
    method: str, url: str, form: Mapping[str, str], headers: dict[str, str]
) -> dict[str, Any]:
    """The WSGI environ of a request to `url` (PEP 3333), the form url-encoded."""
    parts = urlsplit(url)
    data = urlencode(form).encode() if form else b""
    default_port = "443" if parts.scheme == "https" else "80"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(parts.path or "/").decode("latin-1"),
        "QUERY_STRING": parts.query,
        "SERVER_NAME": parts.hostname or "localhost",
        "SERVER_PORT": str(parts.port or default_port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": parts.netloc,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": parts.scheme or "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if data:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
        environ["CONTENT_LENGTH"] = str(len(data))
    for name, value in headers.items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


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


def urlencode(form: Mapping[str, str]) -> str:
    """`form` as application/x-www-form-urlencoded, as urllib's urlencode writes it.

    Each name and value is quoted once per run (`_quoted`): a call's webhooks repeat the same
    twenty-odd fields, and quoting them afresh was a tenth of a traffic run's CPU (BENCHMARKS.md,
    section 9).
    """
    return "&".join(_quoted(str(k)) + "=" + _quoted(str(v)) for k, v in form.items())


@functools.lru_cache(maxsize=65536)
def _quoted(text: str) -> str:
    return quote_plus(text)


def signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """X-Twilio-Signature as Twilio documents it: HMAC-SHA1 keyed with the auth token over the
    URL followed by every POST field's name and value, sorted by name, base64-encoded
    (https://www.twilio.com/docs/usage/webhooks/webhooks-security). Written from the page, not
    taken from twilio's RequestValidator, so the app's check is tested against the documented
    scheme rather than against itself (tests/helpers/fakeapp.py validates with the library).
    """
    signed = url + "".join(k + str(form[k]) for k in sorted(form))
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


class Webhooks:
    """Sign and send Twilio's requests; follow redirects like Twilio (POST fields are lost)."""

    def __init__(self, transport: Transport, auth_token: str) -> None:
        self.transport = transport
        self._token = auth_token

    def request(self, method: str, url: str, params: Mapping[str, str]) -> Reply:
        """Send `params` to `url`; a 3xx is followed with GET and no fields, up to 10 times."""
        method = method.upper()
        for _ in range(MAX_REDIRECTS + 1):
            reply = self._send_signed(method, url, params)
            if reply.elapsed > TIMEOUT_S:  # the answer came too late: Twilio gave up on it
                late = f"no answer within {TIMEOUT_S:.0f} s"
                return Reply(NO_ANSWER, "", late, error=11205, elapsed=TIMEOUT_S)
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
            "X-Twilio-Signature": signature(self._token, url, form),
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
