"""The command line's side of the local Twilio (`silverline twilio-local`): place callers
through it and follow them, as a person's phone would (ivr/simulator/core/service.py)."""

from __future__ import annotations

import base64
import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any
from urllib.parse import urlencode

from ivr.settings import Settings
from ivr.simulator.core.people import VirtualCaller

POLL_S = 0.25  # how often a followed call is read: a transcript line shows within this
TIMEOUT_S = 5.0


class LocalTwilioError(OSError):
    """The local Twilio is not there, or refused a request (the message says why)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # its HTTP status, if it answered


def local_url(settings: Settings) -> str:
    """Where the local Twilio is: the REST API the server uses, else the demo's own port."""
    return (
        settings.twilio.api_base_url or f"http://127.0.0.1:{settings.twilio.local_port}"
    ).rstrip("/")


class LocalTwilio:
    """An HTTP client of the local Twilio, with the account's credentials."""

    def __init__(self, base_url: str, account_sid: str, auth_token: str) -> None:
        self.base_url = base_url.rstrip("/")
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._auth = f"Basic {token}"

    @classmethod
    def of(cls, settings: Settings, base_url: str | None = None) -> LocalTwilio:
        secrets = settings.secrets
        return cls(base_url or local_url(settings), secrets.account_sid, secrets.auth_token)

    def about(self) -> dict[str, Any]:
        """What it says of itself; LocalTwilioError if nothing, or not a local Twilio, answers."""
        found = self._request("GET", "/local")
        if not found.get("local_twilio"):
            raise LocalTwilioError(f"{self.base_url} is not a local Twilio")
        return found

    def set_phones(self, phones: Mapping[str, Mapping[str, float]]) -> None:
        """How agents' phones answer: address ("*": all) -> answer_after, talk (seconds)."""
        self._request("POST", "/local/phones", json_body=dict(phones))

    def place(self, caller: VirtualCaller, session: str, delay: float = 0.0) -> dict[str, Any]:
        """A caller dials the hotline; the call as placed (its `sid`)."""
        body = {**caller_json(caller), "session": session, "delay": delay}
        return self._request("POST", "/local/calls", json_body=body)

    def call(self, sid: str) -> dict[str, Any]:
        """The call as it stands, transcript and errors included (keeps its session alive)."""
        return self._request("GET", f"/local/calls/{sid}")

    def session(self, name: str, *, open_it: bool = False) -> list[dict[str, Any]]:
        """The session's calls as they stand (keeps its callers on the line); `open_it`
        opens it if it is not open (else a session unknown or lapsed is a 404)."""
        query = "?open=1" if open_it else ""
        return list(self._request("GET", f"/local/sessions/{name}{query}")["calls"])

    def leave(self, name: str) -> list[str]:
        """Hang up the session's callers still on the line; their sids."""
        return list(self._request("DELETE", f"/local/sessions/{name}")["hung_up"])

    def set_rest(self, *, down: bool) -> None:
        """Take its REST API down (every request answers 503) or bring it back."""
        self._request("POST", "/local/rest", json_body={"down": down})

    def client(self, identity: str, button: str, leg: str = "") -> dict[str, Any]:
        """A console's phone: `on` (its beat) or a button for the agent's leg `leg`."""
        form = {"button": button, "leg": leg}
        return self._request("POST", f"/local/clients/{identity}", form=form)

    def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        data, kind = None, ""
        if json_body is not None:
            data, kind = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            data, kind = urlencode(form).encode(), "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base_url + path, data=data, method=method)
        req.add_header("Authorization", self._auth)
        if kind:
            req.add_header("Content-Type", kind)
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT_S) as res:
                found = json.loads(res.read())
        except urllib.error.HTTPError as err:
            said = f"{method} {path}: HTTP {err.code} {_said(err)}"
            raise LocalTwilioError(said, err.code) from err
        except (OSError, ValueError) as err:
            raise LocalTwilioError(f"no local Twilio at {self.base_url}: {err}") from err
        if not isinstance(found, dict):
            raise LocalTwilioError(f"{method} {path}: not a JSON object")
        return found


def _said(err: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(err.read()).get("error", ""))
    except (ValueError, AttributeError):
        return ""


def caller_json(caller: VirtualCaller) -> dict[str, Any]:
    """A virtual caller as the local Twilio's /local/calls takes it."""
    body = {k: v for k, v in asdict(caller).items() if k != "rng"}
    body["from"] = body.pop("number")
    body["patience_s"] = None if math.isinf(caller.patience_s) else caller.patience_s
    return body


def follow(
    local: LocalTwilio,
    sid: str,
    on_line: Callable[[dict[str, Any]], None] | None = None,
    limit_s: float = math.inf,
) -> dict[str, Any]:
    """Read the call every POLL_S until it has ended; hand each new transcript line to
    `on_line` as it comes. Returns the call as it ended (or as it stood at `limit_s`)."""
    shown: set[tuple[Any, ...]] = set()  # lines of several legs merge by time: not by index
    deadline = time.monotonic() + limit_s
    while True:
        call = local.call(sid)
        for line in call["transcript"]:
            key = tuple(line.values())
            if key not in shown and on_line is not None:
                on_line(line)
            shown.add(key)
        if call["ended"] or time.monotonic() >= deadline:
            return call
        time.sleep(POLL_S)
