"""The dashboard's report per agent and per dialect, in chromium, under the CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from routing.queues.agents import Agent
from routing.queues.router import Offer
from tests.web.browser.conftest import LiveServer, Watch, add_user, sign_in
from tests.web.conftest import SENIOR, YOUNGER

pytestmark = pytest.mark.browser


def test_the_dashboard_shows_each_agents_answers_and_the_dialects(
    watch: Watch,
    live_server: LiveServer,
) -> None:
    live, page = live_server, watch.page
    eng, router = live.engine, live.engine.router
    eng.agents.save(Agent("a01", "王芳", "client:a01", frozenset({"senior"}), ("cantonese",)))
    eng.agents.save(Agent("a02", "李强", "client:a02", frozenset(), ("mandarin",)))
    for sid, caller, queue, aid in (
        ("CA-S", SENIOR, "senior", "a01"),
        ("CA-Y", YOUNGER, "general", "a02"),
    ):
        router.set_agent_state(aid, "available")
        offer = router.arrive(sid, caller, queue)
        assert isinstance(offer, Offer) and offer.agent.id == aid
        live.clock.advance(3)
        router.answered(sid, aid)
        router.connected(sid, aid)
        live.clock.advance(60)
        router.dial_result(sid, aid, "completed", 60)
    sign_in(page, live, "sue", add_user(live, "sue", "supervisor"))

    rows = page.locator("#team tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("王芳 (a01)")
    cells = rows.nth(0).locator("td")
    expect(cells.nth(2)).to_have_text("1")  # answered
    expect(cells.nth(4)).to_have_text("1")  # seniors
    expect(cells.nth(5)).to_have_text("1:00")  # talk
    expect(rows.nth(1).locator("td").nth(4)).to_have_text("0")  # a02: no senior
    expect(page.locator("#team-chart rect.bar-senior")).to_have_count(2)
    dialects = page.locator("#dialects tbody tr")
    expect(dialects).to_have_count(2)
    expect(dialects.nth(0)).to_contain_text("cantonese")
    expect(dialects.nth(0)).to_contain_text("100%")
    expect(dialects.nth(1)).to_contain_text("mandarin")
    expect(dialects.nth(1)).to_contain_text("3.0 s")
    expect(page.locator("#team-error")).to_be_hidden()
    watch.assert_none_then_control()


def test_an_alert_shows_on_the_dashboard_and_goes_when_it_resolves(
    watch: Watch,
    live_server: LiveServer,
) -> None:
    live, page = live_server, watch.page
    live.engine.router.arrive("CA-S", SENIOR, "senior")
    live.clock.advance(40)
    live.engine.alerts.evaluate(force=True)
    sign_in(page, live, "sue", add_user(live, "sue", "supervisor"))
    item = page.locator("#alerts li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("senior 队列有老年客户已等待 40 秒")
    live.engine.router.hangup("CA-S")
    live.engine.alerts.evaluate(force=True)
    expect(page.locator("#alerts-section")).to_be_hidden()  # the live stream redraws
    watch.assert_none_then_control()
