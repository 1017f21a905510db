"""Browser tests: a live server on a free port and Debian's chromium driven by Playwright.

`live_server` runs the real app (create_app on the session's test Redis, with a FixedClock
the test advances) in a werkzeug server thread. `browser_page` is a fresh Playwright page
(its own cookies) in a chromium shared by the session. `sign_in` signs a user in through the
login form; `add_user` creates one.

Without chromium or playwright the tests are skipped, unless SILVERLINE_REQUIRE_BROWSER is
set (CI sets it): then they fail, so a broken browser set-up cannot pass silently.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app
from ivr import services
from ivr.web.streams import stop_streams
from routing.clock import FixedClock
from routing.engine import Engine
from routing.governance.users import Users
from tests.conftest import CLUSTER

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REQUIRE = "SILVERLINE_REQUIRE_BROWSER"


@dataclass
class LiveServer:
    """The app served over HTTP, with the engine and clock behind it."""

    url: str  # base URL, no trailing slash
    app: Flask
    engine: Engine
    clock: FixedClock

    @property
    def users(self) -> Users:
        found: Users = services.of(self.app).engine.users
        return found


@pytest.fixture
def live_server(redis_url: str, clock: FixedClock) -> Iterator[LiveServer]:
    """Serve a fresh app on a free loopback port for one test."""
    app = create_app({"redis.url": redis_url, "redis.cluster": CLUSTER}, clock=clock)
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    engine: Engine = services.of(app).engine
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, engine, clock)
    finally:
        stop_streams(app)  # open event streams end at their next poll
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get(REQUIRE):
        pytest.fail(f"{REQUIRE} is set but the browser cannot run: {reason}", pytrace=False)
    pytest.skip(reason)
    raise AssertionError("unreachable")  # pragma: no cover


@pytest.fixture(scope="session")
def playwright_session() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright  # noqa: PLC0415
    except ImportError:
        _unavailable("playwright is not installed")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_session: Playwright) -> Iterator[Browser]:
    try:
        launched = playwright_session.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
    except Exception as exc:  # any launch failure means no browser here
        _unavailable(f"chromium did not start: {exc}")
    yield launched
    launched.close()


@pytest.fixture
def browser_page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh context: no cookies from another test."""
    context = browser.new_context(locale="zh-CN")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def add_user(live: LiveServer, name: str, role: str, agent_id: str = "") -> str:
    """Create a user; return their password."""
    password = secrets.token_urlsafe(12)
    live.users.add(name, password, role, agent_id)
    return password


def sign_in(page: Page, live: LiveServer, name: str, password: str, **goto: Any) -> None:
    """Sign in through the login form and wait for the page it leads to."""
    page.goto(f"{live.url}/login", **goto)
    page.fill("#name", name)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("#sign-in")
