"""The thin path as people do it in Chromium, with axe-core checking every page on the way."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import assert_accessible, sign_in, sign_out

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

ITEM = "/c/leaders-summit-2021-migration/items/P2"
COMMENT = "Seasonal visas should let workers change employer without losing status."


def test_stakeholder_to_council_in_a_real_browser(live_server, page, celery_worker):
    base = live_server
    page.goto(base + "/")
    assert_accessible(page)

    sign_in(page, base, "lead@example.org")
    page.goto(base + ITEM)
    assert_accessible(page)
    page.get_by_role("button", name="Give feedback on P2").click()  # a GOV.UK link button
    assert_accessible(page)

    # An incomplete submission comes back with an error summary and the text kept.
    page.get_by_label("Comment").fill(COMMENT)
    page.get_by_role("button", name="Submit feedback").click()
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    expect(page.get_by_label("Comment")).to_have_value(COMMENT)
    assert_accessible(page)

    page.get_by_label("Support with amendments").check()
    page.get_by_label("4 – high").check()
    page.get_by_label("Labour migrants").check()
    page.get_by_label("Proposed amendment (replacement wording)").fill(
        "Seasonal visas shall allow a change of employer."
    )
    page.get_by_role("button", name="Submit feedback").click()
    expect(page.get_by_text("Your feedback was submitted with reference")).to_be_visible()
    sign_out(page)

    sign_in(page, base, "moderator@example.org")
    page.goto(base + "/moderation/")
    assert_accessible(page)
    entry = page.locator("tr.queue-entry").filter(has_text=COMMENT)
    entry.locator("th a").click()  # decided on its review page, where every field is shown
    page.locator("#publish-form button").click()
    expect(page.get_by_text("Published.")).to_be_visible()
    sign_out(page)

    page.goto(base + ITEM)
    expect(page.get_by_text(COMMENT)).to_be_visible()
    public_tally = page.locator('section[aria-labelledby="tally-title"]')
    expect(public_tally.locator('[data-stance="support_with_amendments"]')).to_have_text("2")

    sign_in(page, base, "council@example.org")
    page.goto(base + ITEM)
    page.get_by_role("button", name="Compile a report on P2").click()
    expect(page.get_by_role("heading", name=re.compile("Council version"))).to_be_visible()
    assert_accessible(page)
    # The progress view polls and reloads; the finished report shows the counts.
    tally = page.locator('section[aria-labelledby="tally-title"]')
    expect(tally.locator('td[data-stance="support_with_amendments"]')).to_have_text(
        "2", timeout=30_000
    )
    expect(tally.locator('td[data-priority="4"]')).to_have_text("1")
    assert_accessible(page)


def test_skip_link_is_the_first_tab_stop(live_server, page):
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"


def test_pages_are_served_in_spanish_when_chosen(live_server, page):
    page.goto(live_server + "/auth/login")
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Change").click()
    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "es"
    assert_accessible(page)


def test_consultation_progress_and_version_pages_are_accessible(live_server, page):
    sign_in(page, live_server, "lead@example.org")
    page.goto(live_server + "/c/leaders-summit-2021-migration")
    expect(page.get_by_text("Submitted feedback on")).to_be_visible()
    assert_accessible(page)
    page.goto(live_server + ITEM + "/versions/1")
    expect(page.get_by_text("first version of the text")).to_be_visible()
    assert_accessible(page)


def test_the_deadline_is_shown_in_the_readers_time_zone(live_server, browser):
    context = browser.new_context(locale="en-US", timezone_id="America/Mexico_City")
    tab = context.new_page()
    tab.goto(live_server + "/c/leaders-summit-2021-migration")
    deadline = tab.locator("time[data-local]")
    expect(deadline).to_contain_text("CST")
    assert "UTC" not in deadline.inner_text()
    context.close()
