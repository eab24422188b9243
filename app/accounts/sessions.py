"""Signing in: password hashes, and sign-in sessions kept on the server (so signing out, a
password change or a deactivation ends a session everywhere it was copied)."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from app import audit
from app.accounts.passwords import password_hasher
from app.extensions import db
from app.models import ApiToken, Role, User, UserSession
from app.models.base import utcnow
from app.notifications import mail
from app.parsing import parse_id

SESSION_LIFETIME = timedelta(hours=12)


REMEMBER_LIFETIME = timedelta(days=14)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the email is unknown, so both paths cost the same argon2 work."""
    return hasher.hash("consulta-timing-equaliser")


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


# An account created for someone (an imported organisation's lead) has no password until they
# choose one through the link mailed to them: the stored value is no argon2 hash, so no password
# verifies against it, and it costs no hashing to write thousands of them.
UNUSABLE_PASSWORD_PREFIX = "!"  # noqa: S105 - a marker, not a password


def unusable_password() -> str:
    return UNUSABLE_PASSWORD_PREFIX + secrets.token_hex(16)


def has_usable_password(stored: str) -> bool:
    return not stored.startswith(UNUSABLE_PASSWORD_PREFIX)


def verify_password(stored: str, password: str) -> bool:
    try:
        return password_hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None; rehashes when parameters changed."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    hasher = password_hasher()
    if not verify_password(user.password_hash if user else _dummy_hash(hasher), password):
        return None
    if user is None or not user.active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
        db.session.commit()
    return user


def start_session(user: User, *, remember: bool, user_agent: str = "") -> str:
    """Record a new server-side session and return its secret (kept in the signed cookie)."""
    token = secrets.token_urlsafe(32)
    lifetime = REMEMBER_LIFETIME if remember else SESSION_LIFETIME
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=_token_hash(token),
            remember=remember,
            user_agent=user_agent[:200],
            expires_at=utcnow() + lifetime,
        )
    )
    user.last_login_at = utcnow()
    audit.record(user.id, "user.login", "user", user.id)
    db.session.commit()
    user.session_token = token
    return token


def load_session_user(session_id: str) -> User | None:
    """Flask-Login loader: `<user id>:<session secret>` of a live, unrevoked session."""
    user_id, _sep, token = session_id.partition(":")
    if parse_id(user_id) is None or not token:
        return None
    row = db.session.execute(
        select(User, UserSession)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == int(user_id),
            UserSession.token_hash == _token_hash(token),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > utcnow(),
        )
    ).first()
    if row is None or not row.User.active:
        return None
    if row.UserSession.remember and row.User.role is not Role.STAKEHOLDER:
        return None  # staff are never remembered, even if promoted after signing in
    row.User.session_token = token
    return row.User


def end_session(token: str | None) -> None:
    if token:
        db.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == _token_hash(token), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        db.session.commit()


def end_other_sessions(user_id: int, keep_token: str | None = None) -> None:
    query = update(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None)
    )
    if keep_token:
        query = query.where(UserSession.token_hash != _token_hash(keep_token))
    db.session.execute(query.values(revoked_at=utcnow()))


def after_new_password(user: User) -> None:
    """What a new password (changed or reset) ends besides the other sessions: every API token
    made with the old one, since whoever knew that password may have made one. The owner is
    told by e-mail, with the way to make new tokens."""
    revoked = db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    ).rowcount
    if not revoked:
        return
    audit.record(user.id, "api_token.revoke_all", "user", user.id, after={"tokens": revoked})
    mail.queue_email(
        "tokens_revoked",
        user.email,
        user.locale,
        dedupe_key=f"tokens_revoked:{user.id}:{utcnow():%Y%m%d%H%M%S%f}",
        user_id=user.id,
        name=user.name,
        count=revoked,
        link=mail.absolute_url("account.tokens"),
    )
