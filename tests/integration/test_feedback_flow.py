"""The feedback form and moderation decisions as people meet them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import db
from app.models import Consultation, Feedback, FeedbackRevision, FeedbackState, Item
from app.models.base import utcnow
from tests.helpers.web import csrf_token, hidden_fields, submit_form

pytestmark = [pytest.mark.postgres]

FORM = "/c/leaders-summit-2021-migration/items/P1/feedback"


def test_submitting_without_a_stance_keeps_what_was_typed(seeded, client, login):
    login(client, "lead@example.org")
    response = submit_form(
        client, FORM, priority="3", comment="Our careful words", submit="Submit feedback"
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a stance." in page
    assert "Our careful words" in page
    assert 'class="govuk-error-summary"' in page


def test_priority_out_of_range_is_refused(seeded, client, login):
    login(client, "lead@example.org")
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
    login(client, "lead@example.org")
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


def lock_version_of(page: str) -> str:
    return re.search(r'name="lock_version"[^>]*value="(\d+)"', page)[1]


def post_form(client, page: str, **fields):
    """POST to the feedback form with the CSRF token and lock version of an earlier `page`."""
    data = {"csrf_token": csrf_token(page), "lock_version": lock_version_of(page), **fields}
    return client.post(FORM, data=data)


def test_a_colleagues_later_save_is_not_overwritten(seeded, login, app):
    first, second = app.test_client(), app.test_client()
    login(first, "stakeholder@example.org")
    login(second, "lead@example.org")
    submit_form(first, FORM, stance="support", comment="Version A", save="Save")
    stale_page = second.get(FORM).get_data(as_text=True)
    submit_form(first, FORM, stance="support", comment="Version B", save="Save")

    response = post_form(second, stale_page, stance="oppose", comment="Version C", save="Save")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "A colleague saved this feedback" in page
    assert "Version C" in page  # the second colleague's text stays in the form
    assert "Version B" in page  # and the first colleague's is shown beside it
    with seeded.app_context():
        stored = db.session.scalar(
            select(Feedback.comment).where(Feedback.comment.like("Version%"))
        )
        assert stored == "Version B"

    # Having seen both, the second colleague can save on purpose.
    response = post_form(second, page, stance="oppose", comment="Version C", save="Save")
    assert response.status_code == 302
    with seeded.app_context():
        stored = db.session.scalar(
            select(Feedback.comment).where(Feedback.comment.like("Version%"))
        )
        assert stored == "Version C"


def test_a_conflict_shows_every_field_the_colleague_changed(seeded, login, app):
    first, second = app.test_client(), app.test_client()
    login(first, "stakeholder@example.org")
    login(second, "lead@example.org")
    submit_form(first, FORM, stance="support", comment="Shared words", save="Save")
    stale_page = second.get(FORM).get_data(as_text=True)
    # The colleague makes the comment council-only: the kind of change that must not be lost.
    submit_form(
        first,
        FORM,
        stance="support",
        comment="Shared words",
        comment_disclosure="council_only",
        save="Save",
    )
    response = post_form(second, stale_page, stance="support", comment="Shared words", save="S")
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    start = page.index('id="theirs-title"')
    differences = page[start : page.index("</section>", start)]
    assert "Who may read the comment" in differences
    assert "Yours: Public" in differences
    assert "For the council only" in differences
    assert "Comment</dt>" not in differences  # unchanged fields are not listed


def test_two_colleagues_starting_from_an_empty_form_do_not_overwrite(seeded, login, app):
    first, second = app.test_client(), app.test_client()
    login(first, "stakeholder@example.org")
    login(second, "lead@example.org")
    empty_first = first.get(FORM).get_data(as_text=True)
    empty_second = second.get(FORM).get_data(as_text=True)
    assert post_form(first, empty_first, comment="Mine first", save="Save").status_code == 302
    response = post_form(second, empty_second, comment="Mine second", save="Save")
    assert response.status_code == 409
    with seeded.app_context():
        assert db.session.scalar(
            select(Feedback.comment).where(Feedback.comment.like("Mine%"))
        ) == ("Mine first")


def test_a_malformed_lock_version_is_a_400_not_a_crash(seeded, client, login):
    login(client, "lead@example.org")
    page = client.get(FORM).get_data(as_text=True)
    response = client.post(
        FORM,
        data={"csrf_token": csrf_token(page), "lock_version": "abc", "comment": "x", "save": "S"},
    )
    assert response.status_code == 400


def test_submitted_feedback_is_replaced_only_by_a_new_submission(seeded, client, login):
    login(client, "lead@example.org")
    submit_form(client, FORM, stance="support", priority="3", comment="Submitted", submit="Submit")
    page = client.get(FORM).get_data(as_text=True)
    response = post_form(client, page, stance="support", priority="3", comment="Sneaky", save="S")
    assert response.status_code == 409
    assert "your lead submits changes" in response.get_data(as_text=True)
    response = post_form(client, page, stance="oppose", priority="4", comment="Second", submit="S")
    assert response.status_code == 302
    with seeded.app_context():
        fb = db.session.scalar(select(Feedback).where(Feedback.comment == "Second"))
        numbers = db.session.scalars(
            select(FeedbackRevision.number).where(FeedbackRevision.feedback_id == fb.id)
        ).all()
        assert sorted(numbers) == [1, 2]


def test_closed_consultation_refuses_feedback(seeded, client, login):
    with seeded.app_context():
        db.session.execute(update(Consultation).values(closes_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    login(client, "lead@example.org")
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
    version = queue_version(page, fb_id)
    published = first.post(
        f"/moderation/{fb_id}/publish",
        data={"csrf_token": csrf_token(page), "lock_version": version},
    )
    assert published.status_code == 302
    response = second.post(
        f"/moderation/{fb_id}/reject",
        data={"csrf_token": token_b, "lock_version": version, "reason": "dup"},
    )
    assert response.status_code == 409
    assert "decided by another moderator" in response.get_data(as_text=True)
    with seeded.app_context():
        assert db.session.get(Feedback, fb_id).state is FeedbackState.PUBLISHED


def test_moderator_has_no_feedback_form(seeded, client, login):
    login(client, "moderator@example.org")
    page = client.get(FORM).get_data(as_text=True)
    assert "Only members of an organisation can give feedback." in page


def queue_version(queue_page: str, feedback_id: int) -> str:
    after = queue_page[queue_page.index(f"/moderation/{feedback_id}/publish") :]
    return re.search(r'name="lock_version" value="(\d+)"', after)[1]


def test_a_text_changed_after_the_moderator_read_it_is_not_published(seeded, app, login):
    author, moderator = app.test_client(), app.test_client()
    login(author, "lead@example.org")
    login(moderator, "moderator@example.org")
    submit_form(author, FORM, stance="support", priority="3", comment="Reviewed", submit="Submit")
    queue = moderator.get("/moderation/").get_data(as_text=True)
    with seeded.app_context():
        fb_id = db.session.scalar(select(Feedback.id).where(Feedback.comment == "Reviewed"))
    form = author.get(FORM).get_data(as_text=True)
    post_form(author, form, stance="support", priority="3", comment="Swapped", submit="S")

    response = moderator.post(
        f"/moderation/{fb_id}/publish",
        data={"csrf_token": csrf_token(queue), "lock_version": queue_version(queue, fb_id)},
    )
    assert response.status_code == 409
    with seeded.app_context():
        assert db.session.get(Feedback, fb_id).state is FeedbackState.SUBMITTED


@pytest.mark.parametrize("cursor", ["garbage", "2026-01-01T00:00:00_abc", "x_99999999999999999999"])
def test_a_malformed_queue_cursor_is_a_400(seeded, client, login, cursor):
    login(client, "moderator@example.org")
    assert client.get(f"/moderation/?after={cursor}").status_code == 400


def test_a_cursor_without_time_zone_is_read_as_utc(seeded, client, login):
    login(client, "moderator@example.org")
    assert client.get("/moderation/?after=2026-01-01T00:00:00_1").status_code == 200


def test_a_submission_one_second_late_is_refused_and_kept_as_a_draft(seeded, client, login):
    login(client, "lead@example.org")
    page = client.get(FORM).get_data(as_text=True)  # opened while the window was open
    with seeded.app_context():
        db.session.execute(update(Consultation).values(closes_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    response = client.post(
        FORM,
        data={
            **hidden_fields(page),
            "stance": "oppose",
            "priority": "2",
            "comment": "Written just before the deadline",
            "submit": "Submit feedback",
        },
    )
    assert response.status_code == 409
    assert "kept as a draft" in response.get_data(as_text=True)
    with seeded.app_context():
        kept = db.session.scalar(
            select(Feedback).where(Feedback.comment == "Written just before the deadline")
        )
        assert kept.state is FeedbackState.DRAFT
