"""The pages under their Content Security Policy in chromium: they load and work, and the
browser reports no violation (ivr/web/headers.py).

Violations are caught twice: the page's `securitypolicyviolation` events (recorded by a
script Playwright installs before the page's own) and the console's "Refused to ..." errors.
Each test ends with a control: a connection the policy forbids must be reported, so a
silent checker cannot pass the test.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from routing.queues.agents import Agent
from tests.web.browser.conftest import LiveServer, Watch, add_user, sign_in
from tests.web.conftest import SENIOR

pytestmark = pytest.mark.browser

A01 = Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))


def test_the_dashboard_draws_updates_and_forces_under_the_policy(
    watch: Watch, live_server: LiveServer
) -> None:
    live, page = live_server, watch.page
    live.engine.agents.save(A01)
    sign_in(page, live, "sue", add_user(live, "sue", "supervisor"))
    expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))  # supervisor.js ran
    live.engine.router.arrive("CA-C1", SENIOR, "senior")
    expect(page.locator("#c-senior-waiting")).to_have_text("1")
    expect(page.locator("#histogram line").first).to_be_attached()  # the SVG chart drew
    page.click("#force-a01-available")
    expect(page.locator("#force-dialog")).to_be_visible()
    page.click("#force-confirm")  # a fetch with the CSRF header, to 'self'
    expect(page.locator("#agent-a01-state")).to_have_text("振铃")  # offered the waiting senior
    assert page.locator("h1.flush").evaluate("e => getComputedStyle(e).marginTop") == "0px"
    watch.assert_none_then_control()


def test_the_demo_console_works_under_the_policy(watch: Watch, live_server: LiveServer) -> None:
    live, page = live_server, watch.page
    live.engine.agents.save(A01)
    sign_in(page, live, "a01", add_user(live, "a01", "agent", "a01"))
    expect(page.locator("#live")).to_have_attribute("data-live", "on")
    expect(page.locator("#phone-reg")).to_have_attribute("data-reg", "demo")
    page.click("#btn-available")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "available")
    live.engine.router.arrive("CA-C2", SENIOR, "senior")
    expect(page.locator("#elderly-banner")).to_be_visible()
    watch.assert_none_then_control()


@pytest.mark.usefixtures("account")
def test_the_vendored_sdk_loads_and_may_reach_twilio(watch: Watch, live_server: LiveServer) -> None:
    """The real SDK, from 'self', opens its signalling socket to Twilio unrefused (the
    socket then fails: there is no network here, which is not the policy's doing)."""
    live, page = live_server, watch.page
    live.engine.agents.save(A01)
    sign_in(page, live, "a01", add_user(live, "a01", "agent", "a01"))
    assert page.evaluate("typeof window.Twilio.Device") == "function"
    page.wait_for_event("websocket", predicate=lambda s: "twilio.com" in s.url)
    assert any(re.match(r"wss://voice-js\.[a-z0-9-]+\.twilio\.com/", u) for u in watch.sockets)
    watch.assert_none_then_control()
