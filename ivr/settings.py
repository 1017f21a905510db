"""The app's settings: the engine's sections (routing/settings.py) and the web server's,
Twilio's and the secrets', read from the same file, environment and overrides.

Secrets come only from the environment and are kept out of repr() so they are never printed.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from routing.settings import (
    E164,
    ENGINE_ENV,
    EngineSettings,
    build_settings,
    read_config,
    require,
)


def unreachable_host(host: str) -> bool:
    """A host Twilio's cloud cannot reach: localhost, or a loopback, private or link-local
    address (a name that resolves to one cannot be told without asking DNS, and is not)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost") or not name:
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified


DEMO_AUTH_TOKEN = "silverline-demo-token-not-secret"
DEMO_ACCOUNT_SID = "AC" + "0" * 32


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2
    threads: int = 32
    timeout: int = 30
    seed_demo: bool = True
    spool_dir: str = "var/spool"
    # Event streams a worker serves at once (0: three quarters of its threads), in all and
    # per user; the other threads are kept for the webhooks (ivr/web/streams.py).
    streams: int = 0
    streams_per_user: int = 3
    # Demo mode (no TWILIO_AUTH_TOKEN) on an address other than loopback (env SILVERLINE_DEMO).
    demo_on_network: bool = False

    @property
    def stream_slots(self) -> int:
        """The most event streams one worker serves at once."""
        return self.streams or self.threads * 3 // 4

    def check(self) -> None:
        require(0 < self.port < 65536, "server.port", "a TCP port (1-65535)")
        require(self.workers >= 1, "server.workers", "at least 1")
        require(self.threads >= 1, "server.threads", "at least 1")
        require(
            0 <= self.streams < self.threads,
            "server.streams",
            "0 (automatic) or fewer than server.threads (the rest answer the webhooks)",
        )
        require(self.streams_per_user >= 1, "server.streams_per_user", "at least 1")
        require(
            bool(self.spool_dir.strip()) and "\0" not in self.spool_dir,
            "server.spool_dir",
            "a directory path",
        )


_AMD_RANGES = (
    ("amd_timeout", 3, 59, "seconds"),
    ("amd_speech_threshold", 1000, 6000, "milliseconds"),
    ("amd_speech_end_threshold", 500, 5000, "milliseconds"),
    ("amd_silence_timeout", 2000, 10000, "milliseconds"),
)


@dataclass(frozen=True)
class Twilio:
    public_url: str = ""
    validate_signatures: bool = True
    proxy_fix: bool = False
    api_base_url: str = ""
    caller_id: str = "+861095500000"
    rest_timeout: float = 5.0
    local_port: int = 5001  # the local Twilio demo mode starts beside the server; 0: none
    # Answering-machine detection on call-backs and return visits (AsyncAmd; ivr/telephony.py)
    amd_timeout: int = 10  # s: undecided this long is `unknown`
    amd_speech_threshold: int = 3000  # ms: speech longer than this is a machine
    amd_speech_end_threshold: int = 1200  # ms: silence after speech that ends a person's hello
    amd_silence_timeout: int = 5000  # ms: no sound this long is `unknown`

    @property
    def base(self) -> str:
        """The configured public URL without a trailing slash ("" when not set)."""
        return self.public_url.rstrip("/")

    def check(self) -> None:
        require(bool(E164.match(self.caller_id)), "twilio.caller_id", "an E.164 number")
        require(
            0 < self.rest_timeout <= 10,
            "twilio.rest_timeout",
            "seconds above 0 and at most 10 (well inside Twilio's 15 s webhook budget)",
        )
        require(0 <= self.local_port <= 65535, "twilio.local_port", "a TCP port, or 0 for none")
        # Twilio's ranges (https://www.twilio.com/docs/voice/answering-machine-detection
        # #optional-api-tuning-parameters): a value outside one fails every call-back's create
        for key, low, high, unit in _AMD_RANGES:
            value = getattr(self, key)
            require(low <= value <= high, f"twilio.{key}", f"{low}-{high} {unit}")
        require(
            not self.public_url or self.public_url.startswith(("http://", "https://")),
            "twilio.public_url",
            "an http:// or https:// URL",
        )


@dataclass(frozen=True)
class Softphone:
    # Seconds an agent's Access Token lives; the page asks for a new one before it runs out.
    token_ttl: int = 3600

    def check(self) -> None:
        # Twilio allows tokens of up to 24 hours (https://www.twilio.com/docs/iam/access-tokens)
        # and asks for the shortest feasible; an hour bounds what a leaked token is worth.
        require(60 <= self.token_ttl <= 3600, "softphone.token_ttl", "seconds from 60 to 3600")


@dataclass(frozen=True)
class Secrets:
    """Credentials from the environment only; repr() hides them."""

    twilio_auth_token: str = field(default="", repr=False)
    twilio_account_sid: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    metrics_token: str = field(default="", repr=False)
    twilio_api_key_sid: str = field(default="", repr=False)
    twilio_api_key_secret: str = field(default="", repr=False)
    twilio_twiml_app_sid: str = field(default="", repr=False)

    @property
    def demo(self) -> bool:
        """True when no Twilio token is set and the printed dev token signs webhooks."""
        return not self.twilio_auth_token

    @property
    def auth_token(self) -> str:
        return self.twilio_auth_token or DEMO_AUTH_TOKEN

    @property
    def account_sid(self) -> str:
        return self.twilio_account_sid or DEMO_ACCOUNT_SID


@dataclass(frozen=True)
class Settings(EngineSettings):
    """Everything the app reads; the engine is handed it as its EngineSettings."""

    server: Server = Server()
    twilio: Twilio = Twilio()
    softphone: Softphone = Softphone()
    secrets: Secrets = Secrets()
    config_path: str = ""

    @property
    def public_base(self) -> str:
        """Where Twilio reaches this server: the public URL, else the address it listens on.
        (Inside a request, ivr/call/webhooks.py falls back to the request's host instead.)"""
        return self.twilio.base or f"http://{self.server.host}:{self.server.port}"

    def check(self) -> None:
        super().check()
        for section in (self.server, self.twilio, self.softphone):
            section.check()
        self._check_reachable()

    def _check_reachable(self) -> None:
        """With REST to Twilio's cloud, every URL handed to Twilio is built on a public one.

        Without `twilio.public_url` the URLs of queue pulls, call-backs, visits and agents'
        legs would be built on the listening address (http://127.0.0.1:5000 by default), which
        Twilio cannot fetch: each such call would end in Twilio's error message
        (https://www.twilio.com/docs/api/errors/11200). A local Twilio at `twilio.api_base_url`
        (the demo, the tests) is the one place where loopback URLs are right.
        """
        if not self.secrets.twilio_account_sid or self.twilio.api_base_url:
            return
        require(
            bool(self.twilio.public_url),
            "twilio.public_url",
            "set (env SILVERLINE_PUBLIC_URL) when TWILIO_ACCOUNT_SID is: the https:// URL "
            "Twilio reaches this server at",
        )
        require(
            not unreachable_host(urlsplit(self.twilio.public_url).hostname or ""),
            "twilio.public_url",
            "a public address: Twilio's cloud cannot reach loopback or private ones",
        )


# Environment variables with names of their own (README.md, "Configuration"); everything else is
# SILVERLINE__<SECTION>__<KEY>.
_NAMED_ENV = {
    "SILVERLINE_PUBLIC_URL": "twilio.public_url",
    "SILVERLINE_HOST": "server.host",
    "SILVERLINE_PORT": "server.port",
    "SILVERLINE_DEMO": "server.demo_on_network",
    **ENGINE_ENV,
}
_SECRET_ENV = {
    "TWILIO_AUTH_TOKEN": "twilio_auth_token",
    "TWILIO_ACCOUNT_SID": "twilio_account_sid",
    "SILVERLINE_SECRET_KEY": "secret_key",
    "SILVERLINE_METRICS_TOKEN": "metrics_token",
    "TWILIO_API_KEY_SID": "twilio_api_key_sid",
    "TWILIO_API_KEY_SECRET": "twilio_api_key_secret",
    "TWILIO_TWIML_APP_SID": "twilio_twiml_app_sid",
}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
) -> Settings:
    """Build Settings from the TOML file, the environment and dotted-key overrides."""
    env = os.environ if environ is None else environ
    raw, path = read_config(overrides, env, config_path, _NAMED_ENV)
    raw["secrets"] = {attr: env.get(name, "") for name, attr in _SECRET_ENV.items()}
    raw["config_path"] = str(path)
    return build_settings(Settings, raw)
