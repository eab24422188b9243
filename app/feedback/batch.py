"""Many positions at once (the API's batch): every one checked first, then all saved or none;
the lead may submit some or all of them in the same request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit
from app.accounts.permissions import acting_user
from app.analysis.language import detect_language
from app.errors import DomainError, Forbidden, InvalidInput
from app.extensions import db
from app.feedback import cosigning, positions, services
from app.feedback.feedback_input import FeedbackInput, apply_input, input_faults
from app.feedback.positions import new_draft
from app.feedback.services import stale_edit
from app.models import (
    Consultation,
    ConsultationState,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    Item,
    Organization,
    Role,
    User,
)
from app.models.base import utcnow
from app.moderation import flagging
from app.organizations import services as organizations

MAX_BATCH = 500


@dataclass(frozen=True)
class RowError:
    index: int  # the draft's place in the batch, from 0
    code: str
    message: str
    field: str | None


class BatchInvalid(DomainError):
    status_code = 422
    code = "batch_invalid"

    def __init__(self, message: str, rows: list[RowError]) -> None:
        super().__init__(message, field="drafts")
        self.rows = rows


def save_drafts(
    user_id: int,
    drafts: list[tuple[int, FeedbackInput]],
    *,
    submit: frozenset[int] = frozenset(),
    before_commit: Callable[[list[Feedback]], None] | None = None,
) -> list[Feedback]:
    """Start the organisation's drafts on many items at once: every one checked first, and
    then all saved in one transaction, or none (BatchInvalid lists every draft at fault with
    its field). The drafts whose places are in `submit` are submitted at once (the lead only):
    they meet the submission rules, each gets its first revision, its receipt and its flag
    check, as `services.save_feedback` gives one. `before_commit(created)` joins the same
    transaction (the API records its answer for an Idempotency-Key there)."""
    user = acting_user(user_id, Role.STAKEHOLDER)
    if user.organization_id is None:
        raise Forbidden(_("You need to belong to an organisation to give feedback."))
    if submit and not user.is_lead:
        raise Forbidden(_("Only your organisation's lead can sign off and submit its position."))
    if not drafts or len(drafts) > MAX_BATCH:
        raise InvalidInput(
            _("Send between 1 and %(n)s drafts at once.", n=MAX_BATCH), field="drafts"
        )
    item_ids = {item_id for item_id, _data in drafts}
    items = {
        item.id: item
        for item in db.session.scalars(
            select(Item).options(selectinload(Item.versions)).where(Item.id.in_(item_ids))
        )
    }
    now = utcnow()
    consultations = {
        consultation.id: consultation
        for consultation in db.session.scalars(
            select(Consultation).where(
                Consultation.id.in_({item.consultation_id for item in items.values()})
            )
        )
    }
    open_consultations = {
        consultation_id
        for consultation_id, consultation in consultations.items()
        if consultation.state_at(now) is ConsultationState.OPEN
    }
    organization = cosigned = None
    if submit:  # suspension and co-signatures bar submitting; the row stays locked till commit
        organization = organizations.lock_for_submission(user.organization_id)
        cosigned = cosigning.cosigned_items(user.organization_id, item_ids)
    answered = set(
        db.session.scalars(
            select(Feedback.item_id).where(
                Feedback.organization_id == user.organization_id, Feedback.item_id.in_(item_ids)
            )
        )
    )
    errors: list[RowError] = []
    for index, (item_id, data) in enumerate(drafts):
        item = items.get(item_id)
        if item is None:
            errors.append(RowError(index, "not_found", _("No such item."), "item_id"))
        elif item.consultation_id not in open_consultations:
            message = _("This consultation is not open for feedback.")
            errors.append(RowError(index, "invalid_state", message, "item_id"))
        elif item_id in answered:
            message = _("Your organisation already has feedback on this item: change that one.")
            errors.append(RowError(index, "conflict", message, "item_id"))
        elif index in submit and item_id in cosigned:
            message = _(
                "Your organisation co-signs the position of %(name)s on this item, so it cannot"
                " also submit its own.",
                name=cosigned[item_id],
            )
            errors.append(RowError(index, "invalid_state", message, "stance"))
        else:
            answered.add(item_id)  # a second draft for the same item in the batch is refused
            errors.extend(
                RowError(index, "invalid_input", message, field)
                for field, message in input_faults(data, submitting=index in submit).items()
            )
    if errors:
        raise BatchInvalid(
            _(
                "%(n)s of the drafts are not valid: none was saved.",
                n=len({e.index for e in errors}),
            ),
            errors,
        )
    created = []
    for index, (item_id, data) in enumerate(drafts):
        draft = new_draft(items[item_id], user.organization_id, user.id)
        apply_input(draft, data)
        if index in submit:
            draft.state = FeedbackState.SUBMITTED
            draft.submitted_at = now
            draft.submitted_by_id = user.id
            draft.language = detect_language(f"{draft.comment}\n{draft.amendment}")
        created.append(draft)
    try:
        db.session.flush()
        for draft in created:
            action = "feedback.submit" if draft.submitted_at else "feedback.save_draft"
            audit.record(user.id, action, "feedback", draft.id, after={"batch": True})
        _follow_up_submissions(
            [draft for draft in created if draft.submitted_at], user, organization, consultations
        )
        if before_commit is not None:
            before_commit(created)
        db.session.commit()
    except IntegrityError as error:
        # A colleague started one of these drafts meanwhile, or the same Idempotency-Key
        # was stored by a request sent at the same moment: nothing of this one is kept.
        db.session.rollback()
        raise stale_edit() from error
    return created


def _follow_up_submissions(
    submitted: list[Feedback],
    user: User,
    organization: Organization | None,
    consultations: dict[int, Consultation],
) -> None:
    """First revisions (one insert for all), receipts and flag checks of the submitted ones."""
    if not submitted:
        return
    revisions = [
        FeedbackRevision(
            feedback_id=draft.id,
            number=1,
            author_id=user.id,
            snapshot=positions.snapshot(draft, first=True),
        )
        for draft in submitted
    ]
    db.session.add_all(revisions)
    db.session.flush()
    for draft, revision in zip(submitted, revisions, strict=True):
        item = draft.item
        version = next(v for v in item.versions if v.id == draft.item_version_id)
        found = positions.ItemInWindow(item, consultations[item.consultation_id], version)
        services.queue_receipt(draft, revision, user, found, organization)
        flagging.enqueue_flagging(draft.id)
