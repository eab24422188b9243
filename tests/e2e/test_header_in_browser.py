"""The header: on one line at a laptop's width for the role with the most sections, behind a
"Menu" button on a phone with every section reachable, and the language bar on screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def open_as_admin(browser, base: str, width: int):
    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, base, "admin@example.org")
    return context, page


def test_the_header_is_one_line_at_1280_px(live_server, browser):
    context, page = open_as_admin(browser, live_server, 1280)
    try:
        tops = page.locator(".govuk-service-navigation__item").evaluate_all(
            "items => items.map(item => Math.round(item.getBoundingClientRect().top))"
        )
        assert len(tops) == 6  # five sections and "Sign out"
        assert len(set(tops)) == 1, f"the navigation wraps: rows at {sorted(set(tops))}"
        expect(page.get_by_role("button", name="Menu")).to_be_hidden()
    finally:
        context.close()


def test_on_a_phone_the_sections_open_from_the_menu_and_stay_on_screen(live_server, browser):
    context, page = open_as_admin(browser, live_server, 390)
    try:
        account = page.get_by_role("link", name="My account")
        expect(account).to_be_hidden()
        menu = page.get_by_role("button", name="Menu")
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(account).to_be_visible()
        for link in page.locator(".govuk-service-navigation__item").all():
            box = link.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
        language = page.get_by_label("Language")
        box = language.bounding_box()
        assert box and box["x"] + box["width"] <= 390
        account.click()
        expect(page.get_by_role("heading", name="My account", level=1)).to_be_visible()
    finally:
        context.close()
