"""The console as a phone, in chromium.

On a Twilio account the page runs the vendored Voice JavaScript SDK. Twilio's signalling
service cannot be reached from here, so the test gives the page a stand-in `Twilio.Device`
(the only stand-in: the SDK itself still loads from the app and adds its other classes
beside it, as it does to any `Twilio` object already on the page) that records what the page
asks of it. In demo mode the page's phone answers a call that the offline Twilio places
through the live server, end to end.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from playwright.sync_api import Browser, Page, expect

from ivr.simulator.core.people import VirtualCaller
from ivr.simulator.live import live_simulator
from ivr.web.demo_phone import phone_options
from routing.queues.agents import Agent
from tests.demo_served import within
from tests.served import WITHIN_S
from tests.web.browser.conftest import ACCOUNT, KEY_SECRET, LiveServer, add_user, sign_in
from tests.web.conftest import SENIOR

pytestmark = pytest.mark.browser

A01 = Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))

# Installed before the page's scripts: a Device that records register/accept/... calls.
STAND_IN = """
(function () {
  var log = [];
  var phone = { log: log, devices: [] };
  function on(name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); }
  function emit(name, arg) { (this.handlers[name] || []).forEach(function (fn) { fn(arg); }); }
  function Device(token, options) {
    this.handlers = {}; this.token = token; log.push(["new", token]); phone.devices.push(this);
  }
  Device.prototype.on = on; Device.prototype.emit = emit;
  Device.prototype.register = function () {
    var self = this; log.push(["register"]);
    self.emit("registering");
    setTimeout(function () { self.emit("registered"); }, 50);
    return Promise.resolve();
  };
  Device.prototype.updateToken = function (t) { log.push(["updateToken", t]); this.token = t; };
  function Call(params) { this.handlers = {}; this.parameters = params; this.muted = false; }
  Call.prototype.on = on; Call.prototype.emit = emit;
  Call.prototype.accept = function () { log.push(["accept"]); this.emit("accept", this); };
  Call.prototype.reject = function () { log.push(["reject"]); this.emit("reject", this); };
  Call.prototype.disconnect = function () {
    log.push(["disconnect"]); this.emit("disconnect", this);
  };
  Call.prototype.mute = function (m) { log.push(["mute", m]); this.muted = m; };
  Call.prototype.isMuted = function () { return this.muted; };
  phone.ring = function (params) { phone.devices[0].emit("incoming", new Call(params)); };
  phone.expire = function () { phone.devices[0].emit("tokenWillExpire"); };
  window.__phone = phone;
  window.Twilio = { Device: Device };
})();
"""


@pytest.fixture
def account_server(account: None, live_server: LiveServer) -> LiveServer:
    return live_server


def _log(page: Page) -> list[list[Any]]:
    found: list[list[Any]] = page.evaluate("window.__phone.log")
    return found


def _open(page: Page, live: LiveServer, agent: Agent = A01) -> None:
    live.engine.agents.save(agent)
    sign_in(page, live, agent.id, add_user(live, agent.id, "agent", agent.id))
    expect(page.locator("#live")).to_have_attribute("data-live", "on")


def _registered(page: Page, live: LiveServer) -> None:
    """Open the console with the stand-in Device and wait for it to register."""
    page.add_init_script(STAND_IN)
    _open(page, live)
    expect(page.locator("#phone-reg")).to_have_attribute("data-reg", "registered")


def test_the_console_registers_a_device_with_the_agents_token_and_answers_in_the_page(
    browser_page: Page, account_server: LiveServer
) -> None:
    live, page = account_server, browser_page
    sdk: list[int] = []
    page.on("response", lambda r: sdk.append(r.status) if "twilio-voice-sdk" in r.url else None)
    page.add_init_script(STAND_IN)
    _open(page, live)
    assert sdk == [200]  # the SDK came from the app ...
    assert page.evaluate("typeof window.Twilio.PreflightTest") == "function"  # ... and ran
    expect(page.locator("#phone-reg")).to_have_attribute("data-reg", "registered")
    log = _log(page)
    assert [entry[0] for entry in log[:2]] == ["new", "register"]
    claims = jwt.decode(log[0][1], KEY_SECRET, algorithms=["HS256"])
    assert claims["grants"]["identity"] == "a01" and claims["sub"] == ACCOUNT

    page.click("#btn-available")
    live.engine.router.arrive("CA-S1", SENIOR, "senior")  # the card pops before the ring
    expect(page.locator("#elderly-banner")).to_be_visible()
    page.evaluate("window.__phone.ring({From: '+8613902200060', To: 'client:a01'})")
    expect(page.locator("#phone-ringing")).to_be_visible()
    expect(page.locator("#caller-name")).to_have_text("陈婉仪")  # beside the ringing phone
    page.click("#btn-answer")
    expect(page.locator("#btn-hangup")).to_be_visible()
    expect(page.locator("#phone-ringing")).to_be_hidden()
    page.click("#btn-mute")
    expect(page.locator("#btn-mute")).to_have_attribute("aria-pressed", "true")
    page.click("#btn-hangup")
    expect(page.locator("#btn-hangup")).to_be_hidden()
    assert [e for e in _log(page) if e[0] != "updateToken"][2:] == [
        ["accept"],
        ["mute", True],
        ["disconnect"],
    ]


@pytest.fixture
def polled_page(browser: Browser) -> Iterator[Page]:
    """A page not held to the Content Security Policy (test_csp.py's pages are): this test
    waits with wait_for_function, whose predicate Playwright evaluates with eval, which the
    policy refuses once the wait has to poll (it failed a CI run)."""
    context = browser.new_context(locale="zh-CN", bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def test_the_token_is_refreshed_before_it_expires_and_decline_rejects(
    polled_page: Page, account_server: LiveServer
) -> None:
    live, page = account_server, polled_page
    _registered(page, live)
    page.evaluate("window.__phone.expire()")
    page.wait_for_function(
        "window.__phone.log.some(function (e) { return e[0] === 'updateToken'; })"
    )
    fresh = next(e[1] for e in _log(page) if e[0] == "updateToken")
    assert jwt.decode(fresh, KEY_SECRET, algorithms=["HS256"])["grants"]["identity"] == "a01"
    page.evaluate("window.__phone.ring({})")
    page.click("#btn-decline")
    expect(page.locator("#phone-ringing")).to_be_hidden()
    assert ["reject"] in _log(page) and ["accept"] not in _log(page)


def test_auto_answer_picks_up_by_itself_and_is_kept_on_the_agent(
    browser_page: Page, account_server: LiveServer
) -> None:
    live, page = account_server, browser_page
    _registered(page, live)
    with page.expect_response("**/agent/auto-answer"):
        page.check("#auto-answer")
    expect(page.locator("#auto-answer")).to_be_checked()
    page.evaluate("window.__phone.ring({})")
    expect(page.locator("#btn-hangup")).to_be_visible()  # answered after the tone
    assert ["accept"] in _log(page)
    stored = live.engine.agents.get("a01")
    assert stored is not None and stored.auto_answer


def test_microphone_trouble_is_explained_in_plain_words(
    browser_page: Page, account_server: LiveServer
) -> None:
    """Chromium here has no microphone and no permission for one: the page says what to do."""
    page = browser_page
    page.add_init_script(STAND_IN)
    _open(page, account_server)
    expect(page.locator("#phone-error")).to_be_visible()
    expect(page.locator("#phone-error")).to_contain_text("麦克风")


@pytest.mark.parametrize("code", [20151, 31201, 20104])
def test_an_authorization_error_is_explained_as_the_phones_sign_in_not_the_microphone(
    browser_page: Page, account_server: LiveServer, code: int
) -> None:
    """Voice SDK 2.x: 20151 (and the signalling code 31201 it maps from) is a refused token."""
    page = browser_page
    page.add_init_script(STAND_IN)
    _open(page, account_server)
    page.evaluate(f"window.__phone.devices[0].emit('error', {{code: {code}}})")
    expect(page.locator("#phone-error")).to_contain_text("电话登录已过期或无效")
    expect(page.locator("#phone-error")).not_to_contain_text("麦克风")


@pytest.fixture
def offline_twilio(live_server: LiveServer) -> Iterator[Any]:
    """The offline Twilio in real time against the live server, its phones from the store."""
    sim = live_simulator(live_server.url, live_server.engine.settings, seconds_per_char=0.0)
    sim.people.options_for = phone_options(live_server.engine)
    yield sim


def test_the_demo_phone_answers_a_call_of_the_offline_twilio_end_to_end(
    browser_page: Page, live_server: LiveServer, offline_twilio: Any
) -> None:
    live, page, sim = live_server, browser_page, offline_twilio
    assert SENIOR.customer is not None
    live.engine.directory.save(SENIOR.customer)  # a senior: the green channel, to a01
    _open(page, live)
    expect(page.locator("#phone-reg")).to_have_attribute("data-reg", "demo")
    page.click("#btn-available")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "available")

    leg = sim.place_call(
        VirtualCaller(SENIOR.number, sim.rng), live.engine.settings.twilio.caller_id
    )
    runner = threading.Thread(target=sim.run, kwargs={"until": 120.0}, daemon=True)
    runner.start()
    expect(page.locator("#btn-answer")).to_be_visible()  # the emulator waits for the click
    expect(page.locator("#caller-name")).to_have_text("陈婉仪")
    assert leg.bridged_at is None
    page.click("#btn-answer")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "on_call")
    expect(page.locator("#btn-hangup")).to_be_visible()
    assert leg.bridged_at is not None or any("connected" in x.text for x in leg.transcript)
    page.click("#btn-hangup")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "wrap_up")

    expect(page.locator("#wrap-up-form")).to_be_visible()
    page.select_option("#wrap-code", "claim")
    page.fill("#wrap-note-text", "问理赔进度")
    page.click("#btn-wrap-submit")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "available")
    runner.join(timeout=30)
    assert not runner.is_alive()
    assert "connected to client:a01" in [x.text for x in leg.transcript]
    events = [f for _, f in live.engine.redis.xrange(live.engine.keys.stats_events())]
    coded = [e for e in events if e["kind"] == "wrap_up" and e["call"] == leg.sid]
    assert [(e["agent"], e["code"], e["note"]) for e in coded] == [("a01", "claim", "问理赔进度")]


def test_the_demo_phone_shows_answer_only_once_the_offline_twilio_rings_it(
    browser_page: Page, live_server: LiveServer
) -> None:
    """The classic path offers a01 at once and rings their phone after the greeting: the
    console showed Answer from the offer, and a click then did nothing for seconds."""
    live, page = live_server, browser_page
    sim = live_simulator(live.url, live.engine.settings, seconds_per_char=0.1)  # a 3.5 s greeting
    sim.people.options_for = phone_options(live.engine)
    assert SENIOR.customer is not None
    live.engine.directory.save(SENIOR.customer)
    _open(page, live)
    expect(page.locator("#phone-reg")).to_have_attribute("data-reg", "demo")
    page.click("#btn-available")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "available")

    leg = sim.place_call(
        VirtualCaller(SENIOR.number, sim.rng), live.engine.settings.twilio.caller_id
    )
    runner = threading.Thread(target=sim.run, kwargs={"until": 120.0}, daemon=True)
    runner.start()
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "offered")
    answer = page.locator("#btn-answer")

    def rung() -> bool:
        shown = answer.is_visible()  # read first: a phone rung since shows at the next read
        ringing = "ringing client:a01" in [x.text for x in list(leg.transcript)]
        assert ringing or not shown, "an Answer button before a01's phone rang"
        return ringing

    assert within(WITHIN_S, rung) > 1.0  # offered well before the phone rang
    expect(answer).to_be_visible()
    page.click("#btn-answer")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "on_call")
    page.click("#btn-hangup")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "wrap_up")
    runner.join(timeout=30)
    assert "connected to client:a01" in [x.text for x in leg.transcript]


def test_a_call_too_short_to_be_seen_talking_still_asks_for_its_wrap_up(
    browser_page: Page, live_server: LiveServer
) -> None:
    """Ringing, then wrap-up at the next look of the event stream: the form still comes."""
    live, page = live_server, browser_page
    _open(page, live)
    page.click("#btn-available")
    live.engine.router.arrive("CA-S1", SENIOR, "senior")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "offered")
    live.engine.router.answered("CA-S1", "a01")
    live.engine.router.dial_result("CA-S1", "a01", "completed", 2)
    expect(page.locator("#wrap-up-form")).to_be_visible()
    page.select_option("#wrap-code", "call_back")
    page.click("#btn-wrap-submit")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "available")
    expect(page.locator("#wrap-up-form")).to_be_hidden()
    assert live.engine.wrap_ups.by_agent(live.engine.wrap_ups.today()) == {"a01": {"call_back": 1}}
