"""Moderators' decisions on one submission: reasons, requests for changes, notes, conflicts."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Feedback, FeedbackState, Item, ModerationNote, Notification
from tests.helpers.web import hidden_fields, submit_form

pytestmark = [pytest.mark.postgres]

SLUG = "leaders-summit-2021-migration"
ITEM = f"/c/{SLUG}/items/P1"
FORM = f"{ITEM}/feedback"
CONFLICT = "decided by another moderator"


def submitted(app, login, comment: str = "Our position on P1.") -> int:
    """The demo organisation's lead submits a position on P1; its id."""
    lead = app.test_client()
    login(lead, "lead@example.org")
    response = submit_form(
        lead, FORM, stance="support", priority="3", comment=comment, submit="Submit"
    )
    assert response.status_code == 302
    with app.app_context():
        return db.session.scalar(select(Feedback.id).where(Feedback.comment == comment))


def signed_in(app, login, email: str):
    client = app.test_client()
    login(client, email)
    return client


def state_of(app, feedback_id: int) -> Feedback:
    with app.app_context():
        feedback = db.session.get(Feedback, feedback_id)
        db.session.expunge_all()
        return feedback


def page(feedback_id: int) -> str:
    return f"/moderation/feedback/{feedback_id}"


def test_a_reject_without_a_reason_is_refused(seeded, login):
    fb_id = submitted(seeded, login)
    moderator = signed_in(seeded, login, "moderator@example.org")
    action = f"{page(fb_id)}/reject"
    no_code = submit_form(moderator, page(fb_id), action, code="", note="")
    assert no_code.status_code == 422
    assert "Choose a reason from the list." in no_code.get_data(as_text=True)
    other_without_note = submit_form(moderator, page(fb_id), action, code="other", note=" ")
    assert other_without_note.status_code == 422
    assert "Explain the reason in the note." in other_without_note.get_data(as_text=True)
    unknown = submit_form(moderator, page(fb_id), action, code="because", note="x")
    assert unknown.status_code == 422
    quick = submit_form(moderator, page(fb_id), f"/moderation/{fb_id}/reject", reason="")
    assert quick.status_code == 422
    assert state_of(seeded, fb_id).state is FeedbackState.SUBMITTED


def test_a_reject_with_a_reason_tells_the_leads_and_the_dashboard(seeded, login):
    fb_id = submitted(seeded, login)
    moderator = signed_in(seeded, login, "moderator@example.org")
    response = submit_form(
        moderator, page(fb_id), f"{page(fb_id)}/reject", code="personal_data", note="A phone."
    )
    assert response.status_code == 302
    feedback = state_of(seeded, fb_id)
    assert feedback.state is FeedbackState.REJECTED
    assert feedback.moderation_code == "personal_data"
    assert feedback.moderation_reason == "Contains personal data. A phone."
    with seeded.app_context():
        mails = db.session.scalars(
            select(Notification).where(Notification.to_email == "lead@example.org")
        ).all()
        rejected = [m for m in mails if "not published" in m.subject]
        assert len(rejected) == 1
        assert "Contains personal data. A phone." in rejected[0].body_text
        assert "/organisation/feedback" in rejected[0].body_text
        event = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "feedback.rejected", AuditEvent.target_id == fb_id
            )
        )
        assert event.after["code"] == "personal_data"
    lead = signed_in(seeded, login, "lead@example.org")
    dashboard = html.unescape(lead.get("/organisation/feedback").get_data(as_text=True))
    assert "Contains personal data. A phone." in dashboard


def test_the_quick_reject_keeps_its_free_text_reason(seeded, login):
    fb_id = submitted(seeded, login)
    moderator = signed_in(seeded, login, "moderator@example.org")
    queue = moderator.get("/moderation/").get_data(as_text=True)
    response = moderator.post(
        f"/moderation/{fb_id}/reject",
        data={
            "csrf_token": hidden_fields(queue)["csrf_token"],
            "lock_version": state_of(seeded, fb_id).lock_version,
            "reason": "Please answer the item itself.",
        },
    )
    assert response.status_code == 302
    feedback = state_of(seeded, fb_id)
    assert feedback.moderation_code == "other"
    assert feedback.moderation_reason == "Please answer the item itself."


def test_request_changes_reopens_the_draft_with_the_message(seeded, login):
    fb_id = submitted(seeded, login)
    moderator = signed_in(seeded, login, "moderator@example.org")
    empty = submit_form(moderator, page(fb_id), f"{page(fb_id)}/request-changes", message="")
    assert empty.status_code == 422
    response = submit_form(
        moderator,
        page(fb_id),
        f"{page(fb_id)}/request-changes",
        message="Please remove the phone number.",
    )
    assert response.status_code == 302
    assert state_of(seeded, fb_id).state is FeedbackState.CHANGES_REQUESTED
    lead = signed_in(seeded, login, "lead@example.org")
    form = html.unescape(lead.get(FORM).get_data(as_text=True))
    assert "Please remove the phone number." in form
    with seeded.app_context():
        subjects = db.session.scalars(
            select(Notification.subject).where(Notification.to_email == "lead@example.org")
        ).all()
        assert any("ask for changes" in s for s in subjects)


def test_notes_are_for_moderators_and_the_council_only(seeded, login, client):
    fb_id = submitted(seeded, login)
    moderator = signed_in(seeded, login, "moderator@example.org")
    empty = submit_form(moderator, page(fb_id), f"{page(fb_id)}/notes", body="  ")
    assert empty.status_code == 422
    note = "Internal: same wording as the campaign of last week."
    assert submit_form(moderator, page(fb_id), f"{page(fb_id)}/notes", body=note).status_code == 302
    assert note in moderator.get(page(fb_id)).get_data(as_text=True)
    council = signed_in(seeded, login, "council@example.org")
    council_page = council.get(page(fb_id)).get_data(as_text=True)
    assert note in council_page
    assert "/reject" not in council_page  # the council reads, it does not decide
    assert council.post(f"{page(fb_id)}/notes", data={"body": "x"}).status_code in (400, 403)
    stakeholder = signed_in(seeded, login, "stakeholder@example.org")
    refused = stakeholder.get(page(fb_id))
    assert refused.status_code == 403 and note not in refused.get_data(as_text=True)
    submit_form(moderator, page(fb_id), f"/moderation/{fb_id}/publish")  # then read it publicly
    assert state_of(seeded, fb_id).state is FeedbackState.PUBLISHED
    public = client.get(ITEM).get_data(as_text=True)
    assert "Our position on P1." in public and note not in public
    with seeded.app_context():
        assert db.session.scalar(select(ModerationNote.body)) == note


def test_two_moderators_deciding_at_once_one_gets_a_conflict(seeded, login):
    with seeded.app_context():
        fb_id = db.session.scalar(
            select(Feedback.id)
            .join(Item)
            .where(Feedback.state == FeedbackState.SUBMITTED, Item.code == "P3")
        )
    first = signed_in(seeded, login, "moderator@example.org")
    second = signed_in(seeded, login, "admin@example.org")
    first_form = hidden_fields(first.get(page(fb_id)).get_data(as_text=True))
    second_form = hidden_fields(second.get(page(fb_id)).get_data(as_text=True))
    done = first.post(f"{page(fb_id)}/reject", data={**first_form, "code": "spam", "note": ""})
    assert done.status_code == 302
    late = second.post(
        f"{page(fb_id)}/request-changes", data={**second_form, "message": "Shorten it."}
    )
    assert late.status_code == 409
    assert CONFLICT in late.get_data(as_text=True)
    feedback = state_of(seeded, fb_id)
    assert feedback.state is FeedbackState.REJECTED and feedback.moderation_code == "spam"


def test_outsiders_get_nothing_from_the_moderation_urls(seeded, login, client):
    fb_id = submitted(seeded, login, comment="Secret words of a submission.")
    posts = [
        f"{page(fb_id)}/reject",
        f"{page(fb_id)}/request-changes",
        f"{page(fb_id)}/notes",
        f"{page(fb_id)}/redactions",
        "/moderation/redactions/1/revert",
        f"/moderation/{fb_id}/publish",
        f"/moderation/{fb_id}/reject",
    ]
    visitor = client.get(page(fb_id))
    assert visitor.status_code == 403 and "Secret words" not in visitor.get_data(as_text=True)
    for url in posts:
        assert client.post(url).status_code in (400, 403)
    stakeholder = signed_in(seeded, login, "stakeholder@example.org")
    token = hidden_fields(stakeholder.get("/organisation/feedback").get_data(as_text=True))
    refused = stakeholder.get(page(fb_id))
    assert refused.status_code == 403
    assert "Secret words" not in refused.get_data(as_text=True)
    data = {
        **token,
        "lock_version": "2",
        "code": "spam",
        "reason": "x",
        "message": "x",
        "body": "x",
        "field": "comment",
        "text": "Secret",
    }
    for url in posts:
        response = stakeholder.post(url, data=data)
        assert response.status_code == 403, url
        assert "Secret words" not in response.get_data(as_text=True)
    assert state_of(seeded, fb_id).state is FeedbackState.SUBMITTED


def flag(app, feedback_id: int) -> None:
    from app.models import FlagKind, ModerationFlag

    with app.app_context():
        detail = "phone number"
        db.session.add(
            ModerationFlag(feedback_id=feedback_id, kind=FlagKind.PERSONAL_DATA, detail=detail)
        )
        db.session.commit()


def test_a_flagged_submission_is_decided_on_its_page_not_from_the_list(seeded, login):
    fb_id = submitted(seeded, login, comment="Call us on the number in our letter.")
    flag(seeded, fb_id)
    moderator = signed_in(seeded, login, "moderator@example.org")
    queue = moderator.get("/moderation/").get_data(as_text=True)
    entry = queue[queue.index(f'aria-labelledby="entry-{fb_id}"') :]
    entry = entry[: entry.index("</tr>")]
    assert "publish-form" not in entry and 'name="reason"' not in entry
    assert f'href="{page(fb_id)}">Flagged: review' in entry
    assert 'class="moj-badge moj-badge--red app-flag-badge"' in entry  # the flag as a badge
    # A publish sent from the list (no flags shown) is refused; from the review page it goes.
    refused = submit_form(moderator, "/moderation/", f"/moderation/{fb_id}/publish")
    assert refused.status_code in (409, 422)
    assert "This submission is flagged" in html.unescape(refused.get_data(as_text=True))
    assert state_of(seeded, fb_id).state is FeedbackState.SUBMITTED
    review = moderator.get(page(fb_id)).get_data(as_text=True)
    assert "Automatic flags" in review and "phone number" in html.unescape(review)
    published = submit_form(moderator, page(fb_id), f"/moderation/{fb_id}/publish")
    assert published.status_code == 302
    assert state_of(seeded, fb_id).state is FeedbackState.PUBLISHED


def test_a_visitor_is_not_told_whether_a_submission_is_flagged(seeded, login):
    fb_id = submitted(seeded, login, comment="Flagged words for the council.")
    flag(seeded, fb_id)
    lead = signed_in(seeded, login, "lead@example.org")
    response = submit_form(lead, "/", f"/moderation/{fb_id}/publish", lock_version="1")
    assert response.status_code == 403
    assert "flagged" not in response.get_data(as_text=True)


def test_the_review_page_shows_every_field_the_organisation_sent(seeded, login):
    lead = signed_in(seeded, login, "lead@example.org")
    response = submit_form(
        lead,
        FORM,
        stance="support_with_amendments",
        priority="4",
        affected_populations=["unaccompanied_children"],
        countries=["HN", "GT"],
        comment="Every field, seen before deciding.",
        comment_disclosure="public",
        amendment="Replace the second sentence.",
        amendment_disclosure="council_only",
        evidence_links="https://example.org/study",
        attribution="anonymous",
        submit="Submit",
    )
    assert response.status_code == 302
    with seeded.app_context():
        fb_id = db.session.scalar(
            select(Feedback.id).where(Feedback.comment == "Every field, seen before deciding.")
        )
    moderator = signed_in(seeded, login, "moderator@example.org")
    review = html.unescape(moderator.get(page(fb_id)).get_data(as_text=True))
    start = review.index('id="submission-details"')
    details = review[start : review.index("</dl>", start)]
    for shown in (
        "P1: ",  # the item by its title, not only its code
        "The item's text, as the organisation read it",
        "Support with amendments",
        "Priority 4 of 5",
        "Unaccompanied children",
        "Honduras",
        "Guatemala",
        "For the council only",
        "Anonymous",
        "https://example.org/study",
        "Not part of a campaign",
    ):
        assert shown in details, shown
    # Before the decision buttons: the details, the files and the revision history.
    assert review.index('id="submission-details"') < review.index('id="publish-form"')
    assert review.index('id="revision-history"') < review.index('id="publish-form"')
    assert 'class="moj-timeline__title">Revision 1</h3>' in review
