"""An organisation's feedback on an item: drafting, submitting, and the public listing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Attribution,
    Consultation,
    ConsultationState,
    Disclosure,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    Item,
    Organization,
    Role,
    Stance,
)
from app.models.base import utcnow
from app.services import audit
from app.services.errors import Conflict, Forbidden, InvalidState, NotFound
from app.services.permissions import acting_user

EDITABLE_STATES = (FeedbackState.DRAFT, FeedbackState.CHANGES_REQUESTED, FeedbackState.SUBMITTED)


@dataclass(frozen=True)
class FeedbackInput:
    stance: Stance | None
    priority: int | None
    comment: str


@dataclass(frozen=True)
class PublicFeedback:
    reference: str
    organization: str | None  # None when the organisation asked to stay anonymous
    stance: Stance | None
    priority: int | None
    comment: str | None  # None when the comment is for the council only
    published_at: object


def feedback_of_organization(organization_id: int | None, item_id: int) -> Feedback | None:
    if organization_id is None:
        return None
    return db.session.scalar(
        select(Feedback).where(
            Feedback.organization_id == organization_id, Feedback.item_id == item_id
        )
    )


def save_feedback(
    user_id: int,
    item_id: int,
    data: FeedbackInput,
    *,
    submit: bool,
    lock_version: int | None,
) -> Feedback:
    """Save the organisation's draft, or submit it; refuses stale edits and closed windows."""
    user = acting_user(user_id, Role.STAKEHOLDER)
    if user.organization_id is None:
        raise Forbidden(_("You need to belong to an organisation to give feedback."))
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(_("No such item."))
    consultation = db.session.get(Consultation, item.consultation_id)
    if consultation.state_at(utcnow()) is not ConsultationState.OPEN:
        raise InvalidState(_("This consultation is not open for feedback."))

    version_id = _current_version_id(item)
    feedback = feedback_of_organization(user.organization_id, item_id)
    if feedback is None:
        feedback = Feedback(
            reference=_new_reference(),
            item_id=item.id,
            item_version_id=version_id,
            organization_id=user.organization_id,
            author_id=user.id,
            state=FeedbackState.DRAFT,
            affected_populations=[],
            countries=[],
            evidence_links=[],
            comment_disclosure=Disclosure.PUBLIC,
            amendment_disclosure=Disclosure.PUBLIC,
            attribution=Attribution.NAMED,
        )
        db.session.add(feedback)
    else:
        if lock_version is not None and lock_version != feedback.lock_version:
            raise Conflict(
                _(
                    "A colleague saved this feedback after you opened it. Your text is kept below;"
                    " review their changes and save again."
                ),
                field="lock_version",
            )
        if feedback.state not in EDITABLE_STATES:
            raise InvalidState(_("This feedback can no longer be edited."))

    before = {"state": feedback.state}
    feedback.item_version_id = version_id
    feedback.stance = data.stance
    feedback.priority = data.priority
    feedback.comment = data.comment.strip()

    if submit:
        if data.stance is None or data.priority is None:
            raise InvalidState(_("Choose a stance and a priority before submitting."))
        feedback.state = FeedbackState.SUBMITTED
        feedback.submitted_at = utcnow()
        feedback.submitted_by_id = user.id
        db.session.flush()
        _add_revision(feedback, user.id)
        audit.record(
            user.id,
            "feedback.submit",
            "feedback",
            feedback.id,
            before=before,
            after={"state": feedback.state},
        )
    else:
        db.session.flush()
        audit.record(user.id, "feedback.save_draft", "feedback", feedback.id)
    db.session.commit()
    return feedback


def published_feedback(item_id: int, limit: int = 50) -> list[PublicFeedback]:
    rows = db.session.execute(
        select(Feedback, Organization.name)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(Feedback.item_id == item_id, Feedback.state == FeedbackState.PUBLISHED)
        .order_by(Feedback.published_at.desc(), Feedback.id.desc())
        .limit(limit)
    )
    return [
        PublicFeedback(
            reference=fb.reference,
            organization=name if fb.attribution is Attribution.NAMED else None,
            stance=fb.stance,
            priority=fb.priority,
            comment=fb.comment if fb.comment_disclosure is Disclosure.PUBLIC else None,
            published_at=fb.published_at,
        )
        for fb, name in rows
    ]


def snapshot(feedback: Feedback) -> dict[str, object]:
    return {
        "state": feedback.state.value,
        "stance": feedback.stance.value if feedback.stance else None,
        "priority": feedback.priority,
        "comment": feedback.comment,
        "comment_disclosure": feedback.comment_disclosure.value,
        "amendment": feedback.amendment,
        "item_version_id": feedback.item_version_id,
    }


def _add_revision(feedback: Feedback, author_id: int) -> None:
    number = len(feedback.revisions) + 1
    db.session.add(
        FeedbackRevision(
            feedback_id=feedback.id, number=number, author_id=author_id, snapshot=snapshot(feedback)
        )
    )


def _current_version_id(item: Item) -> int:
    return next(v.id for v in item.versions if v.number == item.current_version)


def _new_reference() -> str:
    return "FB-" + secrets.token_hex(4).upper()
