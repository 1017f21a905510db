"""The dashboard's abandoned callers and one-click call-back, in chromium, under the CSP."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.web.browser.conftest import LiveServer, Watch, add_user, sign_in
from tests.web.conftest import SENIOR, YOUNGER

pytestmark = pytest.mark.browser


def test_a_supervisor_calls_back_an_abandoned_senior_with_one_click(
    watch: Watch,
    live_server: LiveServer,
) -> None:
    live, page = live_server, watch.page
    router = live.engine.router
    router.arrive("CA-Y", YOUNGER, "general")
    live.clock.advance(90)
    router.hangup("CA-Y")
    router.arrive("CA-S", SENIOR, "senior")
    live.clock.advance(30)
    router.hangup("CA-S")
    sign_in(page, live, "sue", add_user(live, "sue", "supervisor"))

    rows = page.locator("#abandoned tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_id("ab-CA-S")  # the senior first, though she waited less
    expect(rows.nth(0)).to_contain_text("陈婉仪 · 老年")
    expect(rows.nth(0)).to_contain_text("+86•••••••0060")
    expect(rows.nth(0)).to_contain_text("0:30")
    expect(rows.nth(1)).to_contain_text("1:30")

    page.click("#callback-CA-S")
    expect(rows.nth(0).locator(".callback-state")).to_have_text("已预约回拨")
    expect(page.locator("#callback-CA-S")).to_have_count(0)
    expect(page.locator("#abandoned-error")).to_be_hidden()
    [request] = live.engine.callbacks.pending()
    assert request.call_sid == "CA-S:cb" and request.senior
    [entry] = live.engine.audit.entries()[:1]
    assert (entry.action, entry.by, entry.target) == ("callback_scheduled", "sue", "CA-S")
    assert re.match(r"^\d+\.\d+\.\d+\.\d+$", entry.address)

    page.click("#abandoned-refresh")  # read again from the server: still booked
    expect(rows.nth(0).locator(".callback-state")).to_have_text("已预约回拨")
    watch.assert_none_then_control()
