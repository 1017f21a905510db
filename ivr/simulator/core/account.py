"""The account's own REST resources: the Account, its numbers' settings, API keys, TwiML Apps.

What an operator's set-up reads and writes, as Twilio's API reference describes it:
- Account (https://www.twilio.com/docs/iam/api/account): fetch, to learn the credentials work;
- IncomingPhoneNumbers (https://www.twilio.com/docs/phone-numbers/api/incomingphonenumber-resource):
  list (PhoneNumber filter: partial numbers, `*` for any digit), fetch, update VoiceUrl,
  VoiceFallbackUrl, StatusCallback and their methods; an update changes where the next call
  to the number goes;
- Keys (https://www.twilio.com/docs/usage/api/keys): create a Standard key, whose secret is
  returned only then; fetch. A Standard key authenticates every request except those to
  Accounts and Keys, which need the account's own credentials (or a Main key);
- Applications (https://www.twilio.com/docs/usage/api/applications): list (FriendlyName
  filter), create, fetch, update (VoiceUrl, StatusCallback, ...); at most 1000 per account.
  A Voice SDK's outgoing call runs the app's Voice URL (Simulator.client_call).
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from ivr.simulator.core.calls import API_VERSION
from ivr.simulator.core.steps import Number

MAX_APPLICATIONS = 1000
_PREFIX = rf"^/{API_VERSION}/Accounts/(?P<ac>AC\w+)"
ROUTES = [
    ("GET", re.compile(_PREFIX + r"\.json$"), "fetch_account"),
    ("GET", re.compile(_PREFIX + r"/IncomingPhoneNumbers\.json$"), "list_numbers"),
    ("GET", re.compile(_PREFIX + r"/IncomingPhoneNumbers/(?P<pn>PN\w+)\.json$"), "fetch_number"),
    ("POST", re.compile(_PREFIX + r"/IncomingPhoneNumbers/(?P<pn>PN\w+)\.json$"), "update_number"),
    ("POST", re.compile(_PREFIX + r"/Keys\.json$"), "create_key"),
    ("GET", re.compile(_PREFIX + r"/Keys/(?P<sk>SK\w+)\.json$"), "fetch_key"),
    ("DELETE", re.compile(_PREFIX + r"/Keys/(?P<sk>SK\w+)\.json$"), "delete_key"),
    ("GET", re.compile(_PREFIX + r"/Applications\.json$"), "list_applications"),
    ("POST", re.compile(_PREFIX + r"/Applications\.json$"), "create_application"),
    ("GET", re.compile(_PREFIX + r"/Applications/(?P<ap>AP\w+)\.json$"), "fetch_application"),
    ("POST", re.compile(_PREFIX + r"/Applications/(?P<ap>AP\w+)\.json$"), "update_application"),
    ("DELETE", re.compile(_PREFIX + r"/Applications/(?P<ap>AP\w+)\.json$"), "delete_application"),
]
MAIN_ONLY = {"fetch_account", "create_key", "fetch_key", "delete_key"}  # refused to a Standard key
_NUMBER_FIELDS = {  # form parameter -> Number attribute
    "VoiceUrl": "voice_url",
    "VoiceMethod": "method",
    "VoiceFallbackUrl": "fallback_url",
    "VoiceFallbackMethod": "fallback_method",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
    "FriendlyName": "friendly_name",
}
_APP_FIELDS = {
    "FriendlyName": "friendly_name",
    "VoiceUrl": "voice_url",
    "VoiceMethod": "voice_method",
    "VoiceFallbackUrl": "voice_fallback_url",
    "StatusCallback": "status_callback",
    "StatusCallbackMethod": "status_callback_method",
}


@dataclass
class ApiKey:
    sid: str
    friendly_name: str
    secret: str = field(repr=False)
    created_at: float


@dataclass
class Application:
    sid: str
    created_at: float
    friendly_name: str = ""
    voice_url: str = ""
    voice_method: str = "POST"
    voice_fallback_url: str = ""
    status_callback: str = ""
    status_callback_method: str = "POST"


@dataclass
class Account:
    """What the account holds besides calls: its name, keys and TwiML Apps.

    `refused` names routes this account may not use, with the error Twilio gives (an
    account whose role does not allow creating keys, say): the set-up's "not permitted" path.
    """

    friendly_name: str = "Offline Twilio"
    status: str = "active"
    keys: dict[str, ApiKey] = field(default_factory=dict)
    applications: dict[str, Application] = field(default_factory=dict)
    refused: dict[str, tuple[int, int, str]] = field(default_factory=dict)


def number_sid(number: str) -> str:
    """A number's PN sid, derived from it: drawing it from the simulator's seeded rng would
    change every seeded run that follows."""
    return "PN" + hashlib.md5(number.encode()).hexdigest()


def _new_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class Holder(Protocol):
    """What the account's resources read of the switch (switchboard.Switchboard has it all).

    Declared here, not taken from switchboard.py, which needs this module's `Account`.
    """

    account_sid: str
    account: Account
    numbers: dict[str, Number]

    def now(self) -> float: ...


class AccountApi:
    """The handlers behind ROUTES; mixed into rest.RestApi, which supplies the rest."""

    sim: Holder

    if TYPE_CHECKING:  # supplied by rest.RestApi, which this is mixed into

        def _raise(self, status: int, code: int, message: str) -> Any: ...

        def _date(self, at: float) -> str: ...

    def _base(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.sim.account_sid}"

    def key_secret(self, sid: str) -> str | None:
        """The secret of the account's API key `sid`, if it has one."""
        key = self.sim.account.keys.get(sid)
        return key.secret if key else None

    # -- Account ------------------------------------------------------------------------

    def fetch_account(self, form: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        account = self.sim.account
        return 200, {
            "sid": self.sim.account_sid,
            "friendly_name": account.friendly_name,
            "status": account.status,
            "type": "Full",
            "uri": f"{self._base()}.json",
        }

    # -- IncomingPhoneNumbers -----------------------------------------------------------

    def list_numbers(self, form: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        wanted = _first(form, "PhoneNumber")
        pattern = re.compile(re.escape(wanted).replace(r"\*", r"\d")) if wanted else None
        found = [
            self.number_json(number)
            for number in sorted(self.sim.numbers)
            if pattern is None or pattern.search(number)
        ]
        return 200, _list("incoming_phone_numbers", found, f"{self._base()}/IncomingPhoneNumbers")

    def fetch_number(self, form: Mapping[str, Any], pn: str) -> tuple[int, dict[str, Any]]:
        return 200, self.number_json(self._number(pn))

    def update_number(self, form: Mapping[str, Any], pn: str) -> tuple[int, dict[str, Any]]:
        """Set the given URLs and methods; "" clears a URL, as Twilio's update does."""
        number = self._number(pn)
        given = {name: attr for name, attr in _NUMBER_FIELDS.items() if name in form}
        changes: dict[str, Any] = {attr: _first(form, name) for name, attr in given.items()}
        for attr in ("method", "fallback_method", "status_callback_method"):
            if attr in changes and changes[attr].upper() not in ("GET", "POST"):
                self._raise(400, 21207, f"{attr}: must be GET or POST")
        for attr in ("fallback_url", "status_callback"):
            if attr in changes:
                changes[attr] = changes[attr] or None
        self.sim.numbers[number] = dataclasses.replace(self.sim.numbers[number], **changes)
        return 200, self.number_json(number)

    def _number(self, pn: str) -> str:
        for number in self.sim.numbers:
            if number_sid(number) == pn:
                return number
        return self._raise(  # type: ignore[no-any-return]
            404, 20404, f"The requested resource IncomingPhoneNumber {pn} was not found"
        )

    def number_json(self, number: str) -> dict[str, Any]:
        n: Number = self.sim.numbers[number]
        sid = number_sid(number)
        return {
            "sid": sid,
            "account_sid": self.sim.account_sid,
            "phone_number": number,
            "friendly_name": n.friendly_name or number,
            "voice_url": n.voice_url,
            "voice_method": n.method,
            "voice_fallback_url": n.fallback_url,
            "voice_fallback_method": n.fallback_method,
            "status_callback": n.status_callback,
            "status_callback_method": n.status_callback_method,
            "voice_application_sid": None,
            "capabilities": {"voice": True, "sms": False, "mms": False, "fax": False},
            "api_version": API_VERSION,
            "uri": f"{self._base()}/IncomingPhoneNumbers/{sid}.json",
        }

    # -- Keys ---------------------------------------------------------------------------

    def create_key(self, form: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        """A Standard key; the only answer that ever shows its secret."""
        name = _first(form, "FriendlyName")
        if len(name) > 64:
            self._raise(400, 20001, "FriendlyName is longer than 64 characters")
        key = ApiKey(_new_sid("SK"), name, secrets.token_urlsafe(24), self.sim.now())
        self.sim.account.keys[key.sid] = key
        return 201, {**self.key_json(key), "secret": key.secret}

    def fetch_key(self, form: Mapping[str, Any], sk: str) -> tuple[int, dict[str, Any]]:
        key = self.sim.account.keys.get(sk)
        if key is None:
            self._raise(404, 20404, f"The requested resource Key {sk} was not found")
        assert key is not None
        return 200, self.key_json(key)

    def delete_key(self, form: Mapping[str, Any], sk: str) -> tuple[int, dict[str, Any]]:
        if self.sim.account.keys.pop(sk, None) is None:
            self._raise(404, 20404, f"The requested resource Key {sk} was not found")
        return 204, {}

    def key_json(self, key: ApiKey) -> dict[str, Any]:
        return {
            "sid": key.sid,
            "friendly_name": key.friendly_name,
            "date_created": self._date(key.created_at),
            "date_updated": self._date(key.created_at),
        }

    # -- Applications -------------------------------------------------------------------

    def list_applications(self, form: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        name = _first(form, "FriendlyName")
        found = [
            self.application_json(a)
            for a in self.sim.account.applications.values()
            if not name or a.friendly_name == name
        ]
        return 200, _list("applications", found, f"{self._base()}/Applications")

    def create_application(self, form: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        apps = self.sim.account.applications
        if len(apps) >= MAX_APPLICATIONS:
            self._raise(400, 21211, f"An account holds at most {MAX_APPLICATIONS} applications")
        values = {attr: _first(form, name) for name, attr in _APP_FIELDS.items() if name in form}
        app = Application(_new_sid("AP"), self.sim.now(), **values)
        apps[app.sid] = app
        return 201, self.application_json(app)

    def fetch_application(self, form: Mapping[str, Any], ap: str) -> tuple[int, dict[str, Any]]:
        app = self.sim.account.applications.get(ap)
        if app is None:
            self._raise(404, 20404, f"The requested resource Application {ap} was not found")
        assert app is not None
        return 200, self.application_json(app)

    def update_application(self, form: Mapping[str, Any], ap: str) -> tuple[int, dict[str, Any]]:
        app = self.sim.account.applications.get(ap)
        if app is None:
            self._raise(404, 20404, f"The requested resource Application {ap} was not found")
        assert app is not None
        for name, attr in _APP_FIELDS.items():
            if name in form:
                setattr(app, attr, _first(form, name))
        return 200, self.application_json(app)

    def delete_application(self, form: Mapping[str, Any], ap: str) -> tuple[int, dict[str, Any]]:
        if self.sim.account.applications.pop(ap, None) is None:
            self._raise(404, 20404, f"The requested resource Application {ap} was not found")
        return 204, {}

    def application_json(self, app: Application) -> dict[str, Any]:
        return {
            "sid": app.sid,
            "account_sid": self.sim.account_sid,
            "friendly_name": app.friendly_name,
            "voice_url": app.voice_url or None,
            "voice_method": app.voice_method,
            "voice_fallback_url": app.voice_fallback_url or None,
            "status_callback": app.status_callback or None,
            "api_version": API_VERSION,
            "date_created": self._date(app.created_at),
            "uri": f"{self._base()}/Applications/{app.sid}.json",
        }


def _first(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value)


def _list(key: str, items: list[dict[str, Any]], uri: str) -> dict[str, Any]:
    return {
        key: items,
        "page": 0,
        "page_size": 50,
        "first_page_uri": f"{uri}.json",
        "next_page_uri": None,
        "previous_page_uri": None,
        "uri": f"{uri}.json",
    }
