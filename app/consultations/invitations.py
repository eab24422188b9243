"""Invitations of organisations to answer a consultation, and the reminders before the deadline.

Feedback does not mark an invitation answered: whether it was is worked out when reminders are
due. An invitation counts as answered when its organisation (the invited one, or any organisation
with a member at the invited address) has feedback submitted, published or sent back for changes
on any item of the consultation.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update

from app import audit
from app.accounts.permissions import acting_user
from app.errors import Conflict, DomainError, NotFound
from app.extensions import db
from app.models import (
    Consultation,
    Feedback,
    FeedbackState,
    Invitation,
    Item,
    Organization,
    Role,
    User,
)
from app.models.base import utcnow
from app.notifications import mail

# Reminders go out once the deadline is this close; reminder n is for the n-th window.
REMINDER_WINDOWS: tuple[timedelta, ...] = (timedelta(days=7), timedelta(days=1))
RESPONDED_STATES = (
    FeedbackState.SUBMITTED,
    FeedbackState.PUBLISHED,
    FeedbackState.CHANGES_REQUESTED,
)
BATCH = 500


def invite(
    admin_id: int,
    consultation_id: int,
    email: str,
    deadline: datetime,
    organization_id: int | None = None,
) -> Invitation:
    """Invite an address (for an organisation, if given) to answer a consultation by `deadline`."""
    admin = acting_user(admin_id, Role.ADMIN)
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        raise NotFound(_("This consultation does not exist."))
    try:
        address = validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise DomainError(_("Enter a valid email address."), field="email") from None
    if deadline <= utcnow():
        raise DomainError(_("The deadline must be in the future."), field="deadline")
    if deadline > consultation.closes_at:
        raise DomainError(
            _("The deadline cannot be after the consultation closes."), field="deadline"
        )
    if organization_id is not None and db.session.get(Organization, organization_id) is None:
        raise DomainError(_("This organisation does not exist."), field="organization")
    already = db.session.scalar(
        select(Invitation.id).where(
            Invitation.consultation_id == consultation.id, Invitation.email == address
        )
    )
    if already is not None:
        raise Conflict(_("This address is already invited to this consultation."), field="email")
    invitation = Invitation(
        consultation_id=consultation.id,
        organization_id=organization_id,
        email=address,
        deadline=deadline,
        reminders_sent=0,
        invited_by_id=admin.id,
    )
    db.session.add(invitation)
    db.session.flush()
    locale = _locale_for(address)
    mail.queue_email(
        "consultation_invitation",
        address,
        locale,
        dedupe_key=f"consultation-invitation:{invitation.id}",
        consultation=consultation.title_in(locale),
        deadline=deadline,
        link=mail.absolute_url("consultations.show", slug=consultation.slug),
    )
    audit.record(
        admin.id,
        "invitation.create",
        "invitation",
        invitation.id,
        after={
            "consultation_id": consultation.id,
            "email": address,
            "organization_id": organization_id,
            "deadline": deadline.isoformat(),
        },
    )
    db.session.commit()
    return invitation


def list_invitations(admin_id: int, consultation_id: int) -> list[Invitation]:
    acting_user(admin_id, Role.ADMIN)
    return list(
        db.session.scalars(
            select(Invitation)
            .where(Invitation.consultation_id == consultation_id)
            .order_by(Invitation.deadline, Invitation.id)
        )
    )


def _responded() -> ColumnElement[bool]:
    """True for an invitation whose organisation has answered on the consultation."""
    member_organizations = (
        select(User.organization_id)
        .where(User.organization_id.is_not(None), func.lower(User.email) == Invitation.email)
        .correlate(Invitation)
    )
    return (
        exists()
        .where(
            Feedback.item_id == Item.id,
            Item.consultation_id == Invitation.consultation_id,
            Feedback.state.in_(RESPONDED_STATES),
            or_(
                and_(
                    Invitation.organization_id.is_not(None),
                    Feedback.organization_id == Invitation.organization_id,
                ),
                Feedback.organization_id.in_(member_organizations),
            ),
        )
        .correlate(Invitation)
    )


def windows_entered(deadline: datetime, now: datetime) -> int:
    """How many reminder windows the deadline is already inside at `now`."""
    return sum(1 for window in REMINDER_WINDOWS if deadline - window <= now)


def send_due_reminders(now: datetime | None = None) -> int:
    """Queue the reminders that are due; the number queued. Safe to run twice.

    `reminders_sent` counts the windows already served: an invitation first seen inside the last
    window gets a single reminder, not one for each window it missed.
    """
    now = now or utcnow()
    pending = and_(
        Invitation.responded_at.is_(None),
        Invitation.deadline > now,
        Invitation.deadline <= now + max(REMINDER_WINDOWS),
    )
    # One statement marks every pending invitation that was answered since the last run.
    db.session.execute(
        update(Invitation)
        .where(pending, _responded())
        .values(responded_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    queued = 0
    after = 0
    while True:
        due = list(
            db.session.scalars(
                select(Invitation)
                .where(pending, Invitation.id > after)
                .order_by(Invitation.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
                .execution_options(populate_existing=True)
            )
        )
        if not due:
            break
        for invitation in due:
            reached = windows_entered(invitation.deadline, now)
            if invitation.reminders_sent >= reached:
                continue
            locale = _locale_for(invitation.email)
            consultation = invitation.consultation
            mail.queue_email(
                "consultation_reminder",
                invitation.email,
                locale,
                dedupe_key=f"consultation-reminder:{invitation.id}:{reached}",
                consultation=consultation.title_in(locale),
                deadline=invitation.deadline,
                link=mail.absolute_url("consultations.show", slug=consultation.slug),
            )
            invitation.reminders_sent = reached
            invitation.last_reminded_at = now
            queued += 1
        after = due[-1].id
        db.session.commit()
    return queued


def _locale_for(email: str) -> str:
    """The language of the account at `email`, else the site's default language."""
    locale = db.session.scalar(select(User.locale).where(func.lower(User.email) == email))
    return locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")
