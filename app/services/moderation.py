"""The moderation queue and moderators' decisions on submitted feedback."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, tuple_, update

from app.extensions import db
from app.models import Feedback, FeedbackState, Item, Organization, Role
from app.models.base import utcnow
from app.services import audit, cosigning
from app.services.errors import Conflict, NotFound
from app.services.permissions import acting_user

MODERATORS = (Role.MODERATOR, Role.ADMIN)


@dataclass(frozen=True)
class QueueEntry:
    id: int
    reference: str
    lock_version: int
    item_code: str
    organization: str
    stance: str | None
    priority: int | None
    comment: str
    submitted_at: datetime


def review_queue(
    user_id: int, *, after: tuple[datetime, int] | None = None, limit: int = 50
) -> list[QueueEntry]:
    """Submitted feedback, oldest first, keyset-paginated on (submitted_at, id)."""
    acting_user(user_id, *MODERATORS)
    query = (
        select(
            Feedback.id,
            Feedback.reference,
            Feedback.lock_version,
            Item.code,
            Organization.name,
            Feedback.stance,
            Feedback.priority,
            Feedback.comment,
            Feedback.submitted_at,
        )
        .join(Item, Item.id == Feedback.item_id)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(Feedback.state == FeedbackState.SUBMITTED)
        .order_by(Feedback.submitted_at, Feedback.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(Feedback.submitted_at, Feedback.id) > after)
    return [
        QueueEntry(
            id=row.id,
            reference=row.reference,
            lock_version=row.lock_version,
            item_code=row.code,
            organization=row.name,
            stance=row.stance.value if row.stance else None,
            priority=row.priority,
            comment=row.comment,
            submitted_at=row.submitted_at,
        )
        for row in db.session.execute(query)
    ]


def publish_feedback(user_id: int, feedback_id: int, seen_version: int) -> None:
    """Publish the text the moderator saw (`seen_version`), never a newer one."""
    _decide(user_id, feedback_id, seen_version, FeedbackState.PUBLISHED, reason=None)


def reject_feedback(user_id: int, feedback_id: int, seen_version: int, reason: str) -> None:
    _decide(user_id, feedback_id, seen_version, FeedbackState.REJECTED, reason=reason)


def _decide(
    user_id: int,
    feedback_id: int,
    seen_version: int,
    new_state: FeedbackState,
    reason: str | None,
) -> None:
    moderator = acting_user(user_id, *MODERATORS)
    if db.session.get(Feedback, feedback_id) is None:
        raise NotFound(_("No such feedback."))
    now = utcnow()
    values: dict[str, object] = {
        "state": new_state,
        "moderated_by_id": moderator.id,
        "moderated_at": now,
        "moderation_reason": reason,
        "lock_version": Feedback.lock_version + 1,
    }
    if new_state is FeedbackState.PUBLISHED:
        values["published_at"] = now
    # A conditional UPDATE: of two moderators deciding at once exactly one wins, and a text
    # replaced since the moderator read it is not decided on unseen.
    result = db.session.execute(
        update(Feedback)
        .where(
            Feedback.id == feedback_id,
            Feedback.state == FeedbackState.SUBMITTED,
            Feedback.lock_version == seen_version,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise Conflict(
            _(
                "This submission was decided by another moderator or changed since you read it."
                " Review it again."
            )
        )
    if new_state is FeedbackState.REJECTED:
        cosigning.release_cosigners(feedback_id, moderator.id)  # a rejected position binds nobody
    audit.record(
        moderator.id,
        f"feedback.{new_state.value}",
        "feedback",
        feedback_id,
        before={"state": FeedbackState.SUBMITTED},
        after={"state": new_state, "reason": reason},
    )
    db.session.commit()
