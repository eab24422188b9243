"""Staff areas (moderation, reports, administration) answer 403 to everyone else.

A visitor who is not signed in gets the same 403 as a stakeholder, before any view or service
runs, so nothing about the page (not even whether the record exists) is revealed; the error
page offers to sign in.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort
from flask_login import current_user

from app.models import Role

STAFF = (Role.MODERATOR, Role.COUNCIL, Role.ADMIN)


def only(*roles: Role) -> Callable[[], None]:
    """A `before_request` hook refusing anyone without one of `roles`."""

    def require_role() -> None:
        if not current_user.is_authenticated or current_user.role not in roles:
            abort(403)

    return require_role
