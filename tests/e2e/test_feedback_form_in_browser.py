"""The feedback form in Chromium: a long comment is counted, never cut, and the priority is
five labelled choices a keyboard reaches."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.helpers.browser import assert_accessible, sign_in
from tests.helpers.feedback import FORM, LEAD

pytestmark = [pytest.mark.browser, pytest.mark.postgres]


def test_a_long_comment_is_counted_and_kept_and_priority_is_chosen_by_keyboard(live_server, page):
    sign_in(page, live_server, LEAD)
    page.goto(live_server + FORM)
    comment = page.locator("#comment")
    expect(page.locator("#comment-info")).to_have_text("You can enter up to 20,000 characters")
    comment.fill("x" * 20_005)
    expect(page.get_by_text("You have 5 characters too many")).to_be_visible()
    assert comment.evaluate("element => element.value.length") == 20_005  # nothing was cut
    comment.fill("Shelters need funding.")
    expect(page.get_by_text("You have 19,978 characters remaining")).to_be_visible()

    # Priority: five radios with their labels, reached and chosen from the keyboard.
    page.get_by_label("3 – medium").focus()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_label("4 – high")).to_be_checked()
    assert_accessible(page)
