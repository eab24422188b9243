"""Administration of accounts: listing users, changing roles, deactivating and reactivating."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app import audit
from app.accounts import sessions
from app.accounts.permissions import acting_user
from app.errors import Conflict, Forbidden, NotFound
from app.extensions import db
from app.models import Role, User

SEARCH_MAX_LENGTH = 254


def list_users(
    admin_id: int, *, search: str = "", after: int | None = None, limit: int = 50
) -> list[User]:
    """Users ordered by id, keyset-paginated after the id `after`, optionally by email or name."""
    acting_user(admin_id, Role.ADMIN)
    query = select(User).options(joinedload(User.organization)).order_by(User.id).limit(limit)
    term = search.strip()[:SEARCH_MAX_LENGTH]
    if term:
        pattern = "%" + _escape_like(term.lower()) + "%"
        query = query.where(
            or_(
                User.email.like(pattern, escape="\\"),
                func.lower(User.name).like(pattern, escape="\\"),
            )
        )
    if after is not None:
        query = query.where(User.id > after)
    return list(db.session.scalars(query))


def change_role(admin_id: int, user_id: int, role: Role) -> bool:
    """Give `user_id` the role `role`; False if it already had it. Keeps an active admin."""
    admin, admins = _acting_admin(admin_id)
    user = _target(user_id)
    if user.role is role:
        return False
    if user.id in admins and not admins - {user.id}:
        if user.id == admin.id:
            raise Conflict(_("You are the last active admin. Make someone else an admin first."))
        raise Conflict(_("This is the last active admin. Make someone else an admin first."))
    before = {"role": user.role.value}
    user.role = role
    # New rights start with a new sign-in (and without a remembered device for staff).
    sessions.end_other_sessions(user.id)
    audit.record(
        admin.id, "user.role_change", "user", user.id, before=before, after={"role": role.value}
    )
    db.session.commit()
    return True


def set_active(admin_id: int, user_id: int, active: bool) -> bool:
    """Deactivate (ending every session) or reactivate `user_id`; False when nothing changed."""
    admin, _admins = _acting_admin(admin_id)
    if user_id == admin.id and not active:
        raise Conflict(_("You cannot deactivate your own account."))
    user = _target(user_id)
    if user.active is active:
        return False
    user.active = active
    if not active:
        sessions.end_other_sessions(user.id)
    audit.record(
        admin.id,
        "user.reactivate" if active else "user.deactivate",
        "user",
        user.id,
        before={"active": not active},
        after={"active": active},
    )
    db.session.commit()
    return True


def _acting_admin(admin_id: int) -> tuple[User, set[int]]:
    """The acting admin and the ids of all active admins, whose rows stay locked until commit."""
    admin = acting_user(admin_id, Role.ADMIN)
    # Locked in id order, so two admins demoting or deactivating each other at the same moment
    # are serialised and the second one sees the first one's change.
    admins = set(
        db.session.scalars(
            select(User.id)
            .where(User.role == Role.ADMIN, User.active.is_(True))
            .order_by(User.id)
            .with_for_update()
        )
    )
    if admin.id not in admins:
        raise Forbidden(_("Your role does not allow this."))
    return admin, admins


def _target(user_id: int) -> User:
    user = db.session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(_("No such user."))
    return user


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
