"""A person's own account: profile, password, email, API tokens, their data, deletion."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts import link_tokens as tokens
from app.accounts import services as accounts
from app.accounts import sessions
from app.accounts.passwords import password_problems
from app.accounts.permissions import acting_user
from app.errors import Conflict, DomainError, InvalidInput, NotFound
from app.extensions import db
from app.models import (
    LOCALES,
    ApiToken,
    AuditEvent,
    Feedback,
    FeedbackRevision,
    Item,
    JoinRequest,
    JoinState,
    Notification,
    NotificationStatus,
    Organization,
    Role,
    User,
    UserSession,
)
from app.models.base import utcnow
from app.notifications import mail

EMAIL_CHANGE_MAX_AGE = 3 * 24 * 3600
API_TOKEN_PREFIX = "cst_"  # noqa: S105 - a public prefix, not a secret
DELETED_NAME = "Deleted user"


class WrongPassword(DomainError):
    """The current password given to confirm a sensitive change is not right."""

    status_code = 403
    code = "wrong_password"


def _reauthenticate(user: User, password: str) -> None:
    # The person is signed in, but a stolen or unattended session must not be enough.
    if not sessions.verify_password(user.password_hash, password):
        raise WrongPassword(_("Your current password is not right."), field="current_password")


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- profile and password --------------------------------------------------------------------


def update_profile(user_id: int, name: str, locale: str) -> User:
    user = acting_user(user_id)
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give your name."), field="name")
    if locale not in LOCALES:
        raise InvalidInput(_("Choose one of the offered languages."), field="locale")
    user.name = name
    user.locale = locale
    audit.record(user.id, "user.update_profile", "user", user.id, after={"locale": locale})
    db.session.commit()
    return user


def change_password(
    user_id: int, current_password: str, new_password: str, *, keep_session: str | None
) -> None:
    """Set a new password and sign out every other session (the one in `keep_session` stays)."""
    user = acting_user(user_id)
    _reauthenticate(user, current_password)
    problems = password_problems(new_password, user.email)
    if problems:
        raise accounts.WeakPassword(" ".join(problems), field="new_password")
    user.password_hash = sessions.hash_password(new_password)
    sessions.end_other_sessions(user.id, keep_token=keep_session)
    audit.record(user.id, "user.change_password", "user", user.id)
    sessions.after_new_password(user)
    db.session.commit()


# --- email address ---------------------------------------------------------------------------


def request_email_change(user_id: int, current_password: str, new_email: str) -> None:
    """Mail a confirmation link to the new address; the old one stays until it is used.

    The caller's answer is the same whether or not another account already uses the address.
    """
    user = acting_user(user_id)
    _reauthenticate(user, current_password)
    address = new_email.strip().lower()
    if address == user.email:
        raise InvalidInput(_("This is already your email address."), field="new_email")
    if db.session.scalar(select(User.id).where(User.email == address)) is not None:
        return  # nothing to send: the address is someone else's
    # Bound to the current address: once the email changes, every other pending link dies.
    token = tokens.issue("email_change", {"uid": user.id, "email": address, "from": user.email})
    mail.queue_email(
        "email_change",
        address,
        user.locale,
        # One message per request: a corrected typo a minute later must still be sent.
        dedupe_key=f"email-change:{user.id}:{_secret_hash(token)[:32]}",
        user_id=user.id,
        name=user.name,
        link=mail.absolute_url("account.confirm_email_change", token=token),
    )
    db.session.commit()


def confirm_email_change(token: str) -> User:
    """Use an email-change link (once): the account takes the address it was sent to."""
    payload = tokens.consume("email_change", token, EMAIL_CHANGE_MAX_AGE)
    user = db.session.get(User, int(payload["uid"]))
    if user is None or not user.active or user.email != payload.get("from"):
        raise tokens.InvalidToken(_("This link is not valid."))
    address = str(payload["email"])
    taken = db.session.scalar(select(User.id).where(User.email == address, User.id != user.id))
    if taken is not None:
        db.session.rollback()  # the link stays unused
        raise Conflict(_("Another account uses this email address now, so it cannot be yours."))
    user.email = address
    user.email_confirmed_at = utcnow()  # the link proved the address
    audit.record(user.id, "user.change_email", "user", user.id)
    try:
        db.session.commit()
    except IntegrityError as error:  # taken between the check and the commit
        db.session.rollback()
        raise Conflict(
            _("Another account uses this email address now, so it cannot be yours.")
        ) from error
    return user


# --- personal API tokens ---------------------------------------------------------------------


@dataclass(frozen=True)
class NewApiToken:
    token: ApiToken
    secret: str  # shown once; only its hash is stored


def api_tokens(user_id: int) -> list[ApiToken]:
    user = acting_user(user_id)
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def create_api_token(user_id: int, name: str) -> NewApiToken:
    user = acting_user(user_id)
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the token a name."), field="name")
    secret = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:100], token_hash=_secret_hash(secret))
    db.session.add(token)
    db.session.flush()
    audit.record(user.id, "api_token.create", "api_token", token.id)
    db.session.commit()
    return NewApiToken(token=token, secret=secret)


def revoke_api_token(user_id: int, token_id: int) -> None:
    user = acting_user(user_id)
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)
    )
    if token is None:  # someone else's token is as unknown as a missing one
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(user.id, "api_token.revoke", "api_token", token.id)
    db.session.commit()


# A token's last use is kept to the minute: one write a minute at most, however busy the token.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenCaller:
    user: User
    token_id: int
    use_to_note: bool  # the token's noted last use is older than TOKEN_USE_RESOLUTION


def caller_for_api_token(secret: str) -> TokenCaller | None:
    """The active owner of an unrevoked token with this secret, or None. Reads only: noting
    the use is `note_token_use`, which the caller runs after answering when `use_to_note`."""
    if not secret or not secret.startswith(API_TOKEN_PREFIX):
        return None
    row = db.session.execute(
        select(User, ApiToken.id, ApiToken.last_used_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _secret_hash(secret), ApiToken.revoked_at.is_(None))
    ).first()
    if row is None or not row.User.active:
        return None
    last_used = row.last_used_at
    stale = last_used is None or last_used < utcnow() - TOKEN_USE_RESOLUTION
    return TokenCaller(row.User, row.id, stale)


def note_token_use(token_id: int) -> bool:
    """Note that the token was used now, in a transaction of its own, unless a use within the
    last minute is noted already (by another request meanwhile). True when it wrote."""
    now = utcnow()
    with db.engine.begin() as connection:
        noted = connection.execute(
            update(ApiToken)
            .where(
                ApiToken.id == token_id,
                or_(
                    ApiToken.last_used_at.is_(None),
                    ApiToken.last_used_at < now - TOKEN_USE_RESOLUTION,
                ),
            )
            .values(last_used_at=now)
        )
    return noted.rowcount == 1


# --- the person's data -----------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def personal_data(user_id: int) -> dict[str, object]:
    """Everything kept about this person, as plain JSON-ready data; nobody else's."""
    user = acting_user(user_id)
    organization = (
        db.session.get(Organization, user.organization_id) if user.organization_id else None
    )
    own_sessions = db.session.scalars(
        select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.created_at)
    )
    own_tokens = db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at)
    )
    feedback = db.session.execute(
        select(Feedback, Item.code)
        .join(Item, Item.id == Feedback.item_id)
        .where(Feedback.author_id == user.id)
        .order_by(Feedback.created_at)
    )
    # Only what the person did; the payloads may name other people, so they stay out.
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(AuditEvent.id)
    )
    return {
        "exported_at": _iso(utcnow()),
        "profile": {
            "id": user.id,
            "name": user.name,
            "email": user.email,
            "role": user.role.value,
            "locale": user.locale,
            "is_lead": user.is_lead,
            "email_confirmed_at": _iso(user.email_confirmed_at),
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
        },
        "organization": {"name": organization.name} if organization else None,
        "sessions": [
            {
                "created_at": _iso(s.created_at),
                "expires_at": _iso(s.expires_at),
                "revoked_at": _iso(s.revoked_at),
                "user_agent": s.user_agent,
            }
            for s in own_sessions
        ],
        "api_tokens": [
            {
                "name": t.name,
                "created_at": _iso(t.created_at),
                "last_used_at": _iso(t.last_used_at),
                "revoked_at": _iso(t.revoked_at),
            }
            for t in own_tokens
        ],
        "feedback": [
            {
                "reference": f.reference,
                "item": code,
                "state": f.state.value,
                "stance": f.stance.value if f.stance else None,
                "priority": f.priority,
                "comment": f.comment,
                "created_at": _iso(f.created_at),
                "updated_at": _iso(f.updated_at),
                "submitted_at": _iso(f.submitted_at),
                "published_at": _iso(f.published_at),
            }
            for f, code in feedback
        ],
        "audit_events": [
            {
                "action": e.action,
                "target_type": e.target_type,
                "target_id": e.target_id,
                "created_at": _iso(e.created_at),
            }
            for e in events
        ],
    }


def _other_active_admins(user_id: int) -> list[int]:
    # Locked like the admin pages do, so two admins leaving at once cannot both succeed.
    admins = db.session.scalars(
        select(User.id)
        .where(User.role == Role.ADMIN, User.active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )
    return [admin_id for admin_id in admins if admin_id != user_id]


def delete_account(user_id: int, current_password: str) -> None:
    """Remove the person's identity; their organisation's positions stay, without their name.

    The row stays (anonymised) because audit events keep pointing at it.
    """
    user = acting_user(user_id)
    _reauthenticate(user, current_password)
    if user.role is Role.ADMIN and not _other_active_admins(user.id):
        raise Conflict(_("You are the last active admin. Make someone else an admin first."))
    now = utcnow()
    db.session.execute(update(Feedback).where(Feedback.author_id == user.id).values(author_id=None))
    db.session.execute(
        update(Feedback).where(Feedback.submitted_by_id == user.id).values(submitted_by_id=None)
    )
    db.session.execute(
        update(FeedbackRevision).where(FeedbackRevision.author_id == user.id).values(author_id=None)
    )
    # An undecided request would show the deleted person to the organisation's lead.
    db.session.execute(
        delete(JoinRequest).where(
            JoinRequest.user_id == user.id, JoinRequest.state == JoinState.PENDING
        )
    )
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    sessions.end_other_sessions(user.id)  # every session, this one included
    # The outbox keeps copies of the person's address and name: scrub them too.
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.FAILED, error="recipient deleted the account")
    )
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id)
        .values(to_email=f"deleted-{user.id}@deleted.invalid", body_text="")
    )
    user.name = DELETED_NAME
    user.email = f"deleted-{user.id}@deleted.invalid"
    # Not an argon2 hash: no password verifies against it.
    user.password_hash = "!deleted"  # noqa: S105
    user.active = False
    if user.is_lead and user.organization_id is not None:
        _hand_over_lead(user)
    user.is_lead = False
    user.organization_id = None
    audit.record(user.id, "user.delete", "user", user.id)
    db.session.commit()


def _hand_over_lead(leaving: User) -> None:
    """An organisation is never left without a lead: its longest-standing member takes over."""
    other_leads = db.session.scalar(
        select(db.func.count())
        .select_from(User)
        .where(
            User.organization_id == leaving.organization_id,
            User.is_lead.is_(True),
            User.active.is_(True),
            User.id != leaving.id,
        )
    )
    if other_leads:
        return
    successor = db.session.scalar(
        select(User)
        .where(
            User.organization_id == leaving.organization_id,
            User.active.is_(True),
            User.id != leaving.id,
        )
        .order_by(User.created_at, User.id)
        .limit(1)
    )
    if successor is not None:
        successor.is_lead = True
        audit.record(
            None,
            "organization.lead_handover",
            "organization",
            leaving.organization_id,
            after={"lead_user_id": successor.id},
        )
