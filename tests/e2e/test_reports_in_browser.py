"""A council member's report in Chromium: ask, watch, read, download, publish, respond."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

SLUG = "leaders-summit-2021-migration"


def test_the_council_reads_publishes_and_answers_a_report(live_server, page, celery_worker):
    base = live_server
    sign_in(page, base, "council@example.org")
    page.get_by_role("link", name="Reports", exact=True).click()
    assert_accessible(page)
    page.get_by_role("button", name=re.compile("whole consultation: North American")).click()
    expect(page.get_by_role("heading", name=re.compile("Council version"))).to_be_visible()
    # The worker fans out per item and assembles; the page polls and reloads when done.
    expect(page.get_by_role("link", name="PDF document")).to_be_visible(timeout=90_000)
    expect(page.get_by_role("heading", name="Briefing")).to_be_visible()
    expect(page.get_by_role("heading", name="Themes of the comments").first).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Coalitions"))).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as pdf:
        page.get_by_role("link", name="PDF document").click()
    assert pdf.value.suggested_filename.endswith(".pdf")
    with page.expect_download() as sheet:
        page.get_by_role("link", name=re.compile("Spreadsheet")).click()
    assert sheet.value.suggested_filename.endswith(".xlsx")

    page.get_by_role("button", name="Prepare the public version").click()
    publish = page.get_by_role("button", name="Publish it on the consultation's page")
    expect(publish).to_be_visible(timeout=90_000)
    publish.click()
    expect(page.get_by_text("The public version is published")).to_be_visible()
    page.get_by_role("link", name="See it as the public does").click()
    expect(page.get_by_role("heading", name="Report on the whole consultation")).to_be_visible()
    assert_accessible(page)

    # "We asked, you said, we did": the council answers P4, from the keyboard.
    page.goto(f"{base}/c/{SLUG}/items/P4")
    page.get_by_role("link", name="Record the council's response on P4").click()
    page.get_by_label("Accepted", exact=True).check()
    page.get_by_label("Theme (optional)").fill("Shelter capacity")
    page.get_by_label("Rationale").fill("We will fund **two** new shelters in the south.")
    page.get_by_role("button", name="Publish and tell the organisations").press("Enter")
    expect(page.get_by_text("Response published")).to_be_visible()
    assert_accessible(page)
    page.goto(f"{base}/c/{SLUG}/items/P4")
    expect(page.get_by_text("Theme: Shelter capacity")).to_be_visible()
