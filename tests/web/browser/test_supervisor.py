"""The supervisor dashboard in a real browser: live within a second, and closed to agents."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from routing.callers.caller import Caller
from routing.queues.agents import Agent
from routing.queues.router import Queued
from tests.web.browser.conftest import LiveServer, add_user, sign_in

pytestmark = pytest.mark.browser

SENIOR = Caller("", "+8613800138000", None, 78, "mandarin", True)
LIVE_MS = 1000  # the dashboard must show a change within a second


def open_dashboard(page: Page, live: LiveServer) -> None:
    sign_in(page, live, "sue", add_user(live, "sue", "supervisor"))
    assert page.url == f"{live.url}/supervisor"
    expect(page.locator("#live")).to_have_class(re.compile(r"\bon\b"))  # the stream is open


def test_a_waiting_senior_shows_live_then_the_answer_moves_answered_and_asa(
    browser_page: Page, live_server: LiveServer
) -> None:
    live = live_server
    live.engine.agents.save(
        Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))
    )  # offline: nobody is free
    page = browser_page
    open_dashboard(page, live)
    expect(page.locator("#c-senior-waiting")).to_have_text("0")
    expect(page.locator("#c-senior-answered")).to_have_text("0")
    expect(page.locator("#c-senior-asa")).to_have_text("—")

    assert isinstance(live.engine.router.arrive("CA-B1", SENIOR, "senior"), Queued)
    expect(page.locator("#c-senior-waiting")).to_have_text("1", timeout=LIVE_MS)
    expect(page.locator("#q-senior-waiting")).to_have_text("1 (1)", timeout=LIVE_MS)
    expect(page.locator("#senior-alert")).to_be_hidden()

    live.clock.advance(25)  # longer than the senior target (20 s)
    expect(page.locator("#c-senior-longest")).to_have_text("0:25", timeout=LIVE_MS)
    expect(page.locator("#c-senior-longest")).to_have_class(re.compile(r"\balert\b"))
    expect(page.locator("#senior-alert")).to_be_visible()
    expect(page.locator("#senior-alert")).to_contain_text("0:25")

    offers = live.engine.router.set_agent_state("a01", "available")
    assert [o.call_sid for o in offers] == ["CA-B1"]
    assert live.engine.router.answered("CA-B1", "a01") is not None
    expect(page.locator("#c-senior-answered")).to_have_text("1", timeout=LIVE_MS)
    expect(page.locator("#c-senior-asa")).to_have_text("25.0 s", timeout=LIVE_MS)
    expect(page.locator("#c-senior-waiting")).to_have_text("0")
    expect(page.locator("#senior-alert")).to_be_hidden()
    expect(page.locator("#q-senior-on_call")).to_have_text("1")
    expect(page.locator("#q-senior-senior-answered")).to_have_text("1")
    expect(page.locator("#q-senior-other-answered")).to_have_text("0")
    expect(page.locator("#histogram rect[data-class=senior][data-bucket='3']")).to_have_attribute(
        "height", re.compile(r"^[1-9]")
    )  # 25 s falls in the 20–30 s bucket


def test_the_language_toggle_switches_the_dashboard_to_english(
    browser_page: Page, live_server: LiveServer
) -> None:
    page = browser_page
    open_dashboard(page, live_server)
    expect(page.locator("h1")).to_have_text("监控台")
    with page.expect_navigation():
        page.click("#lang-toggle")
    expect(page.locator("h1")).to_have_text("Supervisor dashboard")
    assert page.url == f"{live_server.url}/supervisor"


def test_an_agent_cannot_open_the_dashboard(browser_page: Page, live_server: LiveServer) -> None:
    live = live_server
    live.engine.agents.save(Agent("a02", "陈家明", "client:a02", frozenset(), ("cantonese",)))
    page = browser_page
    sign_in(page, live, "a02", add_user(live, "a02", "agent", "a02"))
    assert page.url == f"{live.url}/agent"
    response = page.goto(f"{live.url}/supervisor")
    assert response is not None and response.status == 403
    expect(page.locator("#error-code")).to_have_text("403")
    events = page.request.get(f"{live.url}/supervisor/events")
    assert events.status == 403


def test_a_supervisor_forces_a_stuck_agent_available_after_confirming(
    browser_page: Page, live_server: LiveServer
) -> None:
    live = live_server
    live.engine.agents.save(Agent("a01", "王丽", "client:a01", frozenset(), ("mandarin",)))
    live.engine.router.set_agent_state("a01", "available")
    live.engine.router.arrive("CA-F1", SENIOR, "general")
    assert live.engine.router.answered("CA-F1", "a01") is not None
    live.clock.advance(2 * 3600 + 5)  # the call's end was never reported
    page = browser_page
    open_dashboard(page, live)
    state = page.locator("#agent-a01-state")
    expect(state).to_have_text("通话中")
    expect(page.locator("#agent-a01-since")).to_have_text(re.compile(r"^2:00:0\d$"))
    expect(page.locator("#forced")).to_have_text("暂无")

    page.click("#force-a01-available")  # asks first; cancelling changes nothing
    expect(page.locator("#force-dialog")).to_be_visible()
    expect(page.locator("#force-question")).to_contain_text("王丽（a01）")
    expect(page.locator("#force-consequence")).to_contain_text("CA-F1")
    page.click("#force-cancel")
    expect(page.locator("#force-dialog")).to_be_hidden()
    assert live.engine.agents.state("a01").state == "on_call"

    page.click("#force-a01-available")
    page.click("#force-confirm")
    expect(state).to_have_text("空闲", timeout=LIVE_MS)
    expect(page.locator("#agent-a01-since")).to_have_text(re.compile(r"^0:0\d$"))
    line = page.locator("#forced li.forced-line").first
    expect(line).to_contain_text("sue 将 a01 从「通话中」强制设为「空闲」")
    expect(line).to_contain_text("通话 CA-F1 已结束并计为完成")
    expect(page.locator("#force-error")).to_be_hidden()
    assert live.engine.agents.state("a01").state == "available"
    info = live.engine.router.call("CA-F1")
    assert info is not None and info.state == "done"
    # another supervisor's change (here the command line's) reaches the page live
    live.engine.router.force_agent_state("a01", "away", "ops", "cli")
    expect(state).to_have_text("离开", timeout=LIVE_MS)
    expect(page.locator("#forced li.forced-line").first).to_contain_text("ops（命令行）")


def test_the_ladder_marks_the_rung_the_longest_waiting_caller_has_reached(
    browser_page: Page, live_server: LiveServer
) -> None:
    live = live_server
    page = browser_page
    open_dashboard(page, live)
    # the shipped senior ladder: senior-trained in the dialect, any senior-trained at 30 s,
    # anyone at 45 s (config/silverline.toml)
    rungs = page.locator("#ladder-senior li")
    expect(rungs).to_have_count(3)
    expect(rungs.nth(1)).to_contain_text("30 s")
    expect(rungs.nth(2)).to_contain_text("45 s")
    expect(page.locator("#ladder-senior li.reached")).to_have_count(0)
    assert isinstance(live.engine.router.arrive("CA-L1", SENIOR, "senior"), Queued)
    reached = re.compile(r"\breached\b")
    expect(page.locator("#ladder-senior-1")).to_have_class(reached, timeout=LIVE_MS)
    live.clock.advance(31)
    expect(page.locator("#ladder-senior-2")).to_have_class(reached, timeout=LIVE_MS)
    expect(page.locator("#ladder-senior li.reached")).to_have_count(1)
