"""One typed settings object: config/silverline.toml, then environment, then overrides.

A bad value stops start-up with a SettingsError naming the key and the expected form.
Secrets come only from the environment and are kept out of repr() so they are never printed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routing.exceptions import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "silverline.toml"
DEMO_AUTH_TOKEN = "silverline-demo-token-not-secret"
DEMO_ACCOUNT_SID = "AC" + "0" * 32

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_RATE = re.compile(r"^(\d{2,3}%|x-slow|slow|medium|fast|x-fast)$")


@dataclass(frozen=True)
class Hotline:
    name: str = "Silverline 95xxx"
    timezone: str = "Asia/Shanghai"
    default_region: str = "CN"
    default_dialect: str = "mandarin"
    senior_age: int = 60


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 2
    threads: int = 32
    timeout: int = 30
    seed_demo: bool = True
    spool_dir: str = "var/spool"


@dataclass(frozen=True)
class Twilio:
    public_url: str = ""
    validate_signatures: bool = True
    proxy_fix: bool = False
    api_base_url: str = ""
    caller_id: str = "+861095500000"
    rest_timeout: float = 5.0


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    data_dir: str = "var/redis"
    key_prefix: str = "sl"
    cluster: bool = False
    appendfsync: str = "everysec"
    socket_timeout: float = 0.5


@dataclass(frozen=True)
class Fallback:
    number: str = "+861095500999"
    alternates: tuple[str, ...] = ()
    dialect: str = "mandarin"

    @property
    def lines(self) -> tuple[str, ...]:
        """The fallback number, then the alternates: the order a busy line is tried in."""
        return (self.number, *self.alternates)


@dataclass(frozen=True)
class Topic:
    key: str
    name: str
    queue: str


@dataclass(frozen=True)
class Ivr:
    gather_timeout: int = 5
    senior_gather_timeout: int = 10
    speech_timeout: int = 3
    senior_rate: str = "80%"
    repeat_rate: str = "85%"
    agent_key: str = "0"
    senior_key: str = "9"
    complaint_key: str = "8"
    complaint_hours: str = "09:00-18:00"
    topics: tuple[Topic, ...] = ()
    whisper: str = "short"
    connect: str = "conference"


@dataclass(frozen=True)
class BusinessHours:
    open: str = "08:00"
    close: str = "20:00"
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    holidays: tuple[str, ...] = ()
    on_call_senior_number: str = ""


@dataclass(frozen=True)
class Routing:
    wrap_up_seconds: int = 15
    max_missed_offers: int = 2
    dial_timeout: int = 20
    announce_every: int = 30
    wait_poll_seconds: int = 5
    callback_offer_after: int = 60
    callback_attempts: int = 3
    callback_retry_seconds: int = 120
    senior_reserve: int = 1
    senior_reserve_release: int = 60
    reconcile_after: int = 180
    max_call_seconds: int = 14400


@dataclass(frozen=True)
class Queue:
    priority: int = 1
    sl_seconds: int = 20
    sl_percent: int = 80
    skill: str = ""
    widen_to_any_after: int = 0
    drop_dialect_after: int = 20


@dataclass(frozen=True)
class Stats:
    interval_minutes: int = 15
    short_abandon_seconds: int = 5
    histogram_bounds: tuple[int, ...] = (5, 10, 20, 30, 60, 120, 300)
    retention_days: int = 400
    stream_maxlen: int = 1_000_000


@dataclass(frozen=True)
class Auth:
    metrics_token_required: bool = False
    login_attempts: int = 5


@dataclass(frozen=True)
class Secrets:
    """Credentials from the environment only; repr() hides them."""

    twilio_auth_token: str = field(default="", repr=False)
    twilio_account_sid: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)
    metrics_token: str = field(default="", repr=False)

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
class Settings:
    hotline: Hotline = Hotline()
    server: Server = Server()
    twilio: Twilio = Twilio()
    redis: RedisSettings = RedisSettings()
    fallback: Fallback = Fallback()
    ivr: Ivr = Ivr()
    business_hours: BusinessHours = BusinessHours()
    routing: Routing = Routing()
    queues: dict[str, Queue] = field(default_factory=dict)
    stats: Stats = Stats()
    auth: Auth = Auth()
    dialect_regions: dict[str, str] = field(default_factory=dict)
    secrets: Secrets = Secrets()
    config_path: str = ""

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.hotline.timezone)


# Environment variables with names of their own (DESIGN.md); everything else is
# SILVERLINE__<SECTION>__<KEY>.
_NAMED_ENV = {
    "SILVERLINE_PUBLIC_URL": "twilio.public_url",
    "SILVERLINE_HOST": "server.host",
    "SILVERLINE_PORT": "server.port",
    "REDIS_URL": "redis.url",
}
_SECRET_ENV = {
    "TWILIO_AUTH_TOKEN": "twilio_auth_token",
    "TWILIO_ACCOUNT_SID": "twilio_account_sid",
    "SILVERLINE_SECRET_KEY": "secret_key",
    "SILVERLINE_METRICS_TOKEN": "metrics_token",
}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
) -> Settings:
    """Build Settings from the TOML file, the environment and dotted-key overrides."""
    env = os.environ if environ is None else environ
    path = Path(config_path or env.get("SILVERLINE_CONFIG") or DEFAULT_CONFIG)
    raw = _read_toml(path)
    for reserved in ("secrets", "config_path"):
        if reserved in raw:
            raise SettingsError(f"config key '{reserved}' cannot be set in {path}")
    for name, dotted in _NAMED_ENV.items():
        if env.get(name):
            _set_dotted(raw, dotted, env[name])
    for name, value in env.items():
        if name.startswith("SILVERLINE__"):
            _set_dotted(raw, name.removeprefix("SILVERLINE__").lower().replace("__", "."), value)
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value)
    secrets = {attr: env.get(name, "") for name, attr in _SECRET_ENV.items()}
    raw["secrets"] = secrets
    raw["config_path"] = str(path)
    settings: Settings = _build(Settings, raw, "")
    _check(settings)
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as exc:
        raise SettingsError(f"config file {path} does not exist (set SILVERLINE_CONFIG)") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"config file {path} is not valid TOML: {exc}") from exc
    except OSError as exc:  # a directory, no permission, ...
        raise SettingsError(f"config file {path} cannot be read: {exc.strerror}") from exc


def _set_dotted(raw: dict[str, Any], dotted: str, value: Any) -> None:
    if dotted.split(".")[0] in {"secrets", "config_path"}:
        raise SettingsError(
            f"config key '{dotted}' cannot be set here: secrets come from the environment only"
        )
    parts = dotted.split(".")
    node = raw
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise SettingsError(f"config key '{dotted}': '{part}' is not a section")
        node = child
    node[parts[-1]] = value


def _build(cls: type[Any], raw: Any, where: str) -> Any:
    if not isinstance(raw, dict):
        raise SettingsError(f"config key '{where}' must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - names
    if unknown:
        key = _join(where, sorted(unknown)[0])
        raise SettingsError(f"config key '{key}' is not a known setting")
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [name for name in required if name not in raw]
    if missing:
        raise SettingsError(f"config key '{_join(where, missing[0])}' is required")
    values = {k: _coerce(hints[k], v, _join(where, k)) for k, v in raw.items()}
    return cls(**values)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _coerce(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, key)  # type: ignore[arg-type]
    if origin is dict:
        if not isinstance(value, dict):
            raise SettingsError(f"config key '{key}' must be a table")
        return {str(k): _coerce(args[1], v, f"{key}.{k}") for k, v in value.items()}
    if origin is tuple:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            raise SettingsError(f"config key '{key}' must be a list, got {value!r}")
        return tuple(_coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
    if origin is types.UnionType:
        raise SettingsError(f"config key '{key}' has an unsupported type")
    return _scalar(hint, value, key)


def _scalar(hint: Any, value: Any, key: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        }:
            return value.lower() in {"1", "true", "yes", "on"}
        raise SettingsError(f"config key '{key}' must be true or false, got {value!r}")
    if hint is int:
        if isinstance(value, bool):
            raise SettingsError(f"config key '{key}' must be an integer, got {value!r}")
        try:
            return int(value) if isinstance(value, int | str) else _fail(key, "an integer", value)
        except ValueError as exc:
            raise SettingsError(f"config key '{key}' must be an integer, got {value!r}") from exc
    if hint is float:
        if isinstance(value, bool):
            raise SettingsError(f"config key '{key}' must be a number, got {value!r}")
        try:
            return (
                float(value)
                if isinstance(value, int | float | str)
                else _fail(key, "a number", value)
            )
        except ValueError as exc:
            raise SettingsError(f"config key '{key}' must be a number, got {value!r}") from exc
    if hint is str:
        if not isinstance(value, str):
            raise SettingsError(f"config key '{key}' must be a string, got {value!r}")
        return value
    raise SettingsError(f"config key '{key}' has an unsupported type {hint!r}")


def _fail(key: str, form: str, value: Any) -> Any:
    raise SettingsError(f"config key '{key}' must be {form}, got {value!r}")


def _check(s: Settings) -> None:
    """Range and form checks that types alone do not express."""
    try:
        zoneinfo.ZoneInfo(s.hotline.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(
            f"config key 'hotline.timezone' must be an IANA time zone such as "
            f"Asia/Shanghai, got {s.hotline.timezone!r}"
        ) from exc
    _require(0 < s.hotline.senior_age < 130, "hotline.senior_age", "an age between 1 and 129")
    _require(0 < s.server.port < 65536, "server.port", "a TCP port (1-65535)")
    _require(s.server.workers >= 1, "server.workers", "at least 1")
    _require(s.server.threads >= 1, "server.threads", "at least 1")
    _require(
        bool(s.server.spool_dir.strip()) and "\0" not in s.server.spool_dir,
        "server.spool_dir",
        "a directory path",
    )
    _require(
        bool(_E164.match(s.fallback.number)),
        "fallback.number",
        "an E.164 number like +861095500999",
    )
    for line in s.fallback.alternates:
        _require(bool(_E164.match(line)), "fallback.alternates", "E.164 numbers")
    _require(bool(_E164.match(s.twilio.caller_id)), "twilio.caller_id", "an E.164 number")
    _require(
        0 < s.twilio.rest_timeout <= 10,
        "twilio.rest_timeout",
        "seconds above 0 and at most 10 (well inside Twilio's 15 s webhook budget)",
    )
    on_call = s.business_hours.on_call_senior_number
    _require(
        not on_call or bool(_E164.match(on_call)),
        "business_hours.on_call_senior_number",
        "empty or an E.164 number",
    )
    _require(
        s.redis.appendfsync in {"always", "everysec", "no"},
        "redis.appendfsync",
        "one of always, everysec, no",
    )
    _require(s.redis.socket_timeout > 0, "redis.socket_timeout", "a positive number of seconds")
    url = s.redis.url
    _require(
        not url or url.startswith(("redis://", "rediss://", "unix://")),
        "redis.url",
        "a redis://, rediss:// or unix:// URL",
    )
    public = s.twilio.public_url
    _require(
        not public or public.startswith(("http://", "https://")),
        "twilio.public_url",
        "an http:// or https:// URL",
    )
    for key in ("open", "close"):
        _require(
            bool(_HHMM.match(getattr(s.business_hours, key))),
            f"business_hours.{key}",
            "a time as HH:MM",
        )
    for day in s.business_hours.weekdays:
        _require(1 <= day <= 7, "business_hours.weekdays", "ISO weekdays 1 (Monday) to 7")
    for holiday in s.business_hours.holidays:
        _require(
            bool(re.match(r"^\d{4}-\d{2}-\d{2}$", holiday)),
            "business_hours.holidays",
            "dates as YYYY-MM-DD",
        )
    _require(s.ivr.whisper in {"full", "short", "none"}, "ivr.whisper", "full, short or none")
    _require(s.ivr.connect in {"conference", "dial"}, "ivr.connect", "conference or dial")
    for key in ("senior_rate", "repeat_rate"):
        _require(bool(_RATE.match(getattr(s.ivr, key))), f"ivr.{key}", "a prosody rate like 80%")
    for key in ("gather_timeout", "senior_gather_timeout", "speech_timeout"):
        _require(1 <= getattr(s.ivr, key) <= 60, f"ivr.{key}", "seconds between 1 and 60")
    keys = [t.key for t in s.ivr.topics] + [s.ivr.agent_key, s.ivr.senior_key, s.ivr.complaint_key]
    for k in keys:
        _require(len(k) == 1 and k in "0123456789", "ivr.topics", "single keys 0-9")
    _require(
        len(set(keys)) == len(keys),
        "ivr.topics",
        "keys that differ from each other and from agent_key, senior_key and complaint_key",
    )
    for name, q in s.queues.items():
        _require(
            bool(re.match(r"^[a-z][a-z0-9_]{0,30}$", name)),
            f"queues.{name}",
            "a lower-case queue name",
        )
        _require(0 < q.sl_percent <= 100, f"queues.{name}.sl_percent", "a percentage 1-100")
        _require(q.sl_seconds > 0, f"queues.{name}.sl_seconds", "a positive number of seconds")
        _require(q.widen_to_any_after >= 0, f"queues.{name}.widen_to_any_after", "seconds >= 0")
        _require(q.drop_dialect_after >= 0, f"queues.{name}.drop_dialect_after", "seconds >= 0")
    for required in ("senior", "general"):
        _require(required in s.queues, f"queues.{required}", "a queue table (it is required)")
    for topic in s.ivr.topics:
        _require(topic.queue in s.queues, "ivr.topics", f"queues that exist (no '{topic.queue}')")
    _require(
        s.stats.interval_minutes > 0 and 60 % s.stats.interval_minutes == 0,
        "stats.interval_minutes",
        "a divisor of 60 such as 15 or 30",
    )
    bounds = list(s.stats.histogram_bounds)
    _require(
        bounds == sorted(set(bounds)) and bool(bounds) and bounds[0] > 0,
        "stats.histogram_bounds",
        "increasing positive seconds",
    )
    _require(s.stats.stream_maxlen >= 1000, "stats.stream_maxlen", "at least 1000")
    _require(s.routing.max_missed_offers >= 1, "routing.max_missed_offers", "at least 1")
    _require(s.routing.senior_reserve >= 0, "routing.senior_reserve", "0 or more agents")
    _require(
        s.routing.senior_reserve_release >= 0,
        "routing.senior_reserve_release",
        "0 or more seconds",
    )
    _require(
        5 <= s.routing.dial_timeout <= 600, "routing.dial_timeout", "seconds between 5 and 600"
    )
    _check_reconcile(s.routing)


def _check_reconcile(r: Routing) -> None:
    # A waiting caller reports every few seconds (wait URL polls), so a call silent for
    # reconcile_after is worth asking Twilio about; below 30 s a live caller could look lost.
    _require(
        30 <= r.reconcile_after <= 3600, "routing.reconcile_after", "seconds between 30 and 3600"
    )
    _require(
        r.wait_poll_seconds * 3 <= r.reconcile_after,
        "routing.reconcile_after",
        "at least three times routing.wait_poll_seconds",
    )
    # Call records expire a day after their last change; the bound must close a call first.
    _require(
        r.reconcile_after <= r.max_call_seconds <= 86_000,
        "routing.max_call_seconds",
        "seconds from routing.reconcile_after up to 86000 (a call record lives a day)",
    )


def _require(ok: bool, key: str, form: str) -> None:
    if not ok:
        raise SettingsError(f"config key '{key}' must be {form}")
