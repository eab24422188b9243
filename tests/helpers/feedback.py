"""What the feedback form tests share: the item they work on, its people, and the helpers that
read or move its feedback behind the pages' back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from app.dev.demo import DEMO_ORGANIZATION
from app.extensions import db
from app.feedback.positions import new_reference
from app.models import (
    Consultation,
    Feedback,
    FeedbackState,
    FlagCheck,
    Item,
    Organization,
    OrganizationType,
    Stance,
    User,
    VerificationState,
)
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


def add_published_feedback(app, count: int, code: str = "P1", prefix: str = "Paged") -> None:
    """`count` published positions on the item, one per new verified organisation, published
    an hour apart (entry 00 the newest, just now); their comments read "<prefix> entry NN."."""
    now = utcnow()
    with app.app_context():
        item = db.session.scalar(select(Item).where(Item.code == code))
        version_id = next(v.id for v in item.versions if v.number == item.current_version)
        for index in range(count):
            organization = Organization(
                name=f"{prefix} Organisation {index:02d}",
                type=OrganizationType.NGO,
                country="US",
                verification=VerificationState.VERIFIED,
                verified_at=now,
            )
            db.session.add(organization)
            db.session.flush()
            db.session.add(
                Feedback(
                    reference=new_reference(),
                    item_id=item.id,
                    item_version_id=version_id,
                    organization_id=organization.id,
                    state=FeedbackState.PUBLISHED,
                    stance=Stance.SUPPORT,
                    priority=3,
                    comment=f"{prefix} entry {index:02d}.",
                    affected_populations=[],
                    countries=[],
                    evidence_links=[],
                    submitted_at=now - timedelta(days=2),
                    published_at=now - timedelta(hours=index),  # entry 00 is the newest
                )
            )
        db.session.commit()


def submitted_position(
    item_id: int, version_id: int, comment: str, *, queued: bool = False, **fields: object
) -> int:
    """A submitted position of a new verified organisation on the item, in the caller's app
    context; its id. `queued` leaves it waiting for its automatic flags (no wake-up sent), as
    if the worker were behind."""
    organization = Organization(
        name=f"Position organisation {new_reference()}",
        country="GT",
        verification=VerificationState.VERIFIED,
    )
    db.session.add(organization)
    db.session.flush()
    feedback = Feedback(
        reference=new_reference(),
        item_id=item_id,
        item_version_id=version_id,
        organization_id=organization.id,
        state=FeedbackState.SUBMITTED,
        comment=comment,
        submitted_at=utcnow(),
        **fields,
    )
    db.session.add(feedback)
    db.session.flush()
    if queued:
        db.session.add(FlagCheck(feedback_id=feedback.id, queued_at=utcnow()))
    db.session.commit()
    return feedback.id
