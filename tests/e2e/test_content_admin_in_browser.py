"""An admin publishes a new item and a new version of another in Chromium, axe on every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import assert_accessible, sign_in

pytestmark = [pytest.mark.browser]

SLUG = "task-force-migration-recommendations"


def test_an_admin_edits_the_content_with_the_keyboard(live_server, page):
    base = live_server
    sign_in(page, base, "admin@example.org")
    page.get_by_role("link", name="Administration", exact=True).click()
    expect(page.get_by_role("heading", name="Consultations")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="New consultation").click()  # a link drawn as a button
    assert_accessible(page)
    # A mistake comes back with an error summary that names the field, and the text kept.
    page.get_by_label("Title (Spanish)").fill("Movilidad laboral")
    page.get_by_role("button", name="Create the consultation").click()
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary).to_be_visible()
    expect(page.get_by_label("Title (Spanish)")).to_have_value("Movilidad laboral")
    assert_accessible(page)

    page.goto(f"{base}/admin/consultations")
    page.get_by_role("link", name="Task Force").first.click()
    assert_accessible(page)
    page.get_by_role("button", name="Add an item").click()
    page.get_by_label("Code").fill("R99")
    page.get_by_label("Title (English)").fill("Shared data on returns")
    page.get_by_label("Text (Markdown) (English)").fill("Publish **quarterly** figures.")
    page.get_by_label("Source document (English)").fill("Council working paper")
    # Submitted from the keyboard, as someone without a mouse would.
    page.get_by_label("Source document (English)").press("Enter")
    expect(page.get_by_text("Item R99 published.")).to_be_visible()

    page.get_by_role("link", name="R99 (edit)").click()
    assert_accessible(page)
    page.get_by_label("Title (French)").fill("Données partagées sur les retours")
    page.get_by_label("What changed").fill("French title added")
    page.get_by_role("button", name="Save the item").click()
    expect(page.get_by_text("Version 2 published.")).to_be_visible()

    page.goto(f"{base}/c/{SLUG}/items/R99")
    expect(page.locator("strong", has_text="quarterly")).to_be_visible()
    page.goto(f"{base}/c/{SLUG}/items/R99/versions/2")
    expect(page.get_by_text("French title added")).to_be_visible()


def test_a_long_summary_is_counted_as_typed_and_refused_with_the_text_kept(live_server, page):
    base = live_server
    sign_in(page, base, "admin@example.org")
    page.goto(f"{base}/admin/consultations/new")
    summary = page.get_by_label("Summary (English)")
    typed = "Seasonal work schemes. " * 870 + "Five"  # 20,014 characters: 14 too many
    summary.fill(typed)
    expect(page.get_by_text("You have 14 characters too many")).to_be_visible()
    page.get_by_label("Address (slug)").fill("long-summary-2027")
    page.get_by_label("Title (English)").fill("A long summary")
    page.get_by_label("Opens for comment (UTC)").fill("2027-01-10T09:00:00")
    page.get_by_label("Closes for comment (UTC)").fill("2027-03-10T17:00:00")
    page.get_by_role("button", name="Create the consultation").click()
    summary_box = page.get_by_role("alert").filter(has_text="There is a problem")
    expect(summary_box).to_contain_text("Field cannot be longer than 20000 characters.")
    expect(page.get_by_label("Summary (English)")).to_have_value(typed)  # nothing was cut
    assert_accessible(page)
