"""Accounts: registration, email confirmation, password recovery and colleague invitations.

Signing in (password hashes and sessions) is in sessions.py."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts import link_tokens as tokens
from app.accounts.passwords import password_problems
from app.accounts.sessions import after_new_password, end_other_sessions, hash_password
from app.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound
from app.extensions import db
from app.models import (
    ColleagueInvitation,
    JoinRequest,
    Organization,
    OrganizationType,
    Role,
    User,
    VerificationState,
)
from app.models.base import utcnow
from app.notifications import mail
from app.organizations.countries import organisation_country

CONFIRM_MAX_AGE = 3 * 24 * 3600
RESET_MAX_AGE = 3600
SET_PASSWORD_MAX_AGE = 14 * 24 * 3600
# A link to choose a password: "reset" after "forgot password", "welcome" for an account
# created for someone (an imported lead), who may take longer to answer.
PASSWORD_LINK_AGES = {"reset": RESET_MAX_AGE, "welcome": SET_PASSWORD_MAX_AGE}
INVITATION_LIFETIME = timedelta(days=14)


class WeakPassword(DomainError):
    code = "weak_password"


def _require_strong(password: str, email: str) -> None:
    problems = password_problems(password, email)
    if problems:
        raise WeakPassword(" ".join(problems), field="password")


# --- signing in ------------------------------------------------------------------------------


# --- creating accounts -----------------------------------------------------------------------


def create_user(
    email: str,
    name: str,
    password: str,
    role: Role = Role.STAKEHOLDER,
    organization: Organization | None = None,
    is_lead: bool = False,
    locale: str = "en",
    confirmed: bool = True,
) -> User:
    """Add a user in the caller's transaction; the caller commits."""
    normalised = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == normalised)) is not None:
        raise Conflict(_("An account with this email already exists."), field="email")
    user = User(
        email=normalised,
        name=name,
        password_hash=hash_password(password),
        role=role,
        organization=organization,
        is_lead=is_lead,
        locale=locale,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(None, "user.create", "user", user.id, after={"role": role})
    return user


@dataclass(frozen=True)
class NewOrganization:
    name: str
    type: OrganizationType
    country: str
    website: str | None


@dataclass(frozen=True)
class Registration:
    email: str
    name: str
    password: str
    locale: str
    new_organization: NewOrganization | None = None
    join_organization_id: int | None = None
    invitation_token: str | None = None


def register(data: Registration) -> None:
    """Create the account; the answer never tells whether the email was already registered.

    Everything that can refuse the form is checked before the address is looked up, and the
    password is hashed on every path, so neither the answer nor its timing depends on it.
    """
    email = data.email.strip().lower()
    _require_strong(data.password, email)
    password_hash = hash_password(data.password)
    invitation = _open_invitation(data.invitation_token, email) if data.invitation_token else None
    organization = None
    if invitation is None:
        if data.new_organization is not None:
            _require_free_name(data.new_organization.name)
            _require_country(data.new_organization.country)
        elif data.join_organization_id is not None:
            organization = _joinable(data.join_organization_id)
        else:
            raise InvalidInput(
                _("Create an organisation or ask to join one."), field="organization"
            )

    existing = db.session.scalar(select(User).where(User.email == email))
    if existing is not None:
        _warn_existing_account(existing)
        return
    try:
        user = _add_user(email, data.name, password_hash, data.locale, confirmed=bool(invitation))
    except IntegrityError:  # the same address registered a moment ago (a double submit)
        db.session.rollback()
        return

    if invitation is not None:
        user.organization_id = invitation.organization_id
        invitation.accepted_at = utcnow()
        audit.record(
            user.id, "organization.join_by_invitation", "organization", invitation.organization_id
        )
    elif data.new_organization is not None:
        user.organization = _create_organization(data.new_organization, user)
        user.is_lead = True
    else:
        _request_to_join(user, organization)
    if not user.email_confirmed_at:
        _queue_confirmation(user)
    db.session.commit()


def _warn_existing_account(existing: User) -> None:
    mail.queue_email(
        "already_registered",
        existing.email,
        existing.locale,
        dedupe_key=f"already-registered:{existing.id}:{utcnow():%Y%m%d%H}",
        user_id=existing.id,
        reset_link=mail.absolute_url("auth.forgot_password"),
    )
    db.session.commit()


def _add_user(email: str, name: str, password_hash: str, locale: str, *, confirmed: bool) -> User:
    user = User(
        email=email,
        name=name,
        password_hash=password_hash,
        role=Role.STAKEHOLDER,
        locale=locale,
        email_confirmed_at=utcnow() if confirmed else None,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(None, "user.create", "user", user.id, after={"role": user.role})
    return user


def _require_free_name(name: str) -> None:
    taken = db.session.scalar(
        select(Organization.id).where(db.func.lower(Organization.name) == name.strip().lower())
    )
    if taken is not None:
        raise Conflict(
            _("An organisation with this name is already registered: ask to join it instead."),
            field="organization_name",
        )


def _require_country(country: str) -> None:
    if organisation_country(country) is None:
        raise InvalidInput(
            _("Choose the organisation's country from the list."), field="organization_country"
        )


def _joinable(organization_id: int) -> Organization:
    organization = db.session.get(Organization, organization_id)
    if organization is None or organization.verification is VerificationState.REJECTED:
        raise NotFound(_("No such organisation."), field="join_organization_id")
    return organization


def _create_organization(new: NewOrganization, founder: User) -> Organization:
    name = new.name.strip()
    organization = Organization(
        name=name,
        type=new.type,
        country=organisation_country(new.country),
        website=new.website or None,
        verification=VerificationState.PENDING,
    )
    db.session.add(organization)
    db.session.flush()
    audit.record(
        founder.id, "organization.register", "organization", organization.id, after={"name": name}
    )
    return organization


def _request_to_join(user: User, organization: Organization) -> None:
    request = JoinRequest(organization_id=organization.id, user_id=user.id)
    db.session.add(request)
    db.session.flush()
    audit.record(user.id, "organization.join_request", "organization", organization.id)
    leads = db.session.scalars(
        select(User).where(User.organization_id == organization.id, User.is_lead.is_(True))
    )
    for lead in leads:
        mail.queue_email(
            "join_request",
            lead.email,
            lead.locale,
            dedupe_key=f"join-request:{request.id}:{lead.id}",
            user_id=lead.id,
            applicant=user.name,
            applicant_email=user.email,
            organization=organization.name,
            link=mail.absolute_url("organizations.mine"),
        )


def _mail_link(kind: str, user: User, endpoint: str, token: str) -> None:
    """Mail `user` a link with `token`; at most one such message a minute."""
    mail.queue_email(
        kind,
        user.email,
        user.locale,
        dedupe_key=f"{kind}:{user.id}:{utcnow():%Y%m%d%H%M}",
        user_id=user.id,
        name=user.name,
        link=mail.absolute_url(endpoint, token=token),
    )


def _queue_confirmation(user: User) -> None:
    token = tokens.issue("confirm", {"uid": user.id, "email": user.email})
    _mail_link("confirm_email", user, "auth.confirm_email", token)


def resend_confirmation(user: User) -> None:
    if user.email_confirmed_at is None:
        _queue_confirmation(user)
        db.session.commit()


def confirm_email(token: str) -> User:
    payload = tokens.consume("confirm", token, CONFIRM_MAX_AGE)
    user = db.session.get(User, int(payload["uid"]))
    if user is None or user.email != payload["email"]:
        raise tokens.InvalidToken(_("This link is not valid."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
        audit.record(user.id, "user.confirm_email", "user", user.id)
    db.session.commit()
    return user


# --- recovering access -----------------------------------------------------------------------


def _password_fingerprint(user: User) -> str:
    # Changes with the password or the address, so a reset link dies once used or redirected.
    return hashlib.sha256(f"{user.password_hash}|{user.email}".encode()).hexdigest()[:16]


def request_password_reset(email: str) -> None:
    """Mail a reset link if the account exists; the caller's answer is the same either way."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active:
        return
    token = tokens.issue("reset", {"uid": user.id, "fp": _password_fingerprint(user)})
    _mail_link("password_reset", user, "auth.reset_password", token)
    db.session.commit()


def set_password_link(user: User) -> str:
    """The single-use link, valid fourteen days, with which `user` chooses a first password."""
    token = tokens.issue("welcome", {"uid": user.id, "fp": _password_fingerprint(user)})
    return mail.absolute_url("auth.set_password", token=token)


def check_reset_token(token: str, purpose: str = "reset") -> None:
    """Raise InvalidToken when the link cannot be used (shown before asking for a password)."""
    payload = tokens.read(purpose, token, PASSWORD_LINK_AGES[purpose])
    user = db.session.get(User, int(payload["uid"]))
    if user is None or _password_fingerprint(user) != payload["fp"]:
        raise tokens.InvalidToken(_("This link has already been used."))


def reset_password(token: str, new_password: str, purpose: str = "reset") -> User:
    payload = tokens.consume(purpose, token, PASSWORD_LINK_AGES[purpose])
    user = db.session.get(User, int(payload["uid"]))
    if user is None or _password_fingerprint(user) != payload["fp"]:
        raise tokens.InvalidToken(_("This link has already been used."))
    _require_strong(new_password, user.email)
    user.password_hash = hash_password(new_password)
    user.email_confirmed_at = user.email_confirmed_at or utcnow()  # the link proved the address
    end_other_sessions(user.id)
    action = "user.reset_password" if purpose == "reset" else "user.set_password"
    audit.record(user.id, action, "user", user.id)
    after_new_password(user)
    db.session.commit()
    return user


# --- invitations -----------------------------------------------------------------------------


def _usable_invitation(payload: dict[str, object]) -> ColleagueInvitation:
    invitation = db.session.get(ColleagueInvitation, int(payload["inv"]))
    if invitation is None or invitation.email != payload["email"]:
        raise tokens.InvalidToken(_("This link is not valid."))
    if invitation.accepted_at is not None:
        raise tokens.InvalidToken(_("This link has already been used."))
    if invitation.expires_at < utcnow():
        raise tokens.InvalidToken(_("This link has expired. Ask for a new one."))
    inviter = db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    still_allowed = (
        inviter is not None
        and inviter.active
        and inviter.is_lead
        and inviter.organization_id == invitation.organization_id
        and invitation.organization.verification is not VerificationState.REJECTED
    )
    if not still_allowed:
        raise tokens.InvalidToken(_("This invitation has been withdrawn."))
    return invitation


def _open_invitation(token: str, email: str) -> ColleagueInvitation:
    payload = tokens.consume("invite", token, int(INVITATION_LIFETIME.total_seconds()))
    invitation = _usable_invitation(payload)
    if invitation.email != email:
        raise tokens.InvalidToken(_("This invitation is not valid for this email address."))
    return invitation


def invitation_email(token: str) -> str:
    """The address a still-usable invitation link was sent to (to pre-fill the form)."""
    payload = tokens.read("invite", token, int(INVITATION_LIFETIME.total_seconds()))
    return _usable_invitation(payload).email


def invite_colleague(lead_id: int, email: str) -> ColleagueInvitation:
    lead = db.session.get(User, lead_id)
    if lead is None or not lead.is_lead or lead.organization_id is None:
        raise Forbidden(_("Only your organisation's lead can invite colleagues."))
    if lead.organization.verification is VerificationState.REJECTED:
        raise Forbidden(_("A rejected organisation cannot invite colleagues."))
    address = email.strip().lower()
    already = db.session.scalar(
        select(ColleagueInvitation.id).where(
            ColleagueInvitation.organization_id == lead.organization_id,
            ColleagueInvitation.email == address,
            ColleagueInvitation.accepted_at.is_(None),
            ColleagueInvitation.expires_at > utcnow(),
        )
    )
    if already is not None:
        raise Conflict(_("This colleague already has an open invitation."), field="email")
    invitation = ColleagueInvitation(
        organization_id=lead.organization_id,
        email=address,
        invited_by_id=lead.id,
        expires_at=utcnow() + INVITATION_LIFETIME,
    )
    db.session.add(invitation)
    db.session.flush()
    token = tokens.issue("invite", {"inv": invitation.id, "email": address})
    mail.queue_email(
        "colleague_invitation",
        address,
        lead.locale,
        dedupe_key=f"invitation:{invitation.id}",
        inviter=lead.name,
        organization=lead.organization.name,
        link=mail.absolute_url("auth.register", invitation=token),
    )
    audit.record(
        lead.id,
        "organization.invite",
        "organization",
        lead.organization_id,
        after={"invitation_id": invitation.id},
    )
    db.session.commit()
    return invitation
