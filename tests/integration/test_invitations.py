"""Admins invite organisations to a consultation; reminders go out before the deadline."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.consultations import invitations
from app.errors import Conflict, DomainError
from app.extensions import db
from app.models import (
    AuditEvent,
    Consultation,
    Feedback,
    FeedbackState,
    Invitation,
    Item,
    Notification,
    User,
)
from app.models.base import utcnow
from tests.helpers.web import submit_form

pytestmark = [pytest.mark.postgres]

SLUG = "leaders-summit-2021-migration"
PAGE = f"/admin/consultations/{SLUG}/invitations"
ADMIN = "admin@example.org"


def admin_id() -> int:
    return db.session.scalar(select(User.id).where(User.email == ADMIN))


def consultation() -> Consultation:
    return db.session.scalar(select(Consultation).where(Consultation.slug == SLUG))


def notifications_to(email: str) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification).where(Notification.to_email == email).order_by(Notification.id)
        )
    )


def invite(email: str, days: float = 10, organization_id: int | None = None) -> Invitation:
    return invitations.invite(
        admin_id(),
        consultation().id,
        email,
        utcnow() + timedelta(days=days),
        organization_id=organization_id,
    )


def test_invite_queues_the_email_and_audits(seeded) -> None:
    with seeded.app_context():
        invitation = invite("Partner@NGO.example.org")
        assert invitation.email == "partner@ngo.example.org"
        [message] = notifications_to("partner@ngo.example.org")
        assert message.body_text.rstrip().endswith(f"/c/{SLUG}")
        assert message.dedupe_key == f"consultation-invitation:{invitation.id}"
        assert db.session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "invitation.create", AuditEvent.target_id == invitation.id
            )
        )


def test_duplicate_and_late_deadline_are_refused(seeded) -> None:
    with seeded.app_context():
        invite("partner@ngo.example.org")
        with pytest.raises(Conflict):
            invite("PARTNER@ngo.example.org", days=5)
        db.session.rollback()
        with pytest.raises(DomainError) as late:
            invite("other@ngo.example.org", days=45)  # the consultation closes in 30 days
        assert late.value.field == "deadline"
        db.session.rollback()
        with pytest.raises(DomainError) as past:
            invite("other@ngo.example.org", days=-1)
        assert past.value.field == "deadline"
        db.session.rollback()
        with pytest.raises(DomainError) as bad:
            invite("not an address")
        assert bad.value.field == "email"
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(Invitation)) == 1


def test_reminders_a_week_and_a_day_before(seeded) -> None:
    with seeded.app_context():
        invitation = invite("partner@ngo.example.org", days=20)
        deadline, invitation_id = invitation.deadline, invitation.id
        assert invitations.send_due_reminders(deadline - timedelta(days=10)) == 0
        assert invitations.send_due_reminders(deadline - timedelta(days=6)) == 1
        assert invitations.send_due_reminders(deadline - timedelta(days=6)) == 0
        assert invitations.send_due_reminders(deadline - timedelta(days=5)) == 0
        assert invitations.send_due_reminders(deadline - timedelta(hours=12)) == 1
        assert invitations.send_due_reminders(deadline - timedelta(hours=11)) == 0
        assert invitations.send_due_reminders(deadline + timedelta(hours=1)) == 0
        db.session.expire_all()
        invitation = db.session.get(Invitation, invitation_id)
        assert invitation.reminders_sent == 2
        assert invitation.responded_at is None
        keys = [n.dedupe_key for n in notifications_to("partner@ngo.example.org")]
        assert keys == [
            f"consultation-invitation:{invitation_id}",
            f"consultation-reminder:{invitation_id}:1",
            f"consultation-reminder:{invitation_id}:2",
        ]


def answering_organization() -> tuple[int, str]:
    """An organisation with submitted feedback on the consultation, and a member's email."""
    row = db.session.execute(
        select(Feedback.organization_id, User.email)
        .join(Item, Item.id == Feedback.item_id)
        .join(User, User.organization_id == Feedback.organization_id)
        .where(
            Item.consultation_id == consultation().id,
            Feedback.state.in_(invitations.RESPONDED_STATES),
        )
        .limit(1)
    ).one()
    return row.organization_id, row.email


def test_an_organisation_that_answered_gets_no_reminder(seeded) -> None:
    with seeded.app_context():
        organization_id, member_email = answering_organization()
        by_organization = invite("office@answered.example.org", 20, organization_id)
        by_member = invite(member_email, 20)
        waiting = invite("partner@ngo.example.org", 20)
        ids = [by_organization.id, by_member.id, waiting.id]
        deadline = waiting.deadline
        assert invitations.send_due_reminders(deadline - timedelta(days=6)) == 1
        db.session.expire_all()
        answered, member, pending = (db.session.get(Invitation, i) for i in ids)
        assert answered.responded_at is not None and answered.reminders_sent == 0
        assert member.responded_at is not None and member.reminders_sent == 0
        assert pending.responded_at is None and pending.reminders_sent == 1
        assert len(notifications_to("office@answered.example.org")) == 1  # the invitation only


def test_draft_feedback_is_not_an_answer(seeded) -> None:
    with seeded.app_context():
        organization_id, _member = answering_organization()
        db.session.execute(
            Feedback.__table__.update()
            .where(Feedback.organization_id == organization_id)
            .values(state=FeedbackState.DRAFT)
        )
        db.session.commit()
        invitation = invite("office@answered.example.org", 20, organization_id)
        assert invitations.send_due_reminders(invitation.deadline - timedelta(days=6)) == 1


def test_admin_page_lists_and_invites(seeded, client, login) -> None:
    login(client, ADMIN)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "Nobody is invited yet." in page.get_data(as_text=True)
    with seeded.app_context():
        closes = consultation().closes_at
    late = (closes + timedelta(days=3)).date().isoformat()
    refused = submit_form(client, PAGE, email="partner@ngo.example.org", deadline=late)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "cannot be after the consultation closes" in html
    assert 'value="partner@ngo.example.org"' in html and f'value="{late}"' in html
    good = (utcnow() + timedelta(days=10)).date().isoformat()
    response = submit_form(client, PAGE, email="partner@ngo.example.org", deadline=good)
    assert response.status_code == 302
    listing = client.get(PAGE).get_data(as_text=True)
    assert "partner@ngo.example.org" in listing
    again = submit_form(client, PAGE, email="partner@ngo.example.org", deadline=good)
    assert again.status_code == 422
    assert "already invited" in again.get_data(as_text=True)


def test_a_non_admin_is_forbidden(seeded, client, login) -> None:
    login(client, "moderator@example.org")
    assert client.get(PAGE).status_code == 403
    assert client.post(PAGE, data={"email": "x@ngo.example.org"}).status_code in (400, 403)
