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
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
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
from routing.queues.agents import Agent
from tests.conftest import CLUSTER

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, WebSocket

# A Twilio account with an API key (the `account` fixture puts it in the environment).
ACCOUNT = "AC" + "a1" * 16
KEY_SID = "SK" + "b2" * 16
KEY_SECRET = "k" * 32  # a Twilio API key secret is 32 characters
# Records the page's Content Security Policy violations, installed before its own scripts.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


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


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Twilio account with an API key, in the environment the live server reads."""
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "auth-token-for-tests")
    monkeypatch.setenv("SILVERLINE_SECRET_KEY", "s" * 64)
    monkeypatch.setenv("SILVERLINE_PUBLIC_URL", "https://hotline.example.com")
    monkeypatch.setenv("TWILIO_API_KEY_SID", KEY_SID)
    monkeypatch.setenv("TWILIO_API_KEY_SECRET", KEY_SECRET)


@dataclass
class Watch:
    """What the browser refused on one page."""

    page: Page
    console: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)

    def violations(self) -> list[str]:
        events: list[str] = self.page.evaluate("window.__csp")
        refused = [m for m in self.console if "Content Security Policy" in m]
        return events + refused

    def assert_none_then_control(self) -> None:
        assert self.violations() == []
        self.page.evaluate("new WebSocket('wss://elsewhere.example/')")
        expect_violation = re.compile(r"connect-src wss://elsewhere\.example")
        self.page.wait_for_function("window.__csp.length > 0")
        assert any(expect_violation.match(v) for v in self.violations()), self.violations()


@pytest.fixture
def watch(browser_page: Page) -> Iterator[Watch]:
    """The test's page, its policy violations and console errors recorded."""
    found = Watch(browser_page)
    browser_page.add_init_script(LISTEN)

    def on_console(message: ConsoleMessage) -> None:
        found.console.append(message.text)

    def on_socket(socket: WebSocket) -> None:
        found.sockets.append(socket.url)

    browser_page.on("console", on_console)
    browser_page.on("websocket", on_socket)
    yield found


def open_console(page: Page, live: LiveServer, agent: Agent) -> None:
    """Add `agent` and their user, sign in, and set available from the page."""
    from playwright.sync_api import expect  # noqa: PLC0415  (the browser may be missing)

    live.engine.agents.save(agent)
    sign_in(page, live, agent.id, add_user(live, agent.id, "agent", agent.id))
    assert page.url == f"{live.url}/agent"
    expect(page.locator("#live")).to_have_attribute("data-live", "on")  # the stream is open
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "offline")
    page.click("#btn-available")  # a CSRF-checked POST from the page's script
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "available")
    expect(page.locator("#elderly-banner")).to_be_hidden()
    expect(page.locator("#no-caller")).to_be_visible()
