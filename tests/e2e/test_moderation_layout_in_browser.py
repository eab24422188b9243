"""The moderation screens fit a phone (390 px) and a desktop (1280 px): the page never scrolls
sideways (a wide table scrolls inside its own region), and axe-core finds no violation."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Feedback, FeedbackState, User
from app.moderation import redactions
from tests.e2e.test_moderation_in_browser import seed_campaign
from tests.helpers.browser import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

SHOTS = os.environ.get("CONSULTA_SCREENSHOTS")  # a folder to keep screenshots in, when set


# The outermost elements reaching past the window's right edge, to say what widens the page.
WIDEST = """(width) => Array.from(document.querySelectorAll("body *"))
  .filter((e) => e.getBoundingClientRect().right > width + 1
    && !e.parentElement.closest(".app-table-scroll"))
  .slice(0, 8).map((e) => e.tagName + "." + e.className + " " + e.getBoundingClientRect().right)"""


def redacted_submission(app) -> int:
    """A submitted position with a public comment and one of its phrases redacted."""
    with app.app_context():
        feedback = db.session.scalars(
            select(Feedback)
            .where(Feedback.state == FeedbackState.SUBMITTED, Feedback.comment != "")
            .order_by(Feedback.id)
        ).first()
        moderator = db.session.scalar(select(User).where(User.email == "moderator@example.org"))
        words = feedback.comment.split()[1]
        redactions.redact_text(moderator.id, feedback.id, "comment", words, "Names a person.")
        return feedback.id


def fits(page: Page, width: int, name: str) -> None:
    """No sideways scroll at this width, and no accessibility violation."""
    page.wait_for_load_state("load")
    scroll = page.evaluate("document.documentElement.scrollWidth")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}-{width}.png", full_page=True)
    wide = page.evaluate(WIDEST, width) if scroll > width else []
    assert scroll <= width, f"{name} is {scroll} px wide in a {width} px window: {wide}"
    assert_accessible(page)


@pytest.mark.parametrize("width", [390, 1280])
def test_the_queue_a_review_page_and_the_audit_log_fit_the_window(
    seeded, live_server, browser, width
):
    seed_campaign(seeded, size=3)  # flagged submissions, their badges in the queue
    feedback_id = redacted_submission(seeded)
    context = browser.new_context(locale="en-GB", viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server, "moderator@example.org")

    page.goto(f"{live_server}/moderation/?order=-priority")
    expect(page.locator("tr.queue-entry").first).to_be_visible()
    expect(page.locator("th[data-sort=priority]")).to_have_attribute("aria-sort", "descending")
    expect(page.locator(".moj-badge").first).to_be_visible()
    fits(page, width, "queue")

    page.goto(f"{live_server}/moderation/feedback/{feedback_id}")
    expect(page.locator("#decide-title")).to_be_visible()
    expect(page.locator("#revision-history")).to_be_visible()
    expect(page.locator(".app-redacted-words").first).not_to_be_empty()
    fits(page, width, "review")

    page.goto(f"{live_server}/moderation/audit/")
    expect(page.locator("#audit-table")).to_be_visible()
    expect(page.locator("#audit-table")).to_contain_text("Words redacted")
    fits(page, width, "audit")

    for path, name in (
        ("/moderation/campaigns/", "campaigns"),
        ("/moderation/organisations/", "organisations"),
    ):
        page.goto(f"{live_server}{path}")
        fits(page, width, name)
    page.goto(f"{live_server}/moderation/campaigns/")
    page.locator("main a[href*='/moderation/campaigns/']").first.click()
    expect(page.locator("#bulk-heading")).to_be_visible()
    fits(page, width, "campaign")
    page.goto(f"{live_server}/moderation/organisations/")
    page.locator("main tbody a[href*='/moderation/organisations/']").first.click()
    fits(page, width, "organisation")
    context.close()


def test_the_queue_table_answers_the_keyboard_shortcuts(seeded, live_server, browser):
    context = browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, live_server, "moderator@example.org")
    page.goto(f"{live_server}/moderation/")
    rows = page.locator("tr.queue-entry")
    expect(rows.first).to_be_visible()
    focused = "document.activeElement.getAttribute('data-feedback')"

    page.keyboard.press("j")
    first = page.evaluate(focused)
    assert first == rows.nth(0).get_attribute("data-feedback")
    page.keyboard.press("j")
    assert page.evaluate(focused) == rows.nth(1).get_attribute("data-feedback")
    page.keyboard.press("k")
    assert page.evaluate(focused) == first
    page.keyboard.press("o")  # opens the focused submission's review page
    expect(page).to_have_url(f"{live_server}/moderation/feedback/{first}")

    page.goto(f"{live_server}/moderation/")
    page.keyboard.press("j")
    page.keyboard.press("p")  # publishes it from the list (it carries no flag)
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Published.")
    with seeded.app_context():
        assert db.session.get(Feedback, int(first)).state is FeedbackState.PUBLISHED
    context.close()
