"""The demo phone: with no Twilio account, the agent console answers the offline Twilio's calls.

The console beats `POST /agent/phone` while it is open and sends its buttons there (Answer,
Decline, Hang up, each for one call). With a local Twilio (`silverline twilio-local`, which
demo mode's `silverline serve` starts and points `twilio.api_base_url` at) the server hands
each beat and button to it (`LocalPhone`), as Twilio's Voice SDK registers a client: the
local Twilio rings the console's phone only when the agent's leg is really placed, says so
in its answer, and a button acts on that leg at once. Without one, the buttons are kept in
Redis (`{p}:demophone:<agent>`) for an offline Twilio on the same store: the phone of
client:<agent> rings until the agent clicks instead of answering by itself. An agent flagged
auto-answer, with no console open, answers at once.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from redis.exceptions import RedisError

from ivr.settings import Settings
from routing.engine import Engine
from routing.exceptions import StoreUnavailable

BEAT_SECONDS = 10  # the console's beat
ALIVE_MS = 30_000  # the phone counts as on this long after a beat: three beats may be lost
BUTTONS = ("answer", "decline", "hangup")
LOCAL_TIMEOUT_S = 2.0  # the console beats again soon: a slow answer is not worth a thread


class LocalPhone:
    """The console's phone as a client of the local Twilio (`POST /local/clients/<id>`)."""

    def __init__(self, base_url: str, account_sid: str, auth_token: str) -> None:
        self._url = base_url.rstrip("/") + "/local/clients/"
        token = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._auth = f"Basic {token}"

    @classmethod
    def of(cls, settings: Settings) -> LocalPhone | None:
        """The local Twilio's phone, if the REST API is pointed somewhere in demo mode."""
        if not (settings.secrets.demo and settings.twilio.api_base_url):
            return None
        s = settings.secrets
        return cls(settings.twilio.api_base_url, s.account_sid, s.auth_token)

    def send(
        self, agent_id: str, button: str, leg: str, purpose: str = ""
    ) -> tuple[int, dict[str, Any]] | None:
        """Beat (`on`), press `button` for the agent's leg `leg`, or `connect` (an outgoing
        call with `purpose`): (status, the phone's state: ringing and talking legs); None
        when no local Twilio answers there."""
        body = urlencode({"button": button, "leg": leg, "purpose": purpose}).encode()
        req = urllib.request.Request(self._url + quote(agent_id, safe=""), data=body)
        req.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(req, timeout=LOCAL_TIMEOUT_S) as res:
                return res.status, _object(res.read())
        except urllib.error.HTTPError as err:
            found = _object(err.read())
            return (err.code, found) if found.get("error") and err.code in (400, 409) else None
        except OSError:
            return None


def _object(raw: bytes) -> dict[str, Any]:
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class DemoPhones:
    """The consoles' demo phones, in Redis so a separate offline Twilio process sees them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def beat(self, agent_id: str) -> None:
        """The console is open: the phone is on for ALIVE_MS more."""
        key = self.engine.keys.demo_phone(agent_id)
        self._do(
            lambda: self.engine.redis.pipeline().hset(key, "on", 1).pexpire(key, ALIVE_MS).execute()
        )

    def is_on(self, agent_id: str) -> bool:
        key = self.engine.keys.demo_phone(agent_id)
        return bool(self._do(lambda: self.engine.redis.hexists(key, "on")))

    def ring(self, agent_id: str, on: bool) -> None:
        """The offline Twilio rings the agent's phone (`on`), or has stopped ringing it."""
        key = self.engine.keys.demo_phone(agent_id)
        if on:
            self._do(lambda: self.engine.redis.hset(key, "ringing", 1))
        else:
            self._do(lambda: self.engine.redis.hdel(key, "ringing"))

    def state(self, agent_id: str) -> dict[str, Any]:
        """The phone as a local Twilio's answer gives it: the call ringing, the call talking
        (the agent's call's sid); ringing only while the offline Twilio really rings it."""
        key = self.engine.keys.demo_phone(agent_id)
        rings = bool(self._do(lambda: self.engine.redis.hexists(key, "ringing")))
        current = self.engine.agents.state(agent_id)
        sid = current.call_sid or None
        return {
            "ringing": sid if rings and current.state == "offered" else None,
            "talking": sid if current.state == "on_call" else None,
        }

    def press(self, agent_id: str, button: str, call_sid: str) -> None:
        """Press `button` for the call `call_sid` (a press for another call is ignored)."""
        if button not in BUTTONS:
            raise ValueError(f"unknown button {button!r}")
        key = self.engine.keys.demo_phone(agent_id)
        pressed = json.dumps({"b": button, "sid": call_sid})
        self._do(lambda: self.engine.redis.hset(key, "pressed", pressed))

    def pressed(self, agent_id: str) -> str:
        """The button last pressed for the agent's current call, or ""."""
        raw = self._do(
            lambda: self.engine.redis.hget(self.engine.keys.demo_phone(agent_id), "pressed")
        )
        if not raw:
            return ""
        data = json.loads(str(raw))
        current = self.engine.agents.state(agent_id).call_sid
        return str(data["b"]) if current and data.get("sid") == current else ""

    @staticmethod
    def _do(command: Callable[[], object]) -> object:
        try:
            return command()
        except RedisError as exc:
            raise StoreUnavailable(f"Redis did not answer a demo phone request: {exc}") from exc


def _buttons(phones: DemoPhones, agent_id: str) -> str:
    """The button pressed; "hangup" once the console has gone (the agent left the call)."""
    return phones.pressed(agent_id) or ("" if phones.is_on(agent_id) else "hangup")


def phone_options(engine: Engine) -> Callable[[str], dict[str, object]]:
    """What the offline Twilio's phone at an address does, from the agent's own settings."""
    phones = DemoPhones(engine)

    def options(address: str) -> dict[str, object]:
        if not address.startswith("client:"):
            return {}
        agent_id = address.removeprefix("client:")
        agent = engine.agents.get(agent_id)
        if agent is None:
            return {}
        if phones.is_on(agent_id):  # a person at the console: their clicks answer
            return {
                "buttons": lambda: _buttons(phones, agent_id),
                "rings": lambda on: phones.ring(agent_id, on),
            }
        line: dict[str, object] = {"open_line": True} if agent.persistent else {}
        return {"answer_delay_s": (0.0, 0.0), **line} if agent.auto_answer else line

    return options
