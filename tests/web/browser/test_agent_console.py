"""The agent console in a real browser: the elderly-caller banner, live, for seniors only."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from routing.queues.agents import Agent
from routing.queues.router import Offer
from tests.web.browser.conftest import LiveServer, open_console
from tests.web.conftest import SENIOR, YOUNGER

pytestmark = pytest.mark.browser

LIVE_MS = 1000  # the banner must appear within a second of the offer


def test_the_elderly_banner_appears_the_moment_a_senior_is_offered(
    browser_page: Page, live_server: LiveServer
) -> None:
    live, page = live_server, browser_page
    open_console(
        page, live, Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))
    )
    offer = live.engine.router.arrive("CA-S1", SENIOR, "senior")
    assert isinstance(offer, Offer) and offer.agent.id == "a01"

    banner = page.locator("#elderly-banner")
    expect(banner).to_be_visible(timeout=LIVE_MS)
    expect(banner).to_contain_text("老年来电 · 请放慢语速、耐心解答")
    expect(banner).to_contain_text("Elderly caller — speak slowly and clearly")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "offered")
    expect(page.locator("#caller-name")).to_have_text("陈婉仪")
    expect(page.locator("#caller-number")).to_have_text("+86•••••••0060")
    expect(page.locator("#caller-age")).to_have_text("72")
    expect(page.locator("#caller-dialect")).to_have_text("粤语")
    expect(page.locator("#caller-queue")).to_have_text("老年客户专线")

    # answered, then over: the banner stays through the call and goes with it
    live.engine.router.answered("CA-S1", "a01")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "on_call")
    expect(banner).to_be_visible()
    live.engine.router.dial_result("CA-S1", "a01", "completed", 60)
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "wrap_up")
    expect(banner).to_be_hidden()
    page.click("#btn-ready")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "available")


def test_no_banner_for_a_younger_caller_nor_for_another_agents_senior(
    browser_page: Page, live_server: LiveServer
) -> None:
    live, page = live_server, browser_page
    live.engine.agents.save(
        Agent("a02", "陈家明", "client:a02", frozenset({"senior"}), ("cantonese",))
    )
    live.engine.router.set_agent_state("a02", "available")
    open_console(page, live, Agent("a03", "张磊", "client:a03", frozenset(), ("mandarin",)))

    senior = live.engine.router.arrive("CA-S2", SENIOR, "senior")
    assert isinstance(senior, Offer) and senior.agent.id == "a02"  # not this agent's call
    younger = live.engine.router.arrive("CA-Y1", YOUNGER, "general")
    assert isinstance(younger, Offer) and younger.agent.id == "a03"

    expect(page.locator("#caller-name")).to_have_text("李明", timeout=LIVE_MS)
    expect(page.locator("#caller-age")).to_have_text("35")
    expect(page.locator("#elderly-banner")).to_be_hidden()
    expect(page.locator("body")).not_to_contain_text("陈婉仪")
