"""The feedback form and moderation decisions as people meet them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Consultation, Feedback, FeedbackRevision, FeedbackState, Item
from app.models.base import utcnow
from tests.conftest import csrf_token, submit_form

pytestmark = [pytest.mark.postgres]

FORM = "/c/leaders-summit-2021-migration/items/P1/feedback"


def test_submitting_without_a_stance_keeps_what_was_typed(seeded, client, login):
    login(client, "stakeholder@example.org")
    response = submit_form(
        client, FORM, priority="3", comment="Our careful words", submit="Submit feedback"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a stance." in page
    assert "Our careful words" in page
    assert 'class="error-summary"' in page


def test_priority_out_of_range_is_refused(seeded, client, login):
    login(client, "stakeholder@example.org")
    response = submit_form(
        client, FORM, stance="oppose", priority="9", comment="x", submit="Submit feedback"
    )
    assert response.status_code == 422
    with seeded.app_context():
        assert (
            db.session.scalar(
                select(db.func.count()).select_from(Feedback).where(Feedback.comment == "x")
            )
            == 0
        )


def test_draft_is_saved_then_submitted_with_a_revision(seeded, client, login):
    login(client, "stakeholder@example.org")
    response = submit_form(client, FORM, stance="neutral", comment="First thoughts", save="Save")
    assert response.status_code == 302
    assert "First thoughts" in client.get(FORM).get_data(as_text=True)
    response = submit_form(
        client, FORM, stance="neutral", priority="2", comment="Final words", submit="Submit"
    )
    assert response.status_code == 302
    with seeded.app_context():
        fb = db.session.scalar(select(Feedback).where(Feedback.comment == "Final words"))
        assert fb.state is FeedbackState.SUBMITTED
        revisions = db.session.scalars(
            select(FeedbackRevision).where(FeedbackRevision.feedback_id == fb.id)
        ).all()
        assert [r.snapshot["comment"] for r in revisions] == ["Final words"]


def test_a_colleagues_later_save_is_not_overwritten(seeded, client, login, app):
    first, second = app.test_client(), app.test_client()
    login(first, "stakeholder@example.org")
    login(second, "lead@example.org")
    submit_form(first, FORM, stance="support", comment="Version A", save="Save")
    stale_page = second.get(FORM).get_data(as_text=True)
    submit_form(first, FORM, stance="support", comment="Version B", save="Save")
    response = second.post(
        FORM,
        data={
            "csrf_token": csrf_token(stale_page),
            "stance": "oppose",
            "comment": "Version C",
            "lock_version": re.search(r'name="lock_version"[^>]*value="(\d+)"', stale_page)[1],
            "save": "Save",
        },
    )
    page = response.get_data(as_text=True)
    assert "A colleague saved this feedback" in page
    assert "Version C" in page  # the second colleague's text is kept on screen
    with seeded.app_context():
        stored = db.session.scalar(
            select(Feedback.comment).where(Feedback.comment.like("Version%"))
        )
        assert stored == "Version B"


def test_closed_consultation_refuses_feedback(seeded, client, login):
    with seeded.app_context():
        db.session.execute(update(Consultation).values(closes_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    login(client, "stakeholder@example.org")
    page = client.get(FORM).get_data(as_text=True)
    assert "not open for feedback" in page
    assert 'name="comment"' not in page


def test_two_moderators_cannot_both_decide(seeded, app, login):
    with seeded.app_context():
        fb_id = db.session.scalar(
            select(Feedback.id)
            .join(Item)
            .where(Feedback.state == FeedbackState.SUBMITTED, Item.code == "P3")
        )
    first, second = app.test_client(), app.test_client()
    login(first, "moderator@example.org")
    login(second, "admin@example.org")
    page = first.get("/moderation/").get_data(as_text=True)
    token_b = csrf_token(second.get("/moderation/").get_data(as_text=True))
    published = first.post(f"/moderation/{fb_id}/publish", data={"csrf_token": csrf_token(page)})
    assert published.status_code == 302
    response = second.post(
        f"/moderation/{fb_id}/reject", data={"csrf_token": token_b, "reason": "dup"}
    )
    assert response.status_code == 409
    assert "already been decided" in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.get(Feedback, fb_id).state is FeedbackState.PUBLISHED


def test_moderator_has_no_feedback_form(seeded, client, login):
    login(client, "moderator@example.org")
    page = client.get(FORM).get_data(as_text=True)
    assert "Only members of an organisation can give feedback." in page
