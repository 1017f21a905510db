"""`silverline doctor`'s checks: what an operator must know before the first caller.

Each check answers ok, warn or fail, with the fix in one line. `/healthz` stays cheap (one
Redis round trip, for a load balancer every few seconds); this is the deep look, run by hand
or after a deploy: it asks Twilio's API and reads Redis's configuration.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from redis.exceptions import RedisError
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from dialects.check import check as check_pack
from dialects.check import recorded_packs
from dialects.packs import default_packs
from ivr.runtime.demo import is_loopback
from ivr.runtime.provision import webhooks
from ivr.settings import Settings
from ivr.telephony import rest_client
from ivr.web.softphone import access_token
from routing.engine import Engine
from routing.exceptions import SettingsError
from routing.queues.hours import hours_on, is_open
from routing.settings import Fallback
from routing.store import RedisClient, server_version

OK, WARN, FAIL = "ok", "warn", "fail"
SKEW_WARN_S, SKEW_FAIL_S = 5.0, 60.0
TICKER_SILENT_S = 10.0  # the ticker beats every second; ten missed beats is no ticker
REDIS_MIN = (6, 2)  # docs/deploy.md: Redis 6.2+
LISTPACK_ENTRIES = 1024  # routing/keys.py: the directory's buckets
LISTPACK_VALUE = 128  # routing/keys.py: one customer's record


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""


def worst(checks: list[Check]) -> str:
    """The overall status: fail over warn over ok."""
    found = {c.status for c in checks}
    return FAIL if FAIL in found else WARN if WARN in found else OK


# -- Twilio ---------------------------------------------------------------------------


def public_url(settings: Settings) -> Check:
    """Set, https, and what signatures are computed on."""
    url, live = settings.twilio.public_url, _live(settings)
    if not url:
        if live:
            return Check(
                "public URL",
                FAIL,
                "credentials are set but no public URL: Twilio would "
                f"be handed {settings.public_base} URLs it cannot reach",
                "set SILVERLINE_PUBLIC_URL=https://<public host>",
            )
        return Check(
            "public URL",
            WARN,
            "not set: signatures use each request's own host (fine for the demo)",
            "set SILVERLINE_PUBLIC_URL=https://<host> to go live",
        )
    if urlsplit(url).scheme != "https" and live:
        return Check(
            "public URL",
            FAIL,
            f"{url} is not https",
            "serve over TLS and set SILVERLINE_PUBLIC_URL=https://...",
        )
    return Check("public URL", OK, f"{url} (webhook signatures are checked against it)")


def _live(settings: Settings) -> bool:
    """Credentials for Twilio's cloud (not the demo's, not a local Twilio)."""
    api = settings.twilio.api_base_url
    local = bool(api) and is_loopback(urlsplit(api).hostname or "")
    return bool(settings.secrets.twilio_account_sid) and not local


def twilio_client(settings: Settings) -> Client | None:
    """The REST client the server would use; in demo mode the local Twilio, if configured."""
    if settings.secrets.twilio_account_sid or settings.twilio.api_base_url:
        return rest_client(settings)
    if settings.twilio.local_port:  # `make run` points its server at this one
        local = f"http://127.0.0.1:{settings.twilio.local_port}"
        return rest_client(_with_api(settings, local))
    return None


def _with_api(settings: Settings, url: str) -> Settings:
    return replace(settings, twilio=replace(settings.twilio, api_base_url=url))


def twilio_checks(settings: Settings, client: Client | None, wall: datetime) -> Iterator[Check]:
    """Credentials, the clock against Twilio's, the number's webhooks, the softphone's key."""
    if client is None:
        yield Check(
            "credentials",
            WARN,
            "demo mode, no Twilio to ask",
            "set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
        )
        return
    sid = settings.secrets.account_sid
    url = f"{client.api.base_url}/2010-04-01/Accounts/{sid}.json"
    try:
        answer = client.request("GET", url)
    except (TwilioException, OSError) as exc:
        yield Check(
            "credentials",
            FAIL,
            f"Twilio's API at {client.api.base_url} cannot be reached: {exc}",
            "check the network (or start `make run`'s local Twilio)",
        )
        return
    yield _account(answer.status_code, answer.text)
    if answer.status_code != 200:
        return
    yield _clock(answer.headers, wall)
    yield number_webhooks(settings, client)
    yield api_key(settings, client)


def _account(status: int, text: str) -> Check:
    if status == 401:
        return Check(
            "credentials",
            FAIL,
            "Twilio refused TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN",
            "copy both again from the Console's Account Info",
        )
    if status != 200:
        return Check(
            "credentials",
            FAIL,
            f"the account fetch answered {status}: {text[:120]}",
            "check TWILIO_ACCOUNT_SID",
        )
    account = json.loads(text)
    if account.get("status") != "active":
        return Check(
            "credentials",
            FAIL,
            f"the account is {account.get('status')}",
            "reactivate it in the Console",
        )
    return Check("credentials", OK, f"account {account.get('friendly_name')!r} is active")


def _clock(headers: Any, wall: datetime) -> Check:
    try:
        theirs = parsedate_to_datetime(dict(headers or {}).get("Date", ""))
    except (TypeError, ValueError):
        return Check("clock", WARN, "Twilio's answer had no Date header to compare with")
    skew = (wall - theirs).total_seconds()
    detail = f"{skew:+.1f} s against Twilio's Date header"
    fix = "synchronise the clock (NTP): Access Tokens and every wait are timed by it"
    if abs(skew) > SKEW_FAIL_S:
        return Check("clock", FAIL, detail, fix)
    return Check("clock", WARN if abs(skew) > SKEW_WARN_S else OK, detail, fix)


def number_webhooks(settings: Settings, client: Client) -> Check:
    """The hotline's number sends its calls, fallback and status callbacks here."""
    number = settings.twilio.caller_id
    account = client.api.v2010.accounts(settings.secrets.account_sid)
    try:
        owned = [
            n
            for n in account.incoming_phone_numbers.list(phone_number=number)
            if n.phone_number == number
        ]
    except (TwilioException, OSError) as exc:
        return Check("number", FAIL, f"could not list the numbers: {exc}", "retry")
    if not owned:
        return Check(
            "number",
            FAIL,
            f"the account does not own {number} (twilio.caller_id)",
            "set SILVERLINE__TWILIO__CALLER_ID to the hotline's number",
        )
    wrong = [
        f"{attr} is {getattr(owned[0], attr)}"
        for attr, url in webhooks(settings.public_base).items()
        if getattr(owned[0], attr) != url
    ]
    if wrong:
        return Check(
            "number", FAIL, f"{number}: " + "; ".join(wrong), "run `silverline twilio setup`"
        )
    return Check("number", OK, f"{number} sends its calls to {settings.public_base}/voice/...")


def api_key(settings: Settings, client: Client) -> Check:
    """The softphone's key signs a token, and Twilio takes the key."""
    s = settings.secrets
    if not (s.twilio_api_key_sid and s.twilio_api_key_secret):
        if s.demo:
            return Check("API key", OK, "demo mode: the console's demo phone needs none")
        return Check(
            "API key",
            WARN,
            "not set: the console's softphone is off",
            "run `silverline twilio setup`",
        )
    access_token(settings, "doctor")  # what /agent/token signs, signed the same way
    # A Standard key may not read Accounts or Keys (https://www.twilio.com/docs/usage/api/keys):
    # the TwiML App (or the numbers) is what it can read.
    path = f"Applications/{s.twilio_twiml_app_sid}" if s.twilio_twiml_app_sid else "Applications"
    url = f"{client.api.base_url}/2010-04-01/Accounts/{s.account_sid}/{path}.json"
    try:
        answer = client.request("GET", url, auth=(s.twilio_api_key_sid, s.twilio_api_key_secret))
    except (TwilioException, OSError) as exc:
        return Check("API key", FAIL, f"could not ask Twilio: {exc}", "retry")
    refused = {
        401: (f"Twilio refused key {s.twilio_api_key_sid}", "set the lines it prints"),
        404: (f"TwiML App {s.twilio_twiml_app_sid} does not exist", "set TWILIO_TWIML_APP_SID"),
    }.get(answer.status_code)
    if refused:
        return Check("API key", FAIL, refused[0], f"run `silverline twilio setup` and {refused[1]}")
    return Check("API key", OK, f"{s.twilio_api_key_sid} signs tokens and Twilio accepts it")


# -- Redis and the server --------------------------------------------------------------


def redis_checks(engine: Engine) -> Iterator[Check]:
    """Reachable, its version, persistence, eviction policy, hash encoding."""
    try:
        version = server_version(engine.redis)
    except Exception as exc:  # any failure to reach it is the finding
        yield Check("redis", FAIL, f"unreachable: {exc}", "check REDIS_URL and the server")
        return
    numbers = tuple(int(p) for p in version.split(".")[:2] if p.isdigit())
    old = numbers < REDIS_MIN
    yield Check(
        "redis",
        FAIL if old else OK,
        f"version {version}",
        "upgrade to Redis 6.2 or later" if old else "",
    )
    try:
        config = read_config(engine.redis)
    except Exception as exc:  # managed services often refuse CONFIG
        yield Check(
            "redis config",
            WARN,
            f"CONFIG GET refused ({exc})",
            "check persistence, maxmemory-policy noeviction and hash settings by hand",
        )
        return
    yield from config_checks(config)


def read_config(client: RedisClient) -> dict[str, str]:
    """Return the server's configuration (one node's, on a cluster)."""
    found: Any = client.config_get("*")
    if found and all(isinstance(v, dict) for v in found.values()):  # a cluster: per node
        found = next(iter(found.values()))
    return {str(k): str(v) for k, v in found.items()}


def config_checks(config: dict[str, str]) -> Iterator[Check]:
    """Persistence, eviction policy and the directory's hash encoding, from CONFIG GET."""
    aof = config.get("appendonly") == "yes"
    yield Check(
        "redis persistence",
        OK if aof else WARN,
        "append-only file" if aof else f"no append-only file (save {config.get('save')!r})",
        "" if aof else "CONFIG SET appendonly yes: a crash loses at most a second",
    )
    policy = config.get("maxmemory-policy", "")
    yield Check(
        "redis eviction",
        OK if policy == "noeviction" else FAIL,
        f"maxmemory-policy {policy}",
        ""
        if policy == "noeviction"
        else "CONFIG SET maxmemory-policy noeviction (and in redis.conf): an "
        "evicting Redis drops queues, agents and customers",
    )
    yield _hashes(config)


def _hashes(config: dict[str, str]) -> Check:
    # Redis 7 renamed hash-max-ziplist-* to hash-max-listpack-* (keeping the old names as
    # aliases); name the setting as the server in front of the operator spells it.
    name = "listpack" if "hash-max-listpack-entries" in config else "ziplist"
    entries = int(config.get(f"hash-max-{name}-entries") or 0)
    value = int(config.get(f"hash-max-{name}-value") or 0)
    needs = (("entries", entries, LISTPACK_ENTRIES), ("value", value, LISTPACK_VALUE))
    small = [f"hash-max-{name}-{key} {need}" for key, have, need in needs if have < need]
    return Check(
        "redis hashes",
        WARN if small else OK,
        f"hash-max-{name}-entries {entries}, hash-max-{name}-value {value}",
        f"CONFIG SET {' '.join(small)} (and in redis.conf): the directory takes about twice "
        "the memory without it"
        if small
        else "",
    )


def check_store(client: RedisClient) -> list[Check]:
    """Refuse a Redis that evicts; return the warnings of `config_checks` to log at start-up."""
    try:
        config = read_config(client)
    except RedisError as exc:  # unreachable, or CONFIG renamed away: /healthz and doctor say
        return [
            Check(
                "redis config",
                WARN,
                f"could not read the configuration ({exc})",
                "check persistence, maxmemory-policy noeviction and hash settings by hand",
            )
        ]
    found = list(config_checks(config))
    for check in found:
        if check.status == FAIL:
            raise SettingsError(f"Redis has {check.detail}: {check.fix}. Refusing to start.")
    return [c for c in found if c.status == WARN]


def ticker(engine: Engine, wall: datetime) -> Check:
    """Some server's ticker beat within the last few seconds."""
    fix = "start `silverline serve` (each worker runs the ticker)"
    try:
        raw = engine.redis.get(engine.keys.ticker())
    except Exception as exc:
        return Check("ticker", FAIL, f"cannot read its beat: {exc}", fix)
    if raw is None:
        return Check("ticker", FAIL, "no server's ticker has beaten in the last minute", fix)
    age = wall.timestamp() - int(raw) / 1000
    if age > TICKER_SILENT_S:
        return Check("ticker", FAIL, f"last beat {age:.0f} s ago", fix)
    return Check("ticker", OK, f"last beat {max(age, 0):.1f} s ago")


# -- settings that shape calls -----------------------------------------------------------


def hours(settings: Settings, wall: datetime) -> Check:
    """Business hours, holidays and time zone: open now, or when it next opens."""
    h, tz = settings.business_hours, settings.tz
    local = wall.astimezone(tz)
    if is_open(wall, h, tz):
        return Check("hours", OK, f"open now ({local:%H:%M} {tz.key})")
    for days in range(0, 367):
        day = (local + timedelta(days=days)).date()
        span = hours_on(day, h)
        if span is None:
            continue
        opens = datetime.combine(day, span[0], tz)
        if opens > local:
            return Check("hours", OK, f"closed now; opens {opens:%a %Y-%m-%d %H:%M} {tz.key}")
    return Check(
        "hours",
        FAIL,
        "the hotline does not open in the coming year",
        "check business_hours (weekdays, holidays, special_days)",
    )


def dialect_packs() -> Check:
    """Every recorded pack plays each prompt, or its gaps are listed (a gap is spoken by the
    fallback pack's voice, so it warns: the caller still hears the prompt)."""
    packs = default_packs()
    gaps: list[str] = []
    for code in recorded_packs(packs):
        found = [f.status for f in check_pack(packs, code)]
        spoken, broken = found.count("spoken"), found.count("broken")
        if spoken or broken:
            gaps.append(f"{code}: {spoken} prompts without a recording, {broken} broken")
    if not gaps:
        return Check("dialects", OK, f"{len(packs.codes)} packs complete")
    return Check(
        "dialects", WARN, "; ".join(gaps), "`silverline dialects check` lists what to record"
    )


def fallback_line(settings: Settings) -> Check:
    number = settings.fallback.number
    if number == Fallback().number:
        return Check(
            "fallback line",
            WARN,
            f"{number} is the shipped example",
            "set fallback.number to a line that rings people without Silverline",
        )
    return Check("fallback line", OK, f"{number} (+{len(settings.fallback.alternates)} alternates)")


def agent_share(settings: Settings, engine: Engine) -> Check:
    """campaigns.agent_share rounds down per staffed agents (route.lua): below 1/share agents,
    no return visit is ever placed."""
    share = settings.campaigns.agent_share
    team = len(engine.agents.all())
    if team == 0:
        return Check(
            "agents",
            WARN,
            "no agents: every caller would reach the fallback line",
            "add the team (`silverline agents add`)",
        )
    allowed = round(share * 1000) * team // 1000  # as route.lua: floor(vsh * staffed / 1000)
    if share > 0 and allowed == 0:
        need = math.ceil(1 / share)
        return Check(
            "campaigns.agent_share",
            WARN,
            f"{share} of {team} agents rounds down to no "
            f"return visit at all (needs {need} staffed)",
            f"raise campaigns.agent_share to at least {1 / max(team, 1):.2f}",
        )
    return Check("campaigns.agent_share", OK, f"{share}: up to {allowed} of {team} agents")


def run_all(settings: Settings, engine: Engine, client: Client | None) -> list[Check]:
    """Every check, in the order an operator fixes things."""
    wall = datetime.now(UTC)  # the doctor compares real clocks: the wall's, Twilio's
    steps: list[Callable[[], Iterator[Check] | Check]] = [
        lambda: public_url(settings),
        lambda: twilio_checks(settings, client, wall),
        lambda: redis_checks(engine),
        lambda: ticker(engine, wall),
        lambda: hours(settings, wall),
        dialect_packs,
        lambda: fallback_line(settings),
        lambda: agent_share(settings, engine),
    ]
    found: list[Check] = []
    for step in steps:
        got = step()
        found.extend([got] if isinstance(got, Check) else list(got))
    return found
