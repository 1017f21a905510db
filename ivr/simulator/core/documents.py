"""A leg's TwiML documents: requested by signed webhook, checked, and their failures recorded.

A document that cannot be had (the connection fails, an HTTP error, a content type that is not
TwiML: https://www.twilio.com/docs/api/errors/12300, TwiML Twilio cannot parse or run:
https://www.twilio.com/docs/api/errors/12100) is an error in the debugger (`faults`). On the
call itself the fallback URL is then requested at once, with ErrorCode and ErrorUrl
(https://www.twilio.com/docs/usage/security/availability-reliability); without one the caller
hears Twilio's apology and the call ends. A failed wait, whisper or announcement document ends
only that document.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

from ivr.simulator.core import parse as twiml
from ivr.simulator.core.calls import Leg, standard_params
from ivr.simulator.core.steps import Fault, Fetch, Inline, Outcome, Target
from ivr.simulator.core.transport import Reply, Webhooks

APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
_TWIML_TYPES = {"text/xml", "application/xml", "text/html", "text/plain"}

Fetched = tuple[twiml.Document, str] | Fetch | str  # (document, its URL), a fallback, an Outcome


class Documents:
    """Fetch and check the documents of every leg; keep the debugger's faults."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self.webhooks: Webhooks | None = None  # set by Simulator.connect
        self.faults: list[Fault] = []
        self.waited = 0.0  # seconds the last webhook took to answer: the caller's silence

    def fetch(
        self,
        leg: Leg,
        target: Target,
        context: str,
        extra: Callable[[], dict[str, str]] | None = None,
    ) -> Fetched:
        """The next document, or the fallback to fetch, or Outcome.ERROR / END on failure."""
        if isinstance(target, Inline):
            return self._parse(leg, target.body, "", context)
        params = {**standard_params(leg), **(extra() if extra else {}), **target.params}
        reply = self.request(leg, target, params)
        if reply.error:
            return self._fail(leg, target.url, context, reply.error, reply.body)
        if not 200 <= reply.status < 300:
            return self._fail(leg, target.url, context, 11200, f"HTTP {reply.status}")
        if reply.content_type not in _TWIML_TYPES:
            return self._fail(leg, target.url, context, 12300, f"bad type {reply.content_type}")
        return self._parse(leg, reply.body, target.url, context)

    def request(self, leg: Leg, target: Fetch, params: dict[str, str]) -> Reply:
        """Send one signed webhook for `leg`; the reply is the caller's to use or ignore."""
        if self.webhooks is None:
            raise RuntimeError("the simulator is not connected to an app (call connect())")
        reply = self.webhooks.request(target.method, target.url, params)
        self.waited = reply.elapsed
        return reply

    def resolve(self, leg: Leg, base: str, url: str) -> str:
        """Absolute URL of `url` against the document's; REST TwiML needs absolute URLs."""
        if not base and not url.startswith(("http://", "https://")):
            self.fault(leg, url, 12200, f"relative URL {url!r} in TwiML given over REST")
        return urljoin(base, url)

    def fault(self, leg: Leg, url: str, code: int, message: str) -> None:
        """Record an error as Twilio's debugger shows it, and on the leg's transcript."""
        self.faults.append(Fault(self._now(), leg.sid, code, message, url))
        leg.errors.append(f"{code} {message}")
        leg.hear(self._now(), "error", f"{code}: {message}", url=url)

    def _parse(self, leg: Leg, body: str, url: str, context: str) -> Fetched:
        try:
            doc = twiml.parse(body, context)
        except twiml.TwimlError as err:
            return self._fail(leg, url, context, err.code, err.message)
        for warning in doc.warnings:
            self.fault(leg, url, warning.code, warning.message)
        return doc, url

    def _fail(self, leg: Leg, url: str, context: str, code: int, message: str) -> Fetch | str:
        """Record the error; try the fallback URL once; else the caller hears Twilio's apology."""
        self.fault(leg, url, code, message)
        if context == twiml.CALL and leg.fallback_url and url != leg.fallback_url:
            return Fetch(leg.fallback_url, "POST", {"ErrorCode": str(code), "ErrorUrl": url})
        if context == twiml.CALL:
            leg.hear(self._now(), "say", APPLICATION_ERROR, voice="twilio")
            return Outcome.END
        return Outcome.ERROR
