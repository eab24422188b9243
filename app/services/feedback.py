"""An organisation's feedback on an item: drafting, submitting, and the public listing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

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
    User,
)
from app.models.base import utcnow
from app.models.feedback import AFFECTED_POPULATIONS, REGION_COUNTRIES
from app.services import audit
from app.services.errors import Conflict, Forbidden, InvalidState, NotFound
from app.services.permissions import acting_user

# Submitted feedback may be replaced by a new submission (a new revision) while it awaits review.
EDITABLE_STATES = (FeedbackState.DRAFT, FeedbackState.CHANGES_REQUESTED, FeedbackState.SUBMITTED)


@dataclass(frozen=True)
class FeedbackInput:
    stance: Stance | None
    priority: int | None
    comment: str
    affected_populations: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    comment_disclosure: Disclosure = Disclosure.PUBLIC
    amendment: str = ""
    amendment_disclosure: Disclosure = Disclosure.PUBLIC
    evidence_links: tuple[str, ...] = ()
    attribution: Attribution = Attribution.NAMED


@dataclass(frozen=True)
class PublicFeedback:
    reference: str
    organization: str | None  # None when the organisation asked to stay anonymous
    stance: Stance | None
    priority: int | None
    comment: str | None  # None when the comment is for the council only
    amendment: str | None  # None when absent or for the council only
    affected_populations: list[str]
    countries: list[str]
    language: str | None
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
    lock_version: int,
) -> Feedback:
    """Save the organisation's draft, or submit it; refuses stale edits and closed windows.

    `lock_version` is the version the writer last saw: 0 when they saw no feedback at all.
    """
    user = acting_user(user_id, Role.STAKEHOLDER)
    if user.organization_id is None:
        raise Forbidden(_("You need to belong to an organisation to give feedback."))
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(_("No such item."))
    consultation = db.session.get(Consultation, item.consultation_id)
    window = consultation.state_at(utcnow())
    feedback = feedback_of_organization(user.organization_id, item_id)
    if window is ConsultationState.CLOSED and submit:
        _keep_late_text_as_draft(feedback, item, user, data, lock_version)
        raise InvalidState(
            _(
                "The comment window has closed, so this was not submitted."
                " Your text is kept as a draft."
            )
        )
    if window is not ConsultationState.OPEN:
        raise InvalidState(_("This consultation is not open for feedback."))
    if (feedback.lock_version if feedback else 0) != lock_version:
        raise _stale_edit()
    if feedback is None:
        feedback = new_draft(item, user.organization_id, user.id)
    elif feedback.state not in EDITABLE_STATES:
        raise InvalidState(_("This feedback can no longer be edited."))
    elif feedback.state is FeedbackState.SUBMITTED and not submit:
        raise InvalidState(
            _("This feedback is already submitted: submit your changes to replace it.")
        )

    _check_choices(data)
    before = {"state": feedback.state}
    feedback.item_version_id = _current_version_id(item)
    _apply(feedback, data)
    if submit:
        if data.stance is None or data.priority is None:
            raise InvalidState(_("Choose a stance and a priority before submitting."))
        if data.stance is Stance.SUPPORT_WITH_AMENDMENTS and not feedback.amendment:
            raise InvalidState(
                _("Give the wording you propose when you support with amendments."),
                field="amendment",
            )
        feedback.state = FeedbackState.SUBMITTED
        feedback.submitted_at = utcnow()
        feedback.submitted_by_id = user.id
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as error:  # a colleague saved at the same moment
        db.session.rollback()
        raise _stale_edit() from error
    if submit:
        _add_revision(feedback, user.id)
    action = "feedback.submit" if submit else "feedback.save_draft"
    audit.record(
        user.id, action, "feedback", feedback.id, before=before, after={"state": feedback.state}
    )
    db.session.commit()
    return feedback


def _keep_late_text_as_draft(
    feedback: Feedback | None, item: Item, author: User, data: FeedbackInput, lock_version: int
) -> None:
    """A submission that arrives after the close is not lost: its text is saved as a draft."""
    if (feedback.lock_version if feedback else 0) != lock_version:
        return  # a colleague changed it meanwhile: nothing is overwritten
    if feedback is None:
        feedback = new_draft(item, author.organization_id, author.id)
    elif feedback.state not in (FeedbackState.DRAFT, FeedbackState.CHANGES_REQUESTED):
        return  # a submitted position stays as it was
    _check_choices(data)
    _apply(feedback, data)
    db.session.flush()
    audit.record(author.id, "feedback.late_submission_kept", "feedback", feedback.id)
    db.session.commit()


def _check_choices(data: FeedbackInput) -> None:
    if not set(data.affected_populations) <= set(AFFECTED_POPULATIONS):
        raise InvalidState(
            _("Choose affected populations from the list."), field="affected_populations"
        )
    if not set(data.countries) <= set(REGION_COUNTRIES):
        raise InvalidState(_("Choose countries from the list."), field="countries")


def _apply(feedback: Feedback, data: FeedbackInput) -> None:
    feedback.stance = data.stance
    feedback.priority = data.priority
    feedback.comment = data.comment.strip()
    feedback.comment_disclosure = data.comment_disclosure
    feedback.amendment = data.amendment.strip()
    feedback.amendment_disclosure = data.amendment_disclosure
    feedback.affected_populations = sorted(set(data.affected_populations))
    feedback.countries = sorted(set(data.countries))
    feedback.evidence_links = list(data.evidence_links)
    feedback.attribution = data.attribution


def _stale_edit() -> Conflict:
    return Conflict(
        _(
            "A colleague saved this feedback after you opened it. Your text is kept below,"
            " next to theirs; review both and save again."
        ),
        field="lock_version",
    )


def new_draft(item: Item, organization_id: int, author_id: int) -> Feedback:
    """An empty draft of the organisation's position on `item`, added to the session."""
    feedback = Feedback(
        reference=new_reference(),
        item_id=item.id,
        item_version_id=_current_version_id(item),
        organization_id=organization_id,
        author_id=author_id,
        state=FeedbackState.DRAFT,
        affected_populations=[],
        countries=[],
        evidence_links=[],
        comment_disclosure=Disclosure.PUBLIC,
        amendment_disclosure=Disclosure.PUBLIC,
        attribution=Attribution.NAMED,
    )
    db.session.add(feedback)
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
            amendment=fb.amendment
            if fb.amendment and fb.amendment_disclosure is Disclosure.PUBLIC
            else None,
            affected_populations=list(fb.affected_populations or []),
            countries=list(fb.countries or []),
            language=fb.language,
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
        "amendment_disclosure": feedback.amendment_disclosure.value,
        "affected_populations": list(feedback.affected_populations or []),
        "countries": list(feedback.countries or []),
        "evidence_links": list(feedback.evidence_links or []),
        "attribution": feedback.attribution.value,
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


def new_reference() -> str:
    """A receipt reference; 64 random bits, so a million submissions never collide in practice."""
    return "FB-" + secrets.token_hex(8).upper()
