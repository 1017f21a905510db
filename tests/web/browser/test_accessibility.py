"""Every page and console state through axe-core (axe-playwright-python ships it), in both
languages: no serious or critical violation (https://dequeuniversity.com/rules/axe/)."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from routing.queues.agents import Agent
from tests.web.browser.conftest import LiveServer, add_user, open_console, sign_in
from tests.web.conftest import SENIOR

pytestmark = pytest.mark.browser

AXE = Axe()
LANGS = ("en", "zh")
# Flagged whatever axe's impact: a header a screen reader announces as nothing
ALWAYS = {"empty-table-header"}
SENIOR_AGENT = Agent("a01", "王丽", "client:a01", frozenset({"senior"}), ("mandarin",))


def serious(page: Page, where: str) -> list[str]:
    """The serious and critical violations on the page as it stands, one line each."""
    found: list[dict[str, Any]] = AXE.run(page).response["violations"]
    return [
        f"{where}: {v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in found
        if v["impact"] in ("serious", "critical") or v["id"] in ALWAYS
    ]


def choose(page: Page, lang: str) -> None:
    """Switch the page to `lang` with its own toggle, if it is not in it already."""
    wanted = "zh-CN" if lang == "zh" else "en"
    if page.locator("html").get_attribute("lang") != wanted:
        with page.expect_navigation():
            page.click("#lang-toggle")
    expect(page.locator("html")).to_have_attribute("lang", wanted)


@pytest.mark.parametrize("lang", LANGS)
def test_the_console_in_every_state_has_no_serious_violation(
    browser_page: Page, live_server: LiveServer, lang: str
) -> None:
    live, page = live_server, browser_page
    page.goto(f"{live.url}/login")
    choose(page, lang)
    found = serious(page, "sign-in")
    open_console(page, live, SENIOR_AGENT)
    choose(page, lang)
    found += serious(page, "console idle")
    live.engine.router.arrive("CA-S1", SENIOR, "senior")
    expect(page.locator("#elderly-banner")).to_be_visible()
    found += serious(page, "console ringing")
    live.engine.router.answered("CA-S1", "a01")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "on_call")
    found += serious(page, "console on a call")
    live.engine.router.dial_result("CA-S1", "a01", "completed", 60)
    expect(page.locator("#wrap-up-form")).to_be_visible()
    found += serious(page, "console in wrap-up")
    assert not found, "\n".join(found)


@pytest.mark.parametrize("lang", LANGS)
def test_the_supervisor_pages_have_no_serious_violation(
    browser_page: Page, live_server: LiveServer, lang: str
) -> None:
    live, page = live_server, browser_page
    live.engine.agents.save(SENIOR_AGENT)
    sign_in(page, live, "sup", add_user(live, "sup", "supervisor"))
    choose(page, lang)
    for section in ("#campaigns-section", "#abandoned-section"):
        expect(page.locator(section)).to_be_attached()
    found = serious(page, "dashboard, team, campaigns, abandoned callers")
    page.goto(f"{live.url}/supervisor/audit")
    found += serious(page, "audit")
    assert not found, "\n".join(found)


def test_the_console_works_by_keyboard_alone(browser_page: Page, live_server: LiveServer) -> None:
    """Available, then through a call to its wrap-up, with Tab and Enter only."""
    live, page = live_server, browser_page
    live.engine.agents.save(SENIOR_AGENT)
    sign_in(page, live, "a01", add_user(live, "a01", "agent", "a01"))
    expect(page.locator("#live")).to_have_attribute("data-live", "on")
    press_on(page, "#btn-available")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "available")
    live.engine.router.arrive("CA-S1", SENIOR, "senior")
    expect(page.locator("#elderly-banner")).to_be_visible()
    live.engine.router.answered("CA-S1", "a01")
    expect(page.locator("#agent-state")).to_have_attribute("data-state", "on_call")
    live.engine.router.dial_result("CA-S1", "a01", "completed", 60)
    expect(page.locator("#wrap-up-form")).to_be_visible()
    page.focus("#wrap-code")  # a select: chosen with the arrow keys
    page.keyboard.press("ArrowDown")
    press_on(page, "#btn-wrap-submit")
    expect(page.locator("#wrap-up-form")).to_be_hidden()
    assert sum(live.engine.wrap_ups.by_agent(live.engine.wrap_ups.today())["a01"].values()) == 1


def press_on(page: Page, selector: str, most: int = 60) -> None:
    """Tab until `selector` has the focus, then press Enter: what a keyboard user does."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.activeElement === document.querySelector('{selector}')"):
            page.keyboard.press("Enter")
            return
    raise AssertionError(f"{selector} is never reached with Tab")


def test_the_elderly_banner_is_announced(browser_page: Page, live_server: LiveServer) -> None:
    live, page = live_server, browser_page
    open_console(page, live, SENIOR_AGENT)
    banner = page.locator("#elderly-banner")
    expect(banner).to_have_attribute("role", "alert")
    expect(banner).to_have_attribute("aria-live", "assertive")
