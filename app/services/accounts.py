"""Accounts: password hashing, sign-in, and loading the signed-in user for each request."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from app.extensions import db
from app.models import Organization, Role, User
from app.models.base import utcnow
from app.services import audit
from app.services.errors import Conflict

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so both paths cost the same argon2 work."""
    return _hasher.hash("consulta-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def authenticate(email: str, password: str) -> User | None:
    """The active user with these credentials, or None; rehashes when parameters changed."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    stored = user.password_hash if user else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    audit.record(user.id, "user.login", "user", user.id)
    db.session.commit()
    return user


def load_session_user(session_id: str) -> User | None:
    """Flask-Login loader: the id carries the session version, so old sessions stop working."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def create_user(
    email: str,
    name: str,
    password: str,
    role: Role = Role.STAKEHOLDER,
    organization: Organization | None = None,
    is_lead: bool = False,
    locale: str = "en",
) -> User:
    """Add a user in the caller's transaction; the caller commits."""
    normalised = email.strip().lower()
    if db.session.scalar(select(User.id).where(User.email == normalised)) is not None:
        raise Conflict("An account with this email already exists.", field="email")
    user = User(
        email=normalised,
        name=name,
        password_hash=hash_password(password),
        role=role,
        organization=organization,
        is_lead=is_lead,
        locale=locale,
        email_confirmed_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    audit.record(None, "user.create", "user", user.id, after={"email": normalised, "role": role})
    return user


def end_all_sessions(user: User) -> None:
    user.session_version += 1


def set_locale(user_id: int, locale: str) -> None:
    user = db.session.get(User, user_id)
    if user is not None:
        user.locale = locale
        db.session.commit()
