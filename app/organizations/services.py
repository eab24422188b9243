"""Organisations: who belongs, join requests decided by leads, verification by moderators."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app import audit
from app.accounts.permissions import MODERATORS, acting_user
from app.errors import Conflict, DomainError, Forbidden, NotFound
from app.extensions import db
from app.models import (
    AuditEvent,
    ColleagueInvitation,
    Consultation,
    Feedback,
    FeedbackState,
    Item,
    JoinRequest,
    JoinState,
    Organization,
    User,
    VerificationState,
)
from app.models.base import utcnow
from app.notifications import mail


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


def colleague_inviter(user_id: int) -> User:
    """The organisation's lead, the one who may invite colleagues; Forbidden otherwise."""
    user = acting_user(user_id)
    if not user.is_lead or user.organization_id is None:
        raise Forbidden(_("Only your organisation's lead can invite colleagues."))
    return user


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


# --- moderation: the verification queue, decisions and suspensions ---------------------------

RECENT_SUBMISSIONS = 20


@dataclass(frozen=True)
class SubmissionLine:
    id: int
    reference: str
    state: FeedbackState
    submitted_at: datetime | None
    consultation_slug: str
    item_code: str


@dataclass(frozen=True)
class QueuedOrganization:
    organization: Organization
    members: list[User]
    submission_count: int


@dataclass(frozen=True)
class OrganizationDetail:
    organization: Organization
    members: list[User]
    submission_count: int
    recent_submissions: list[SubmissionLine]
    is_suspended: bool


def pending_organizations(moderator_id: int) -> list[Organization]:
    acting_user(moderator_id, *MODERATORS)
    return list(
        db.session.scalars(
            select(Organization)
            .options(selectinload(Organization.members))
            .where(Organization.verification == VerificationState.PENDING)
            .order_by(Organization.created_at)
        )
    )


def verification_queue(moderator_id: int) -> list[QueuedOrganization]:
    """Pending organisations, oldest first, with their members and how much they submitted."""
    organizations = pending_organizations(moderator_id)
    counts = _submission_counts([org.id for org in organizations])
    return [
        QueuedOrganization(org, _sorted_members(org), counts.get(org.id, 0))
        for org in organizations
    ]


def organization_detail(moderator_id: int, organization_id: int) -> OrganizationDetail:
    acting_user(moderator_id, *MODERATORS)
    organization = _organization(organization_id)
    submissions = [
        SubmissionLine(*row)
        for row in db.session.execute(
            select(
                Feedback.id,
                Feedback.reference,
                Feedback.state,
                Feedback.submitted_at,
                Consultation.slug,
                Item.code,
            )
            .join(Item, Item.id == Feedback.item_id)
            .join(Consultation, Consultation.id == Item.consultation_id)
            .where(
                Feedback.organization_id == organization.id, Feedback.state != FeedbackState.DRAFT
            )
            .order_by(Feedback.submitted_at.desc(), Feedback.id.desc())
            .limit(RECENT_SUBMISSIONS)
        )
    ]
    return OrganizationDetail(
        organization,
        _sorted_members(organization),
        _submission_counts([organization.id]).get(organization.id, 0),
        submissions,
        organization.suspended_at is not None,
    )


def verify_organization(
    moderator_id: int, organization_id: int, approve: bool, reason: str = ""
) -> None:
    """Verify, or reject with a reason the organisation's leads are told by email."""
    moderator = acting_user(moderator_id, *MODERATORS)
    reason = reason.strip()
    if not approve and not reason:
        raise DomainError(_("Give the organisation a reason for the rejection."), field="reason")
    organization = _organization(organization_id)
    if organization.verification is not VerificationState.PENDING:
        raise Conflict(_("This organisation has already been decided."))
    _refuse_own(moderator, organization)
    before = {
        "verification": organization.verification,
        "reason": organization.verification_reason,
    }
    organization.verification = (
        VerificationState.VERIFIED if approve else VerificationState.REJECTED
    )
    organization.verified_by_id = moderator.id
    organization.verified_at = utcnow()
    organization.verification_reason = None if approve else reason
    event = audit.record(
        moderator.id,
        "organization.verify" if approve else "organization.reject",
        "organization",
        organization.id,
        before=before,
        after={
            "name": organization.name,
            "verification": organization.verification,
            "reason": organization.verification_reason,
        },
    )
    _tell_leads(organization, "verified" if approve else "rejected", reason, event)
    db.session.commit()


def suspend_organization(moderator_id: int, organization_id: int, reason: str) -> None:
    """Members of a suspended organisation keep their accounts but cannot submit."""
    moderator = acting_user(moderator_id, *MODERATORS)
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give the organisation a reason for the suspension."), field="reason")
    organization = _organization(organization_id)
    if organization.suspended_at is not None:
        raise Conflict(_("This organisation is already suspended."))
    _refuse_own(moderator, organization)
    before = {"suspended_at": None, "reason": organization.verification_reason}
    organization.suspended_at = utcnow()
    organization.suspended_by_id = moderator.id
    organization.verification_reason = reason
    event = audit.record(
        moderator.id,
        "organization.suspend",
        "organization",
        organization.id,
        before=before,
        after={
            "name": organization.name,
            "suspended_at": organization.suspended_at.isoformat(),
            "reason": reason,
        },
    )
    _tell_leads(organization, "suspended", reason, event)
    db.session.commit()


def unsuspend_organization(moderator_id: int, organization_id: int) -> None:
    moderator = acting_user(moderator_id, *MODERATORS)
    organization = _organization(organization_id)
    if organization.suspended_at is None:
        raise Conflict(_("This organisation is not suspended."))
    _refuse_own(moderator, organization)
    before = {
        "suspended_at": organization.suspended_at.isoformat(),
        "reason": organization.verification_reason,
    }
    organization.suspended_at = None
    organization.suspended_by_id = None
    organization.verification_reason = None
    event = audit.record(
        moderator.id,
        "organization.unsuspend",
        "organization",
        organization.id,
        before=before,
        after={"name": organization.name, "suspended_at": None},
    )
    _tell_leads(organization, "unsuspended", "", event)
    db.session.commit()


def is_suspended(organization_id: int) -> bool:
    return (
        db.session.scalar(
            select(Organization.suspended_at).where(Organization.id == organization_id)
        )
        is not None
    )


def check_may_submit(organization_id: int | None) -> None:
    """Refuse a submission for a suspended organisation."""
    if organization_id is not None and is_suspended(organization_id):
        raise _suspended()


def lock_for_submission(organization_id: int) -> Organization:
    """The organisation, its row held until the caller commits (PostgreSQL; SQLite serialises
    writers anyway); refused when it is suspended. One statement on the submission path."""
    organization = db.session.scalar(
        select(Organization).where(Organization.id == organization_id).with_for_update()
    )
    if organization is None:
        raise NotFound(_("No such organisation."))
    if organization.suspended_at is not None:
        raise _suspended()
    return organization


def _suspended() -> Forbidden:
    return Forbidden(_("Your organisation is suspended on Consulta and cannot submit feedback."))


def _organization(organization_id: int) -> Organization:
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound(_("No such organisation."))
    return organization


def _refuse_own(moderator: User, organization: Organization) -> None:
    if moderator.organization_id == organization.id:
        raise Forbidden(_("Another moderator must decide on your own organisation."))


def _sorted_members(organization: Organization) -> list[User]:
    return sorted(organization.members, key=lambda member: (not member.is_lead, member.name))


def _submission_counts(organization_ids: list[int]) -> dict[int, int]:
    if not organization_ids:
        return {}
    rows = db.session.execute(
        select(Feedback.organization_id, func.count(Feedback.id))
        .where(
            Feedback.organization_id.in_(organization_ids),
            Feedback.state != FeedbackState.DRAFT,
        )
        .group_by(Feedback.organization_id)
    )
    return {organization_id: count for organization_id, count in rows}


def _tell_leads(organization: Organization, decision: str, reason: str, event: AuditEvent) -> None:
    """Email the organisation's active leads (every active member if it has none)."""
    db.session.flush()  # the event's id makes each decision's email distinct
    active = [member for member in organization.members if member.active]
    for person in [member for member in active if member.is_lead] or active:
        mail.queue_email(
            "organization_decided",
            person.email,
            person.locale,
            dedupe_key=f"organization-decided:{event.id}:{person.id}",
            user_id=person.id,
            name=person.name,
            organization=organization.name,
            decision=decision,
            reason=reason,
        )


def active_leads(organization_id: int) -> list[User]:
    """The organisation's active leads, oldest account first: who is told of its decisions."""
    return list(
        db.session.scalars(
            select(User)
            .where(
                User.organization_id == organization_id,
                User.is_lead.is_(True),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def active_leads_by_organization(organization_ids: Collection[int]) -> dict[int, list[User]]:
    """`active_leads` of several organisations in one query; one without leads is absent."""
    leads: dict[int, list[User]] = {}
    if not organization_ids:
        return leads
    rows = db.session.scalars(
        select(User)
        .where(
            User.organization_id.in_(set(organization_ids)),
            User.is_lead.is_(True),
            User.active.is_(True),
        )
        .order_by(User.id)
    )
    for lead in rows:
        leads.setdefault(lead.organization_id, []).append(lead)
    return leads
