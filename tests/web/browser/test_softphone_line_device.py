"""The console's Voice SDK Device connecting the open line itself, in chromium (issue 37).

Twilio's signalling cannot be reached from here: the page gets a stand-in `Twilio.Device`
that records `connect` and answers it as the test says. The end to end of the same toggle,
through the local Twilio's TwiML App, is tests/web/browser/test_open_line_console.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from routing.queues.agents import Agent
from tests.web.browser.conftest import LiveServer, add_user, sign_in

pytestmark = pytest.mark.browser

A01 = Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))

# A Device whose connect() resolves to a call, or rejects when window.__connectFails is set.
STAND_IN = """
(function () {
  var log = [];
  function on(name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); }
  function emit(name, arg) { (this.handlers[name] || []).forEach(function (fn) { fn(arg); }); }
  function Call() { this.handlers = {}; }
  Call.prototype.on = on; Call.prototype.emit = emit;
  function Device() { this.handlers = {}; }
  Device.prototype.on = on; Device.prototype.emit = emit;
  Device.prototype.register = function () {
    var self = this;
    setTimeout(function () { self.emit("registered"); }, 50);
    return Promise.resolve();
  };
  Device.prototype.updateToken = function () {};
  Device.prototype.connect = function (options) {
    log.push(["connect", options.params]);
    document.body.setAttribute("data-connects", String(log.length));  // for expect() to see
    if (window.__connectFails) { return Promise.reject({ code: 31005, message: "gone" }); }
    return Promise.resolve(new Call());
  };
  window.__device = { log: log };
  window.Twilio = { Device: Device };
})();
"""


@pytest.fixture
def console(account: None, live_server: LiveServer, browser_page: Page) -> Page:
    """a01's console, available, with the stand-in Device registered."""
    live_server.engine.agents.save(A01)
    browser_page.add_init_script(STAND_IN)
    sign_in(browser_page, live_server, "a01", add_user(live_server, "a01", "agent", "a01"))
    expect(browser_page.locator("#phone-reg")).to_have_attribute("data-reg", "registered")
    browser_page.click("#btn-available")
    expect(browser_page.locator("#agent-state")).to_have_attribute("data-state", "available")
    return browser_page


def _connects(page: Page) -> list[list[Any]]:
    found: list[list[Any]] = page.evaluate("window.__device.log")
    return found


def test_the_toggle_makes_the_device_connect_the_line_and_rest_leaves_it(
    console: Page, live_server: LiveServer
) -> None:
    with console.expect_request("**/agent/open-line") as sent:
        console.click("#btn-open-line")
    assert "device=1" in (sent.value.post_data or "")
    expect(console.locator("#btn-open-line")).to_have_attribute("aria-checked", "true")
    expect(console.locator("body")).to_have_attribute("data-connects", "1")
    assert _connects(console) == [["connect", {"purpose": "open-line"}]]
    assert live_server.engine.router.lines().to_open == []  # no REST leg placed for it


def test_a_device_that_cannot_connect_hands_the_line_to_rest(console: Page) -> None:
    console.evaluate("window.__connectFails = true")
    with console.expect_request(
        lambda r: r.url.endswith("/agent/open-line") and "device=failed" in (r.post_data or "")
    ):
        console.click("#btn-open-line")
    assert _connects(console) == [["connect", {"purpose": "open-line"}]]
