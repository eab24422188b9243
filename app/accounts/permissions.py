"""Role checks shared by every service."""

from __future__ import annotations

from flask_babel import gettext as _

from app.errors import Forbidden
from app.extensions import db
from app.models import Role, User

MODERATORS = (Role.MODERATOR, Role.ADMIN)


def acting_user(user_id: int, *roles: Role) -> User:
    """The active user with `user_id`, required to hold one of `roles` (any role if none)."""
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise Forbidden(_("Please sign in again."))
    if roles and user.role not in roles:
        raise Forbidden(_("Your role does not allow this."))
    return user
