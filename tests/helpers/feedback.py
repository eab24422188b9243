"""What the feedback form tests share: the item they work on, its people, and the helpers that
read or move its feedback behind the pages' back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.dev.demo import DEMO_ORGANIZATION
from app.extensions import db
from app.models import Consultation, Feedback, FeedbackState, Item, Organization, User
from app.models.base import utcnow
from app.moderation import services as moderation

SLUG = "leaders-summit-2021-migration"
ITEM = f"/c/{SLUG}/items/P1"  # no demo feedback of ours, none published by anyone
FORM = f"{ITEM}/feedback"
LEAD = "lead@example.org"
MEMBER = "stakeholder@example.org"  # a member of the lead's organisation, not its lead


def our_feedback(app, code: str = "P1") -> Feedback | None:
    """Our organisation's feedback on item `code` as stored now (detached), or None."""
    with app.app_context():
        feedback = db.session.scalar(
            select(Feedback)
            .join(Item, Item.id == Feedback.item_id)
            .join(Organization, Organization.id == Feedback.organization_id)
            .where(Item.code == code, Organization.name == DEMO_ORGANIZATION)
        )
        db.session.expunge_all()
        return feedback


def publish(app, feedback_id: int) -> None:
    """The moderator publishes the version stored now (through the moderation service)."""
    with app.app_context():
        moderator_id = db.session.scalar(
            select(User.id).where(User.email == "moderator@example.org")
        )
        version = db.session.get(Feedback, feedback_id).lock_version
        moderation.publish_feedback(moderator_id, feedback_id, version)
        assert db.session.get(Feedback, feedback_id).state is FeedbackState.PUBLISHED


def close_window(app) -> None:
    """Every consultation's comment window closed a second ago."""
    with app.app_context():
        db.session.execute(update(Consultation).values(closes_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
