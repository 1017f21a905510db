"""`silverline doctor`: every check before the first caller (ivr/runtime/doctor.py)."""

from __future__ import annotations

import json
from dataclasses import asdict

import click

from ivr.runtime import doctor as checks
from ivr.runtime.embedded import open_store
from ivr.settings import load_settings
from routing.clock import SystemClock
from routing.engine import Engine
from routing.exceptions import SettingsError, SilverlineError

MARK = {checks.OK: "ok  ", checks.WARN: "warn", checks.FAIL: "FAIL"}


@click.command("doctor")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of lines.")
def doctor(as_json: bool) -> None:
    """Check settings, Twilio (credentials, the number's webhooks, the API key, the clock),
    Redis, the ticker, hours, dialect packs and the fallback line; exit 1 on a failure."""
    found = _run()
    overall = checks.worst(found)
    if as_json:
        rows = [asdict(c) for c in found]
        click.echo(json.dumps({"status": overall, "checks": rows}, ensure_ascii=False))
    else:
        for c in found:
            click.echo(f"{MARK[c.status]}  {c.name}: {c.detail}")
            if c.fix and c.status != checks.OK:
                click.echo(f"      fix: {c.fix}")
    if overall == checks.FAIL:
        raise SystemExit(1)


def _run() -> list[checks.Check]:
    try:
        settings = load_settings()
    except SettingsError as exc:
        fix = "correct that key in the config file or its environment variable"
        return [checks.Check("settings", checks.FAIL, str(exc), fix)]
    loaded = checks.Check("settings", checks.OK, f"loaded from {settings.config_path}")
    try:
        redis, _ = open_store(settings)
    except SilverlineError as exc:
        return [loaded, checks.Check("redis", checks.FAIL, str(exc), "check REDIS_URL")]
    engine = Engine(redis, SystemClock(), settings)
    try:
        return [loaded, *checks.run_all(settings, engine, checks.twilio_client(settings))]
    finally:
        redis.close()
