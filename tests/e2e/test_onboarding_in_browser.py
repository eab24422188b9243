"""An admin imports organisations from a CSV file in Chromium, axe on every page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import assert_accessible, sign_in
from tests.helpers.onboarding import csv_file, organisation_line

pytestmark = [pytest.mark.browser]


def test_an_admin_imports_organisations_and_reads_the_faulty_lines(live_server, page, tmp_path):
    faulty = tmp_path / "faulty.csv"
    faulty.write_bytes(csv_file(organisation_line(1), "Org B,charity,MX,,Lead,b@example.org,en"))
    valid = tmp_path / "valid.csv"
    valid.write_bytes(csv_file(organisation_line(1), organisation_line(2)))
    sign_in(page, live_server, "admin@example.org")
    page.get_by_role("link", name="Administration", exact=True).click()
    page.get_by_role("link", name="Import organisations").click()
    expect(page.get_by_role("heading", name="Import organisations")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("CSV file").set_input_files(str(faulty))
    page.get_by_role("button", name="Import the file").press("Enter")
    expect(page.get_by_role("alert").filter(has_text="There is a problem")).to_be_visible()
    faults = page.get_by_role("table", name="Lines that cannot be imported, with what to correct")
    expect(faults.get_by_role("row")).to_have_count(2)
    assert_accessible(page)

    page.get_by_label("CSV file").set_input_files(str(valid))
    page.get_by_role("button", name="Import the file").click()
    expect(page.get_by_role("heading", name="The file is imported")).to_be_visible()
    assert_accessible(page)
