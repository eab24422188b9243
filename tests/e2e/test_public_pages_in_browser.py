"""The public pages in Chromium at a phone's width and a laptop's: nothing scrolls sideways, axe
finds no violation, and the item page's search works from its form."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import assert_accessible

pytestmark = [pytest.mark.browser]

CONSULTATION = "/c/leaders-summit-2021-migration"
ITEM = f"{CONSULTATION}/items/P4"  # the demo's published feedback and council response
PAGES = ("/", CONSULTATION, f"{ITEM}?stance=support&language=en&q=the", f"{ITEM}/versions/1")


def assert_no_sideways_scroll(page) -> None:  # noqa: ANN001 - Playwright's Page
    scroll, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= viewport, f"{page.url}: {scroll} px wide in a {viewport} px window"


@pytest.mark.parametrize("width", [390, 1280])
def test_the_public_pages_fit_the_screen_and_pass_axe(live_server, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    for address in PAGES:
        page.goto(live_server + address)
        assert_no_sideways_scroll(page)
        assert_accessible(page)


def test_the_item_pages_search_form_filters_the_published_feedback(live_server, page):
    page.set_viewport_size({"width": 390, "height": 900})
    page.goto(live_server + ITEM)
    page.get_by_label("Stance").select_option("oppose")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"stance=oppose"))
    expect(page.locator("[data-results]")).to_contain_text("match your search")
    for stance in page.locator("article.app-published-entry .app-entry-facts").all():
        expect(stance).to_contain_text("Oppose")
    page.get_by_role("link", name="Clear the search").click()
    expect(page.locator("[data-results]")).not_to_contain_text("match your search")
    assert_no_sideways_scroll(page)
    assert_accessible(page)
