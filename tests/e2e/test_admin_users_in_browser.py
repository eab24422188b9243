"""An admin changes a role and deactivates an account from the users table, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_an_admin_changes_a_role_and_deactivates_an_account(live_server, page):
    base = live_server
    sign_in(page, base, "admin@example.org")
    page.goto(f"{base}/admin/users")
    page.get_by_label("Role of Cam Council", exact=True).select_option(label="Moderator")
    page.get_by_role("button", name="Change the role of Cam Council").click()
    expect(page.get_by_text("Role changed.")).to_be_visible()
    expect(page.get_by_label("Role of Cam Council", exact=True)).to_have_value("moderator")

    page.get_by_role("button", name="Deactivate Cam Council").click()
    expect(page.get_by_text("Account deactivated.")).to_be_visible()
    row = page.locator("tr", has_text="council@example.org")
    expect(row.locator(".govuk-tag", has_text="Deactivated")).to_be_visible()
    assert_accessible(page)
    row.get_by_role("button", name="Reactivate Cam Council").click()
    expect(page.get_by_text("Account reactivated.")).to_be_visible()
    page.get_by_label("Role of Cam Council", exact=True).select_option(label="Council member")
    page.get_by_role("button", name="Change the role of Cam Council").click()
    expect(page.get_by_text("Role changed.")).to_be_visible()
