"""The staff and account pages at a phone's and a laptop's width: nothing makes the page scroll
sideways (a wide table scrolls inside its own region), and axe finds nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.browser import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

SLUG = "leaders-summit-2021-migration"


def assert_fits(page: Page) -> None:
    width = page.viewport_size["width"]
    scrolled = page.evaluate("document.documentElement.scrollWidth")
    assert scrolled <= width, f"{page.url} is {scrolled} px wide in a {width} px window"


def check(page: Page, url: str) -> None:
    page.goto(url)
    assert_fits(page)
    assert_accessible(page)


@pytest.mark.parametrize("width", [390, 1280])
def test_staff_pages_fit_the_window_and_pass_axe(live_server, browser, celery_worker, width):
    base = live_server
    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        check(page, f"{base}/auth/login")
        sign_in(page, base, "admin@example.org")
        for path in (
            "/admin/users",
            "/admin/consultations",
            "/admin/consultations/new",
            f"/admin/consultations/{SLUG}/edit",
            "/account/",
        ):
            check(page, base + path)

        # A report compiled by the worker (asking twice gives the same report).
        check(page, f"{base}/reports/")
        page.get_by_role("button", name=re.compile("whole consultation: North American")).click()
        expect(page.get_by_role("link", name="PDF document")).to_be_visible(timeout=90_000)
        assert_fits(page)
        assert_accessible(page)
        check(page, f"{base}/reports/")
    finally:
        context.close()
