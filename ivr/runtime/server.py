"""`silverline serve`: gunicorn in front of create_app(), with the embedded Redis around it."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask
from gunicorn.app.base import BaseApplication

from ivr import services
from ivr.runtime import alert_webhook, local_twilio, ticker
from ivr.runtime.demo import check_demo_host, demo_lines, seed_demo
from ivr.runtime.doctor import check_store
from ivr.runtime.logmask import without_credentials
from ivr.services import AppFactory
from ivr.settings import Settings, load_settings
from routing.queues.hours import is_open

log = logging.getLogger("silverline")


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """Gunicorn driven from code, with the app built once in the master (preload)."""

    def __init__(self, app: Flask, options: Mapping[str, Any]) -> None:
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        freeze_heap()  # called once, in the master, before it forks (preload)
        return self._app


def freeze_heap() -> None:
    """Exempt everything built at start-up from the cyclic garbage collector, for good.

    The app, the phone-number metadata and the geocoder's tables live as long as the process,
    yet each full (generation 2) collection walked them all: 40+ ms pauses that were the
    p99 of every endpoint (measured in BENCHMARKS.md). Frozen objects are never walked again;
    done before gunicorn forks, the collector also stops writing to (and so copying) the
    memory pages the workers share with the master.
    """
    gc.collect()
    gc.freeze()


def gunicorn_options(settings: Settings, app: Flask | None = None) -> dict[str, Any]:
    """The production server settings; the benchmarks use the same ones."""
    base = settings.public_base

    def post_worker_init(worker: Any) -> None:
        if app is not None:
            ticker.start(app, base)
            alert_webhook.start(app)

    return {
        "post_worker_init": post_worker_init,
        "bind": f"{settings.server.host}:{settings.server.port}",
        "workers": settings.server.workers,
        "threads": settings.server.threads,
        "worker_class": "gthread",
        "timeout": settings.server.timeout,
        "graceful_timeout": 5,
        "preload_app": True,
        "control_socket_disable": True,
        "accesslog": None,
        "loglevel": "info",
    }


def run(create_app: AppFactory, overrides: Mapping[str, Any]) -> None:
    """Build the app (starting the embedded Redis if needed), print where things are, serve."""
    configured = load_settings(overrides)
    check_demo_host(configured)  # before anything starts
    local = local_twilio.LocalTwilioProcess(configured) if local_twilio.wanted(configured) else None
    if local is not None:  # the server's REST client goes to it, with the demo credentials
        overrides = {**overrides, "twilio.api_base_url": local.url}
    try:
        app = create_app(overrides)
        engine = services.of(app).engine
        settings = services.of(app).settings
        for warning in check_store(engine.redis):  # refuses an evicting Redis
            click.echo(f"WARNING: {warning.name}: {warning.detail}; {warning.fix}", err=True)
        base = f"http://{settings.server.host}:{settings.server.port}"
        demo_users: dict[str, str] = {}
        if settings.server.seed_demo and settings.secrets.demo:
            demo_users = seed_demo(engine)
        now = engine.clock.now()
        click.echo(banner(settings, base, demo_users, now, local.url if local else ""))
        _Gunicorn(app, gunicorn_options(settings, app)).run()
    finally:
        if local is not None:
            local.stop()  # both stop together


def banner(
    settings: Settings,
    base: str,
    demo_users: Mapping[str, str] | None = None,
    now: datetime | None = None,
    local_twilio_url: str = "",
) -> str:
    public = settings.twilio.base or base
    store = without_credentials(settings.redis.url) or (
        f"embedded redis-server under {settings.redis.data_dir}/"
    )
    lines = [
        *demo_lines(settings),
        f"Silverline is starting on {base}",
        f"  Twilio voice URL (the number's webhook):  {public}/voice/incoming",
        f"  Twilio fallback URL:                     {public}/voice/fallback",
        f"  Agent console:                           {base}/agent",
        f"  Supervisor dashboard:                    {base}/supervisor",
        f"  Metrics (Prometheus):                    {base}/metrics",
        f"  Health:                                  {base}/healthz",
        f"  Redis:                                   {store}",
    ]
    lines += [f"  Local Twilio (REST API, callers):        {u}" for u in [local_twilio_url] if u]
    lines += _sign_ins(base, demo_users or {})
    if now is not None and not is_open(now, settings.business_hours, settings.tz):
        hours = settings.business_hours
        lines.append(
            f"The hotline is closed now ({hours.open}-{hours.close} {settings.tz.key}): callers "
            "hear the after-hours flow. To try the day flow, start with "
            "SILVERLINE__BUSINESS_HOURS__OPEN=00:00 SILVERLINE__BUSINESS_HOURS__CLOSE=23:59."
        )
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _sign_ins(base: str, demo_users: Mapping[str, str]) -> list[str]:
    """The banner's demo sign-ins and how to take a first call, if demo users were made."""
    if not demo_users:
        return []
    cli = Path(sys.executable).parent / "silverline"
    return [
        "Demo sign-ins (silverline users demo prints them again):",
        *(f"  {name:<12} {password}" for name, password in demo_users.items()),
        f"Agents start offline: sign in at {base}/agent and choose Available, "
        f"or run {cli} agents set-state a01 available",
        f"Place a simulated call: {cli} call +8613800138000 --url {base}",
    ]
