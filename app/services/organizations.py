"""Organisations: who belongs, join requests decided by leads, verification by moderators."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    ColleagueInvitation,
    JoinRequest,
    JoinState,
    Organization,
    Role,
    User,
    VerificationState,
)
from app.models.base import utcnow
from app.services import audit, mail
from app.services.errors import Conflict, Forbidden, NotFound
from app.services.permissions import acting_user


@dataclass(frozen=True)
class OrganizationOverview:
    organization: Organization
    members: list[User]
    join_requests: list[JoinRequest]
    invitations: list[ColleagueInvitation]
    is_lead: bool


def joinable_choices() -> list[tuple[str, str]]:
    """Organisations a newcomer may ask to join (any not rejected), by name."""
    rows = db.session.execute(
        select(Organization.id, Organization.name)
        .where(Organization.verification != VerificationState.REJECTED)
        .order_by(Organization.name)
    )
    return [("", _("Choose an organisation"))] + [(str(i), name) for i, name in rows]


def overview(user_id: int) -> OrganizationOverview:
    """The caller's own organisation, with what its lead has to decide."""
    user = acting_user(user_id)
    if user.organization_id is None:
        raise NotFound(_("You do not belong to an organisation yet."))
    organization = db.session.get(Organization, user.organization_id)
    members = list(
        db.session.scalars(
            select(User)
            .where(User.organization_id == organization.id, User.active.is_(True))
            .order_by(User.name)
        )
    )
    requests: list[JoinRequest] = []
    invitations: list[ColleagueInvitation] = []
    if user.is_lead:
        requests = list(
            db.session.scalars(
                select(JoinRequest)
                .options(selectinload(JoinRequest.user))
                .where(
                    JoinRequest.organization_id == organization.id,
                    JoinRequest.state == JoinState.PENDING,
                )
                .order_by(JoinRequest.created_at)
            )
        )
        invitations = list(
            db.session.scalars(
                select(ColleagueInvitation)
                .where(ColleagueInvitation.organization_id == organization.id)
                .order_by(ColleagueInvitation.created_at.desc())
            )
        )
    return OrganizationOverview(organization, members, requests, invitations, user.is_lead)


def decide_join_request(lead_id: int, request_id: int, approve: bool) -> None:
    """The lead of the organisation asked to join approves or declines; nobody else may."""
    lead = acting_user(lead_id)
    request = db.session.get(JoinRequest, request_id)
    if request is None:
        raise NotFound(_("No such request."))
    if not lead.is_lead or lead.organization_id != request.organization_id:
        raise Forbidden(_("Only the organisation's lead can decide on requests to join."))
    if request.state is not JoinState.PENDING:
        raise Conflict(_("This request has already been decided."))
    applicant = db.session.get(User, request.user_id)
    if approve and applicant.organization_id not in (None, request.organization_id):
        raise Conflict(_("This person already belongs to another organisation."))
    request.state = JoinState.APPROVED if approve else JoinState.DECLINED
    request.decided_by_id = lead.id
    request.decided_at = utcnow()
    if approve:
        applicant.organization_id = request.organization_id
    audit.record(
        lead.id,
        "organization.join_approved" if approve else "organization.join_declined",
        "organization",
        request.organization_id,
        after={"user_id": applicant.id},
    )
    mail.queue_email(
        "join_decided",
        applicant.email,
        applicant.locale,
        dedupe_key=f"join-decided:{request.id}",
        user_id=applicant.id,
        name=applicant.name,
        organization=request.organization.name,
        approved=approve,
    )
    db.session.commit()


def pending_organizations(moderator_id: int) -> list[Organization]:
    acting_user(moderator_id, Role.MODERATOR, Role.ADMIN)
    return list(
        db.session.scalars(
            select(Organization)
            .options(selectinload(Organization.members))
            .where(Organization.verification == VerificationState.PENDING)
            .order_by(Organization.created_at)
        )
    )


def verify_organization(moderator_id: int, organization_id: int, approve: bool) -> None:
    moderator = acting_user(moderator_id, Role.MODERATOR, Role.ADMIN)
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(_("No such organisation."))
    if organization.verification is not VerificationState.PENDING:
        raise Conflict(_("This organisation has already been decided."))
    if moderator.organization_id == organization.id:
        raise Forbidden(_("Another moderator must verify your own organisation."))
    before = {"verification": organization.verification}
    organization.verification = (
        VerificationState.VERIFIED if approve else VerificationState.REJECTED
    )
    organization.verified_by_id = moderator.id
    organization.verified_at = utcnow()
    audit.record(
        moderator.id,
        "organization.verify" if approve else "organization.reject",
        "organization",
        organization.id,
        before=before,
        after={"verification": organization.verification},
    )
    db.session.commit()
