"""Moderators verify, reject and suspend organisations; each step is audited and told by email."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from app.errors import Forbidden
from app.extensions import db
from app.models import (
    AuditEvent,
    Feedback,
    FeedbackState,
    Item,
    Notification,
    Organization,
    User,
    VerificationState,
)
from app.organizations import services as organizations
from tests.helpers.database import user_by_email
from tests.helpers.web import csrf_token

pytestmark = [pytest.mark.postgres]

QUEUE = "/moderation/organisations/"
PENDING_ORGANISATION = "Diaspora Futures Collective"


def organisation_id(app, name: str = PENDING_ORGANISATION) -> int:
    with app.app_context():
        return db.session.scalar(select(Organization.id).where(Organization.name == name))


def organisation(app, org_id: int) -> Organization:
    with app.app_context():
        organization = db.session.get(Organization, org_id)
        db.session.expunge_all()
        return organization


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        found = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return found


def leads_of(app, org_id: int) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(User.email).where(User.organization_id == org_id, User.is_lead.is_(True))
            )
        )


def notifications_to(app, email: str) -> list[Notification]:
    with app.app_context():
        found = list(db.session.scalars(select(Notification).where(Notification.to_email == email)))
        db.session.expunge_all()
        return found


def post(client, path: str, **fields: str):
    page = client.get("/").get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf_token(page), **fields})


def test_the_queue_shows_details_members_and_submissions_of_pending_organisations(
    seeded, client, login
):
    login(client, "moderator@example.org")
    org_id = organisation_id(seeded)

    queue = client.get(QUEUE).get_data(as_text=True)
    detail = client.get(f"{QUEUE}{org_id}").get_data(as_text=True)

    assert PENDING_ORGANISATION in queue
    assert f'href="/moderation/organisations/{org_id}"' in queue
    assert "member4@demo.example.org" in detail
    with seeded.app_context():
        submitted = db.session.scalar(
            select(func.count(Feedback.id)).where(
                Feedback.organization_id == org_id, Feedback.state != FeedbackState.DRAFT
            )
        )
    assert submitted >= 1 and f"Submissions ({submitted})" in detail
    assert "P3" in detail  # the item of its submitted feedback, linked
    with seeded.app_context():
        item = db.session.scalar(select(Item).where(Item.code == "P3"))
        title = item.versions[-1].title["en"]
    assert f">P3: {html.escape(title)}</a>" in detail  # by its title, not only its code
    # Reasons are typed in GOV.UK character counts: counted, never cut at a limit.
    assert 'data-module="govuk-character-count"' in detail
    assert not re.search(r"\smaxlength=", detail)
    assert f"Reject {PENDING_ORGANISATION}" in detail


def test_rejecting_without_a_reason_is_refused_and_changes_nothing(seeded, client, login):
    login(client, "moderator@example.org")
    org_id = organisation_id(seeded)

    response = post(client, f"{QUEUE}{org_id}/reject", reason="   ")

    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Give the organisation a reason for the rejection." in page
    assert organisation(seeded, org_id).verification is VerificationState.PENDING
    assert events(seeded, "organization.reject") == []


def test_rejecting_with_a_reason_stores_it_audits_it_and_emails_the_leads(seeded, client, login):
    login(client, "moderator@example.org")
    moderator = user_by_email(seeded, "moderator@example.org")
    org_id = organisation_id(seeded)
    leads = leads_of(seeded, org_id)

    response = post(client, f"{QUEUE}{org_id}/reject", reason="No public registration found.")

    assert response.status_code == 302
    rejected = organisation(seeded, org_id)
    assert rejected.verification is VerificationState.REJECTED
    assert rejected.verification_reason == "No public registration found."
    (event,) = events(seeded, "organization.reject")
    assert event.actor_id == moderator.id and event.target_id == org_id
    assert event.before["verification"] == "pending"
    assert event.after["verification"] == "rejected"
    assert event.after["reason"] == "No public registration found."
    assert leads
    for email in leads:
        (message,) = notifications_to(seeded, email)
        assert "decision about your organisation" in message.subject
        assert "No public registration found." in message.body_text


def test_suspension_needs_a_reason_stops_submissions_and_lifting_it_restores_them(
    seeded, client, login
):
    login(client, "moderator@example.org")
    org_id = organisation_id(seeded, PENDING_ORGANISATION)

    assert post(client, f"{QUEUE}{org_id}/suspend", reason="").status_code == 302
    assert organisation(seeded, org_id).suspended_at is None

    response = post(client, f"{QUEUE}{org_id}/suspend", reason="Impersonates another NGO.")

    assert response.status_code == 302
    suspended = organisation(seeded, org_id)
    assert suspended.suspended_at is not None
    assert suspended.suspended_by_id == user_by_email(seeded, "moderator@example.org").id
    assert suspended.verification_reason == "Impersonates another NGO."
    assert "Lift the suspension" in client.get(f"{QUEUE}{org_id}").get_data(as_text=True)
    with seeded.app_context():
        assert organizations.is_suspended(org_id)
        with pytest.raises(Forbidden):
            organizations.check_may_submit(org_id)
    (event,) = events(seeded, "organization.suspend")
    assert (
        event.before["suspended_at"] is None
        and event.after["reason"] == "Impersonates another NGO."
    )

    assert post(client, f"{QUEUE}{org_id}/unsuspend").status_code == 302

    assert organisation(seeded, org_id).suspended_at is None
    with seeded.app_context():
        organizations.check_may_submit(org_id)  # no longer refused
        organizations.check_may_submit(None)  # a person without organisation is not ours to stop
    (lifted,) = events(seeded, "organization.unsuspend")
    assert lifted.before["suspended_at"] is not None and lifted.after["suspended_at"] is None


def test_suspending_twice_is_a_conflict(seeded, client, login):
    login(client, "admin@example.org")
    org_id = organisation_id(seeded)
    post(client, f"{QUEUE}{org_id}/suspend", reason="Spam.")
    assert post(client, f"{QUEUE}{org_id}/suspend", reason="Spam.").status_code == 409
    assert len(events(seeded, "organization.suspend")) == 1


def test_a_moderator_cannot_decide_on_their_own_organisation(seeded, client, login):
    org_id = organisation_id(seeded)
    with seeded.app_context():
        moderator = db.session.scalar(select(User).where(User.email == "moderator@example.org"))
        moderator.organization_id = org_id
        db.session.commit()
    login(client, "moderator@example.org")

    assert post(client, f"{QUEUE}{org_id}/verify").status_code == 403
    assert post(client, f"{QUEUE}{org_id}/suspend", reason="x").status_code == 403
    current = organisation(seeded, org_id)
    assert current.verification is VerificationState.PENDING and current.suspended_at is None


def moderation_urls(org_id: int) -> list[tuple[str, str]]:
    return [
        ("get", QUEUE),
        ("get", f"{QUEUE}{org_id}"),
        ("post", f"{QUEUE}{org_id}/verify"),
        ("post", f"{QUEUE}{org_id}/reject"),
        ("post", f"{QUEUE}{org_id}/suspend"),
        ("post", f"{QUEUE}{org_id}/unsuspend"),
    ]


@pytest.mark.parametrize(
    "email", ["stakeholder@example.org", "lead@example.org", "council@example.org"]
)
def test_people_who_are_not_moderators_get_403_and_no_data(seeded, client, login, email):
    login(client, email)
    org_id = organisation_id(seeded)
    for method, url in moderation_urls(org_id):
        response = client.get(url) if method == "get" else post(client, url, reason="because")
        body = response.get_data(as_text=True)
        assert response.status_code == 403, url
        assert PENDING_ORGANISATION not in body and "member4@demo.example.org" not in body
    current = organisation(seeded, org_id)
    assert current.verification is VerificationState.PENDING and current.suspended_at is None


def test_a_visitor_is_refused_with_no_data(seeded, client):
    org_id = organisation_id(seeded)
    for method, url in moderation_urls(org_id):
        response = client.get(url) if method == "get" else post(client, url, reason="because")
        assert response.status_code == 403, url
        assert PENDING_ORGANISATION not in response.get_data(as_text=True)
    assert organisation(seeded, org_id).verification is VerificationState.PENDING
