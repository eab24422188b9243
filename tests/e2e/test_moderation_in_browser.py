"""A moderator clears a mixed queue, redacts, decides a campaign and verifies an organisation."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import insert, select

from app.extensions import db
from app.feedback.positions import new_reference
from app.models import (
    Feedback,
    FeedbackState,
    Item,
    Organization,
    OrganizationType,
    Stance,
    VerificationState,
)
from app.models.base import utcnow
from app.moderation import flagging
from tests.helpers.browser import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.redis, pytest.mark.worker]

CAMPAIGN_TEXT = (
    "We the undersigned demand that every seasonal visa lets workers change employer freely "
    "and that recruitment fees are banned across the whole region without exception."
)


def seed_campaign(app, size: int = 12) -> None:
    """`size` near-identical submissions on P5 from new verified organisations, flagged."""
    with app.app_context():
        item = db.session.scalar(select(Item).where(Item.code == "P5"))
        version_id = next(v.id for v in item.versions if v.number == item.current_version)
        now = utcnow()
        ids = []
        for n in range(size):
            org_id = db.session.execute(
                insert(Organization)
                .values(
                    name=f"Campaign signatory {n}",
                    type=OrganizationType.NGO,
                    country="HN",
                    verification=VerificationState.VERIFIED,
                    created_at=now,
                )
                .returning(Organization.id)
            ).scalar_one()
            feedback = Feedback(
                reference=new_reference(),
                item_id=item.id,
                item_version_id=version_id,
                organization_id=org_id,
                state=FeedbackState.SUBMITTED,
                stance=Stance.SUPPORT,
                priority=5,
                comment=f"{CAMPAIGN_TEXT} Signed in {n}.",
                affected_populations=[],
                countries=[],
                evidence_links=[],
                submitted_at=now,
            )
            db.session.add(feedback)
            db.session.flush()
            ids.append(feedback.id)
        db.session.commit()
        for feedback_id in ids:
            flagging.flag_feedback(feedback_id)


def open_submission(page: Page, base: str, text: str) -> None:
    page.goto(f"{base}/moderation/?q={text.split()[0]}")
    entry = page.locator("tr.queue-entry").filter(has_text=text)
    entry.locator("a[href*='/moderation/feedback/']").first.click()
    expect(page.locator("#decide-title")).to_be_visible()


def test_a_moderator_works_through_the_queue(seeded, live_server, browser, celery_worker):
    base = live_server
    seed_campaign(seeded)
    context = browser.new_context(locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, base, "moderator@example.org")

    page.goto(f"{base}/moderation/")
    expect(page.locator("tr.queue-entry").first).to_be_visible()
    assert_accessible(page)

    # Redact a phrase, then publish: the public sees [redacted].
    open_submission(page, base, "Root-cause funding")
    assert_accessible(page)
    page.locator("#redact-comment-text").fill("large contractors")
    page.locator("#redact-comment-reason").fill("Names a company indirectly.")
    page.locator("form.redact-form[data-field=comment] button").click()
    expect(page.locator("#redactions-section")).to_contain_text("Names a company indirectly.")
    page.locator("#publish-form button").click()
    public = context.new_page()
    public.goto(f"{base}/c/leaders-summit-2021-migration/items/P3")
    expect(public.locator("#published-title ~ article").first).to_contain_text("[redacted]")
    assert "large contractors" not in public.content()
    public.close()

    # Reject another with a reason from the list.
    open_submission(page, base, "retornos")
    page.locator("#reject-form select").select_option("off_topic")
    page.locator("#reject-form textarea").fill("This is about returns, not the item asked.")
    page.locator("#reject-form button").click()
    expect(page.locator(".flash-success")).to_be_visible()

    # The campaign: publish all of it, followed to the end by the progress bar.
    page.goto(f"{base}/moderation/campaigns/")
    assert_accessible(page)
    page.locator("main a[href*='/moderation/campaigns/']").first.click()
    assert_accessible(page)
    page.locator("input[name=kind][value=publish_all]").check()
    page.get_by_role("button", name="Apply to the campaign").click()
    expect(page.locator("#bulk-state")).to_have_attribute("data-status", "done", timeout=60_000)
    expect(page.locator("#bulk-count")).to_contain_text("12 of 12")

    # Verify the pending organisation.
    page.goto(f"{base}/moderation/organisations/")
    assert_accessible(page)
    page.get_by_role("button", name="Verify Diaspora Futures Collective").click()
    expect(page.locator(".flash-success")).to_be_visible()
    with seeded.app_context():
        diaspora = db.session.scalar(
            select(Organization).where(Organization.name == "Diaspora Futures Collective")
        )
        assert diaspora.verification is VerificationState.VERIFIED
        published = db.session.scalars(
            select(Feedback.state).where(Feedback.comment.like("We the undersigned%"))
        ).all()
        assert published and set(published) == {FeedbackState.PUBLISHED}
    context.close()
