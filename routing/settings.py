"""The engine's settings: its sections of config/silverline.toml, then environment, then
overrides; and the loader the app's settings (ivr/settings.py) are read with too.

A bad value stops start-up with a SettingsError naming the key and the expected form. Each
section checks its own values next to its fields; EngineSettings checks those across sections.
The web server's, Twilio's and the secrets' sections are the app's (ivr/settings.py): the
engine never sees them.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import re
import tomllib
import types
import typing
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from routing.exceptions import SettingsError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "silverline.toml"

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_RATE = re.compile(r"^(\d{2,3}%|x-slow|slow|medium|fast|x-fast)$")


@dataclass(frozen=True)
class Hotline:
    name: str = "Silverline 95xxx"
    timezone: str = "Asia/Shanghai"
    default_region: str = "CN"
    default_dialect: str = "mandarin"
    senior_age: int = 60

    def check(self) -> None:
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise SettingsError(
                f"config key 'hotline.timezone' must be an IANA time zone such as "
                f"Asia/Shanghai, got {self.timezone!r}"
            ) from exc
        require(0 < self.senior_age < 130, "hotline.senior_age", "an age between 1 and 129")


@dataclass(frozen=True)
class RedisSettings:
    url: str = ""
    data_dir: str = "var/redis"
    key_prefix: str = "sl"
    cluster: bool = False
    appendfsync: str = "everysec"
    socket_timeout: float = 0.5

    def check(self) -> None:
        require(
            self.appendfsync in {"always", "everysec", "no"},
            "redis.appendfsync",
            "one of always, everysec, no",
        )
        require(self.socket_timeout > 0, "redis.socket_timeout", "a positive number of seconds")
        require(
            not self.url
            or self.url.startswith(("redis://", "rediss://", "unix://", "redis+sentinel://")),
            "redis.url",
            "a redis://, rediss://, unix:// or redis+sentinel:// URL",
        )


@dataclass(frozen=True)
class Fallback:
    number: str = "+861095500999"
    alternates: tuple[str, ...] = ()
    dialect: str = "mandarin"

    @property
    def lines(self) -> tuple[str, ...]:
        """The fallback number, then the alternates: the order a busy line is tried in."""
        return (self.number, *self.alternates)

    def check(self) -> None:
        require(
            bool(E164.match(self.number)), "fallback.number", "an E.164 number like +861095500999"
        )
        for line in self.alternates:
            require(bool(E164.match(line)), "fallback.alternates", "E.164 numbers")


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

    def check(self) -> None:
        require(self.whisper in {"full", "short", "none"}, "ivr.whisper", "full, short or none")
        require(self.connect in {"conference", "dial"}, "ivr.connect", "conference or dial")
        hours = _SPAN.match(self.complaint_hours)
        require(
            hours is not None and hours[1] < hours[3],
            "ivr.complaint_hours",
            '"HH:MM-HH:MM" with the opening before the closing (the hours the complaint queue '
            'keeps, e.g. "09:00-18:00")',
        )
        for key in ("senior_rate", "repeat_rate"):
            rate = getattr(self, key)
            require(bool(_RATE.match(rate)), f"ivr.{key}", "a prosody rate like 80%")
        for key in ("gather_timeout", "senior_gather_timeout", "speech_timeout"):
            require(1 <= getattr(self, key) <= 60, f"ivr.{key}", "seconds between 1 and 60")
        keys = [t.key for t in self.topics] + [self.agent_key, self.senior_key, self.complaint_key]
        for k in keys:
            require(len(k) == 1 and k in "0123456789", "ivr.topics", "single keys 0-9")
        require(
            len(set(keys)) == len(keys),
            "ivr.topics",
            "keys that differ from each other and from agent_key, senior_key and complaint_key",
        )


@dataclass(frozen=True)
class BusinessHours:
    open: str = "08:00"
    close: str = "20:00"
    weekdays: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    holidays: tuple[str, ...] = ()
    on_call_senior_number: str = ""
    # date (YYYY-MM-DD) -> "HH:MM-HH:MM" (that day's own hours) or "closed"
    special_days: dict[str, str] = field(default_factory=dict)

    def check(self) -> None:
        for key in ("open", "close"):
            require(
                bool(_HHMM.match(getattr(self, key))), f"business_hours.{key}", "a time as HH:MM"
            )
        for day in self.weekdays:
            require(1 <= day <= 7, "business_hours.weekdays", "ISO weekdays 1 (Monday) to 7")
        for holiday in self.holidays:
            require(
                bool(re.match(r"^\d{4}-\d{2}-\d{2}$", holiday)),
                "business_hours.holidays",
                "dates as YYYY-MM-DD",
            )
        on_call = self.on_call_senior_number
        require(
            not on_call or bool(E164.match(on_call)),
            "business_hours.on_call_senior_number",
            "empty or an E.164 number",
        )
        for when, span in self.special_days.items():
            _check_special_day(when, span)


def _real_date(text: str) -> bool:
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


_SPAN = re.compile(r"^(([01]\d|2[0-3]):[0-5]\d)-(([01]\d|2[0-3]):[0-5]\d)$")


def _check_special_day(day: str, span: str) -> None:
    key = f"business_hours.special_days.{day}"
    require(_real_date(day), key, "named by a real date as YYYY-MM-DD")
    hours = _SPAN.match(span)
    require(
        span == "closed" or (hours is not None and hours[1] < hours[3]),
        key,
        '"HH:MM-HH:MM" with the opening before the closing (e.g. "08:00-12:00"), or "closed"',
    )


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
    # A senior waiting with no senior-trained agent free ends a senior-trained agent's wrap-up
    # once it has lasted this many seconds (0: never; at or past wrap_up_seconds: no effect).
    senior_wrap_up_break: int = 0
    reconcile_after: int = 180
    max_call_seconds: int = 14400

    def check(self) -> None:
        require(self.max_missed_offers >= 1, "routing.max_missed_offers", "at least 1")
        require(self.senior_reserve >= 0, "routing.senior_reserve", "0 or more agents")
        require(
            self.senior_reserve_release >= 0,
            "routing.senior_reserve_release",
            "0 or more seconds",
        )
        require(
            0 <= self.senior_wrap_up_break <= 3600,
            "routing.senior_wrap_up_break",
            "seconds from 0 (never) to 3600 (at or past wrap_up_seconds: never in effect)",
        )
        require(5 <= self.dial_timeout <= 600, "routing.dial_timeout", "seconds between 5 and 600")
        # A waiting caller reports every few seconds (wait URL polls), so a call silent for
        # reconcile_after is worth asking Twilio about; below 30 s a live caller could look lost.
        require(
            30 <= self.reconcile_after <= 3600,
            "routing.reconcile_after",
            "seconds between 30 and 3600",
        )
        require(
            self.wait_poll_seconds * 3 <= self.reconcile_after,
            "routing.reconcile_after",
            "at least three times routing.wait_poll_seconds",
        )
        # Call records expire a day after their last change; the bound must close a call first.
        require(
            self.reconcile_after <= self.max_call_seconds <= 86_000,
            "routing.max_call_seconds",
            "seconds from routing.reconcile_after up to 86000 (a call record lives a day)",
        )


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")


@dataclass(frozen=True)
class LadderStep:
    """One rung of a queue's widening ladder: from `after` seconds of waiting, agents with
    `skill` ("" = anyone) may take the caller; with `dialect`, only those speaking the
    caller's dialect, while one who has the skill and speaks it is staffed (docs/routing.md)."""

    after: int = 0
    skill: str = ""
    dialect: bool = False

    def check(self, where: str) -> None:
        require(self.after >= 0, f"{where}.after", "seconds >= 0")
        require(not self.skill or bool(_NAME.match(self.skill)), f"{where}.skill", "a skill name")


@dataclass(frozen=True)
class QueueSettings:
    priority: int = 1
    sl_seconds: int = 20
    sl_percent: int = 80
    skill: str = ""
    widen_to_any_after: int = 0
    drop_dialect_after: int = 20
    # Aging: a caller who has waited this long is served ahead of every priority, so a stream
    # of higher-priority callers cannot hold them without limit (0: never).
    age_after: int = 0
    # The widening ladder, rung by rung in the order agents are tried; when empty, the one
    # `skill`, `drop_dialect_after` and `widen_to_any_after` imply (`steps`).
    ladder: tuple[LadderStep, ...] = ()
    # Overflow (docs/routing.md, "Overflow"): a caller who has waited `overflow_after` seconds
    # (0: never), or who arrives to find more than `overflow_length` callers waiting (0: no
    # limit), and one Twilio finds the queue full for, goes to `overflow_to`: "callback" (a
    # call-back keeping their place is offered), another queue's name (moved there keeping
    # their entry time), or an E.164 line (dialled); "" = no overflow.
    overflow_after: int = 0
    overflow_length: int = 0
    overflow_to: str = ""

    def overflow_kind(self) -> str:
        """ "" (none), "callback", "line" or "queue"."""
        if self.overflow_to in ("", "callback"):
            return self.overflow_to
        return "line" if self.overflow_to.startswith("+") else "queue"

    def check(self, name: str) -> None:
        where = f"queues.{name}"
        require(bool(_NAME.match(name)), where, "a lower-case queue name")
        require(0 < self.sl_percent <= 100, f"{where}.sl_percent", "a percentage 1-100")
        require(self.sl_seconds > 0, f"{where}.sl_seconds", "a positive number of seconds")
        require(self.widen_to_any_after >= 0, f"{where}.widen_to_any_after", "seconds >= 0")
        require(self.drop_dialect_after >= 0, f"{where}.drop_dialect_after", "seconds >= 0")
        require(self.age_after >= 0, f"{where}.age_after", "seconds >= 0 (0: never)")
        self._check_ladder(f"{where}.ladder")
        require(self.overflow_after >= 0, f"{where}.overflow_after", "seconds >= 0 (0: never)")
        require(self.overflow_length >= 0, f"{where}.overflow_length", "callers >= 0 (0: no limit)")
        kind, to = self.overflow_kind(), self.overflow_to
        require(kind != "line" or bool(E164.match(to)), f"{where}.overflow_to", "an E.164 number")
        require(kind != "queue" or to != name, f"{where}.overflow_to", "another queue than itself")
        require(
            bool(kind) or not (self.overflow_after or self.overflow_length),
            f"{where}.overflow_to",
            "given with overflow_after or overflow_length (where callers overflow to)",
        )

    def _check_ladder(self, where: str) -> None:
        for i, step in enumerate(self.ladder):
            step.check(f"{where}[{i}]")
        if not self.ladder:
            return
        # a first rung opening later would leave the caller waiting with nobody allowed
        require(
            self.ladder[0].after == 0, f"{where}[0].after", "0 (the first rung is open at once)"
        )
        times = [step.after for step in self.ladder]
        require(times == sorted(times), where, "rungs in the order they open (after increasing)")
        require(
            self.widen_to_any_after == 0,
            f"{where}",
            "given without widen_to_any_after (the ladder says when to widen; remove one)",
        )

    def steps(self) -> tuple[LadderStep, ...]:
        """The ladder, or the one the queue's skill and widening times imply: its skill (in
        the caller's dialect until `drop_dialect_after`), then anyone after
        `widen_to_any_after`, each rung opening at its own time."""
        if self.ladder:
            return self.ladder
        skills = [(0, self.skill)]
        if self.skill and self.widen_to_any_after > 0:
            skills.append((self.widen_to_any_after, ""))
        drop = self.drop_dialect_after
        rungs = [LadderStep(after, skill, True) for after, skill in skills if after < drop]
        rungs += [LadderStep(max(after, drop), skill) for after, skill in skills]
        return tuple(sorted(rungs, key=lambda step: step.after))


@dataclass(frozen=True)
class StatsSettings:
    interval_minutes: int = 15
    short_abandon_seconds: int = 5
    histogram_bounds: tuple[int, ...] = (5, 10, 20, 30, 60, 120, 300)
    retention_days: int = 400
    stream_maxlen: int = 1_000_000

    def check(self) -> None:
        require(
            self.interval_minutes > 0 and 60 % self.interval_minutes == 0,
            "stats.interval_minutes",
            "a divisor of 60 such as 15 or 30",
        )
        bounds = list(self.histogram_bounds)
        require(
            bounds == sorted(set(bounds)) and bool(bounds) and bounds[0] > 0,
            "stats.histogram_bounds",
            "increasing positive seconds",
        )
        require(self.stream_maxlen >= 1000, "stats.stream_maxlen", "at least 1000")


@dataclass(frozen=True)
class Auth:
    metrics_token_required: bool = False  # refuse to start without SILVERLINE_METRICS_TOKEN
    metrics_open: bool = False  # /metrics without a token: closed unless opened on purpose
    secure_cookie: bool = False  # the session cookie's Secure flag even on plain HTTP requests
    # Failed sign-ins allowed per 15 minutes: per user name and address, per address, in all.
    login_attempts: int = 5
    login_attempts_per_address: int = 20
    login_attempts_total: int = 100

    def check(self) -> None:
        for name in ("login_attempts", "login_attempts_per_address", "login_attempts_total"):
            require(1 <= getattr(self, name) <= 100_000, f"auth.{name}", "from 1 to 100000")


@dataclass(frozen=True)
class Privacy:
    """How long personal data and the audit trail are kept (docs/data-protection.md)."""

    audit_days: int = 180  # the audit trail: who did what, when, from where
    call_record_hours: int = 24  # a call's record (number, name, age) after its last change
    callback_days: int = 8  # out-of-hours call-back requests (the caller's number)
    event_days: int = 400  # the statistics event stream (call sids, wrap-up notes)

    def check(self) -> None:
        for name in ("audit_days", "callback_days", "event_days"):
            require(1 <= getattr(self, name) <= 3650, f"privacy.{name}", "days from 1 to 3650")
        require(
            6 <= self.call_record_hours <= 24 * 90, "privacy.call_record_hours", "hours, 6 to 2160"
        )


@dataclass(frozen=True)
class AlertSettings:
    """Rules a supervisor is told of on the dashboard and at `webhook_url` (docs/supervisors.md)."""

    webhook_url: str = ""  # JSON posted on each alert firing and resolving; "" = dashboard only
    senior_wait_seconds: int = 30  # a senior waiting longer than this in a queue; 0 = off
    service_level_minutes: int = 15  # a queue's service level over this window under its target
    service_level_min_calls: int = 5  # ... once at least this many calls were answered or lost
    offered_stuck_seconds: int = 120  # an agent ringing this long: their leg is lost
    on_call_max_seconds: int = 3600  # an agent on one call this long: its end may be lost
    check_seconds: int = 15  # how often the rules are evaluated
    webhook_attempts: int = 8  # deliveries are retried with doubling waits from 5 s

    def check(self) -> None:
        require(
            not self.webhook_url or self.webhook_url.startswith(("http://", "https://")),
            "alerts.webhook_url",
            "an http:// or https:// URL, or empty",
        )
        require(self.senior_wait_seconds >= 0, "alerts.senior_wait_seconds", "seconds, 0 or more")
        require(
            5 <= self.service_level_minutes <= 240,
            "alerts.service_level_minutes",
            "minutes from 5 to 240",
        )
        require(self.service_level_min_calls >= 1, "alerts.service_level_min_calls", "at least 1")
        for name in ("offered_stuck_seconds", "on_call_max_seconds"):
            require(getattr(self, name) >= 30, f"alerts.{name}", "seconds, at least 30")
        require(1 <= self.check_seconds <= 300, "alerts.check_seconds", "seconds from 1 to 300")
        require(1 <= self.webhook_attempts <= 20, "alerts.webhook_attempts", "from 1 to 20")


@dataclass(frozen=True)
class WrapUpCode:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class WrapUp:
    codes: tuple[WrapUpCode, ...] = ()

    def check(self) -> None:
        codes = [c.code for c in self.codes]
        for code in codes:
            require(
                bool(re.match(r"^[a-z][a-z0-9_]{0,30}$", code)),
                "wrap_up.codes",
                f"lower-case codes such as call_back (not {code!r})",
            )
        require(len(set(codes)) == len(codes), "wrap_up.codes", "codes that differ")


@dataclass(frozen=True)
class CampaignSettings:
    # The most of the staffed agents that return visits (docs/campaigns.md) may hold at once:
    # inbound callers keep the rest, and a visit takes only an idle agent anyway.
    agent_share: float = 0.1
    # Agents (any skill) a visit always leaves available for whoever calls next; 0: none
    # beyond the senior reserve (routing.senior_reserve).
    keep_idle: int = 0

    def check(self) -> None:
        require(
            0.0 <= self.agent_share <= 1.0,
            "campaigns.agent_share",
            "a share from 0 (no return visits) to 1",
        )
        require(0 <= self.keep_idle <= 1000, "campaigns.keep_idle", "0 to 1000 agents")


@dataclass(frozen=True)
class EngineSettings:
    """The sections the engine (routing/) reads."""

    hotline: Hotline = Hotline()
    redis: RedisSettings = RedisSettings()
    fallback: Fallback = Fallback()
    ivr: Ivr = Ivr()
    business_hours: BusinessHours = BusinessHours()
    routing: Routing = Routing()
    queues: dict[str, QueueSettings] = field(default_factory=dict)
    stats: StatsSettings = StatsSettings()
    auth: Auth = Auth()
    privacy: Privacy = Privacy()
    alerts: AlertSettings = AlertSettings()
    wrap_up: WrapUp = WrapUp()
    campaigns: CampaignSettings = CampaignSettings()
    dialect_regions: dict[str, str] = field(default_factory=dict)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.hotline.timezone)

    def check(self) -> None:
        """Each section's own checks (next to its fields), then those across sections."""
        for section in (
            self.hotline,
            self.redis,
            self.fallback,
            self.business_hours,
            self.ivr,
            self.routing,
            self.stats,
            self.wrap_up,
            self.privacy,
            self.alerts,
            self.campaigns,
            self.auth,
        ):
            section.check()
        for name, queue in self.queues.items():
            queue.check(name)
            if queue.overflow_kind() == "queue":
                target = self.queues.get(queue.overflow_to)
                # one hop: a caller moved by overflow is never moved again, so no cycle
                require(
                    target is not None and target.overflow_kind() != "queue",
                    f"queues.{name}.overflow_to",
                    "a queue that exists and does not itself overflow to a queue",
                )
        require(
            self.privacy.call_record_hours * 3600 >= self.routing.max_call_seconds,
            "privacy.call_record_hours",
            "at least routing.max_call_seconds (a live call keeps its record)",
        )
        for required in ("senior", "general"):
            require(required in self.queues, f"queues.{required}", "a queue table (it is required)")
        for topic in self.ivr.topics:
            require(
                topic.queue in self.queues, "ivr.topics", f"queues that exist (no '{topic.queue}')"
            )


# Environment variables with names of their own (README.md, "Configuration") that the engine's
# sections read; everything else is SILVERLINE__<SECTION>__<KEY>.
ENGINE_ENV = {"REDIS_URL": "redis.url"}
_S = TypeVar("_S", bound=EngineSettings)


def read_config(
    overrides: Mapping[str, Any] | None,
    env: Mapping[str, str],
    config_path: str | Path | None,
    named_env: Mapping[str, str],
) -> tuple[dict[str, Any], Path]:
    """The raw tables: the TOML file, then the environment, then dotted-key overrides."""
    path = Path(config_path or env.get("SILVERLINE_CONFIG") or DEFAULT_CONFIG)
    raw = _read_toml(path)
    for reserved in ("secrets", "config_path"):
        if reserved in raw:
            raise SettingsError(f"config key '{reserved}' cannot be set in {path}")
    for name, dotted in named_env.items():
        if env.get(name):
            _set_dotted(raw, dotted, env[name])
    for name, value in env.items():
        if name.startswith("SILVERLINE__"):
            _set_dotted(raw, name.removeprefix("SILVERLINE__").lower().replace("__", "."), value)
    for dotted, value in (overrides or {}).items():
        _set_dotted(raw, dotted, value)
    return raw, path


def build_settings(cls: type[_S], raw: dict[str, Any]) -> _S:
    """Typed, coerced and checked settings of class `cls` from raw tables."""
    settings: _S = _build(cls, raw, "")
    settings.check()
    return settings


def load_engine_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_path: str | Path | None = None,
) -> EngineSettings:
    """The engine's sections alone, for the engine's own tests and tools. The app's sections
    in the file are left out here; the app's loader (ivr/settings.py) reads and checks them."""
    env = os.environ if environ is None else environ
    raw, _ = read_config(overrides, env, config_path, ENGINE_ENV)
    mine = {f.name for f in dataclasses.fields(EngineSettings)}
    return build_settings(EngineSettings, {k: v for k, v in raw.items() if k in mine})


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


def require(ok: bool, key: str, form: str) -> None:
    if not ok:
        raise SettingsError(f"config key '{key}' must be {form}")
