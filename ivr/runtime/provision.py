"""`silverline twilio setup`'s work: point the hotline's number at this deployment and give the
console's softphone its API key and TwiML App, through Twilio's REST API.

Everything is read first (the account, the number, the key, the app) and compared with what
this deployment needs; only then is anything written, key and app before the number, and a
failure part-way deletes what this run created, so an account is never left half set up.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from ivr.settings import Settings
from routing.exceptions import SilverlineError

APP_NAME = "Silverline softphone"
KEY_NAME = "Silverline softphone"
# The number's voice webhooks (docs/deploy.md): attribute, update argument, path, method.
HOOKS = (
    ("voice_url", "voice_url", "/voice/incoming"),
    ("voice_fallback_url", "voice_fallback_url", "/voice/fallback"),
    ("status_callback", "status_callback", "/voice/status"),
)
METHODS = ("voice_method", "voice_fallback_method", "status_callback_method")
# The TwiML App's: the softphone's outgoing call (its open line) and that call's end. A Voice
# SDK call is sent to the app's Voice URL (https://www.twilio.com/docs/voice/sdks), and the
# app's StatusCallback is "the URL we call ... to send status information to your
# application" (https://www.twilio.com/docs/usage/api/applications).
APP_HOOKS = (("voice_url", "/voice/softphone-line"), ("status_callback", "/voice/open-line-status"))


class SetupError(SilverlineError):
    """The account cannot be set up as asked; nothing was changed."""


@dataclass(frozen=True)
class Change:
    """One thing the set-up changes: what, from what, to what."""

    what: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.what}: {self.before or '(none)'} -> {self.after}"


@dataclass
class Plan:
    """What the account lacks, found by reading only."""

    number: str
    number_sid: str
    number_updates: dict[str, str] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    create_key: bool = False
    app_sid: str = ""  # an app already right; "" when one is to be created
    app_updates: dict[str, str] = field(default_factory=dict)  # for app_sid, if not right
    environment: dict[str, str] = field(default_factory=dict)  # lines the server needs


def check_public_url(url: str) -> str:
    """The public base URL without a trailing slash, or SetupError: Twilio must reach it over
    https (browsers give the console's microphone only to secure pages, docs/agents.md)."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise SetupError(f"--public-url must be an https:// URL, not {url!r}")
    if parts.query or parts.fragment:
        raise SetupError(f"--public-url must be a base URL without ?query or #fragment: {url!r}")
    host = parts.hostname
    try:
        private = ipaddress.ip_address(host.strip("[]")).is_private
    except ValueError:
        private = host == "localhost" or host.endswith(".localhost")
    if private:
        raise SetupError(f"--public-url {url!r} is not reachable from Twilio's cloud")
    return url.rstrip("/")


def webhooks(base: str) -> dict[str, str]:
    """The number's webhook URLs for the deployment at `base`."""
    return {attr: base + path for attr, _, path in HOOKS}


def plan(client: Client, settings: Settings, number: str, base: str) -> Plan:
    """Read the account and return what must change (requests made: GET only)."""
    account = client.api.v2010.accounts(settings.secrets.account_sid)
    _call(account.fetch, "the account's credentials (TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN)")
    found = _call(lambda: account.incoming_phone_numbers.list(phone_number=number), "the number")
    owned = [n for n in found if n.phone_number == number]
    if not owned:
        raise SetupError(
            f"the account does not own {number}: buy or port it, or pass the number it owns"
        )
    pn = owned[0]
    result = Plan(number, pn.sid)
    for attr, url in webhooks(base).items():
        if getattr(pn, attr) != url:
            result.number_updates[attr] = url
            result.changes.append(Change(f"{number} {attr}", getattr(pn, attr) or "", url))
    for attr in METHODS:
        if (getattr(pn, attr) or "POST").upper() != "POST":
            result.number_updates[attr] = "POST"
            result.changes.append(Change(f"{number} {attr}", getattr(pn, attr), "POST"))
    _plan_key(result, account, settings)
    _plan_app(result, account, settings, base)
    if settings.twilio.base != base:
        result.environment["SILVERLINE_PUBLIC_URL"] = base
    if settings.twilio.caller_id != number:
        result.environment["SILVERLINE__TWILIO__CALLER_ID"] = number
    return result


def _plan_key(result: Plan, account: Any, settings: Settings) -> None:
    """A key is created unless the environment names one that exists, with its secret (the
    secret cannot be read back: Twilio shows it only when the key is created)."""
    s = settings.secrets
    if s.twilio_api_key_sid and s.twilio_api_key_secret:
        try:
            account.keys(s.twilio_api_key_sid).fetch()
            return
        except TwilioRestException as exc:
            if exc.status != 404:
                sid = s.twilio_api_key_sid
                raise SetupError(f"could not read API key {sid}: {exc.msg}") from exc
    result.create_key = True
    result.changes.append(Change("API key", s.twilio_api_key_sid, f'create "{KEY_NAME}"'))


def _plan_app(result: Plan, account: Any, settings: Settings, base: str) -> None:
    """Reuse the app the environment names, or one of ours; point its URLs here if not."""
    hooks = {attr: base + path for attr, path in APP_HOOKS}
    wanted = settings.secrets.twilio_twiml_app_sid
    apps = _call(lambda: account.applications.list(friendly_name=APP_NAME), "the TwiML Apps")
    if wanted:
        try:
            apps = [account.applications(wanted).fetch(), *apps]
        except TwilioRestException as exc:
            if exc.status != 404:
                raise SetupError(f"could not read TwiML App {wanted}: {exc.msg}") from exc
    if not apps:
        url = hooks["voice_url"]
        result.changes.append(Change("TwiML App", wanted, f'create "{APP_NAME}" -> {url}'))
        return
    right = [a for a in apps if all(getattr(a, k) == v for k, v in hooks.items())]
    app = (right or apps)[0]
    result.app_sid = app.sid
    if app.sid != wanted:
        result.environment["TWILIO_TWIML_APP_SID"] = app.sid
    for attr, url in hooks.items():
        if getattr(app, attr) != url:
            result.app_updates[attr] = url
            result.changes.append(Change(f"TwiML App {app.sid} {attr}", getattr(app, attr), url))


def apply(client: Client, settings: Settings, todo: Plan, base: str) -> dict[str, str]:
    """Make the planned changes; return the environment lines to set (secrets among them).

    Key and app first, the number last: a refused key leaves the number as it was, and a
    failure after them deletes the key and app this run created.
    """
    account = client.api.v2010.accounts(settings.secrets.account_sid)
    env = dict(todo.environment)
    undo: list[Callable[[], Any]] = []
    try:
        if todo.create_key:
            key = _call(lambda: account.new_keys.create(friendly_name=KEY_NAME), "an API key")
            undo.append(account.keys(key.sid).delete)
            env["TWILIO_API_KEY_SID"], env["TWILIO_API_KEY_SECRET"] = key.sid, key.secret
        _apply_app(account, todo, base, env, undo)
        if todo.number_updates:
            number = account.incoming_phone_numbers(todo.number_sid)
            _call(lambda: number.update(**todo.number_updates), f"number {todo.number}")
    except SetupError as exc:
        left = 0
        for step in reversed(undo):
            try:
                step()
            except (TwilioException, OSError):
                left += 1
        if left:
            raise SetupError(
                f"{exc}; what this run created could not all be deleted: delete the "
                f'"{KEY_NAME}" key and TwiML App in the Console'
            ) from exc
        raise
    return env


def _apply_app(
    account: Any, todo: Plan, base: str, env: dict[str, str], undo: list[Callable[[], Any]]
) -> None:
    """Create the TwiML App (to be deleted if a later step fails), or point ours here."""
    if not todo.app_sid:
        app = _call(
            lambda: account.applications.create(
                friendly_name=APP_NAME,
                voice_method="POST",
                status_callback_method="POST",
                **{attr: base + path for attr, path in APP_HOOKS},
            ),
            "a TwiML App",
        )
        undo.append(account.applications(app.sid).delete)
        env["TWILIO_TWIML_APP_SID"] = app.sid
    elif todo.app_updates:
        app_sid, updates = todo.app_sid, todo.app_updates
        _call(lambda: account.applications(app_sid).update(**updates), "the TwiML App")


def _call(request: Callable[[], Any], what: str) -> Any:
    """Run one REST request; a refusal or a network failure becomes SetupError naming `what`."""
    try:
        return request()
    except TwilioRestException as exc:
        hint = " (not permitted with these credentials)" if exc.status in (401, 403) else ""
        raise SetupError(f"Twilio refused {what}{hint}: {exc.msg} (error {exc.code})") from exc
    except (TwilioException, OSError) as exc:
        raise SetupError(f"could not reach Twilio's API for {what}: {exc}") from exc
