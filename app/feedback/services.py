"""An organisation's feedback on an item: drafting, submitting, and the public listing."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app import audit
from app.accounts.permissions import acting_user
from app.analysis.language import detect_language
from app.analysis.redaction import reanchor
from app.errors import Conflict, DomainError, Forbidden, InvalidState, NotFound
from app.extensions import db
from app.feedback import cosigning, positions
from app.feedback.positions import (
    DRAFT_STATES,
    EDITABLE_STATES,
    SUBMITTED_STATES,
    WITHDRAWABLE_STATES,
    feedback_of_organization,
    new_draft,
    record_revision,
)
from app.models import (
    Attribution,
    Consultation,
    ConsultationState,
    Disclosure,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    Item,
    ItemVersion,
    Redaction,
    Role,
    Stance,
    User,
)
from app.models.base import utcnow
from app.models.feedback import AFFECTED_POPULATIONS, REGION_COUNTRIES
from app.moderation import flagging
from app.notifications import mail
from app.organizations import services as organizations
from app.reports import services as reports


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


EMPTY_INPUT = FeedbackInput(stance=None, priority=None, comment="")


def save_feedback(
    user_id: int,
    item_id: int,
    data: FeedbackInput,
    *,
    submit: bool,
    lock_version: int,
) -> Feedback:
    """Save the organisation's draft, or (the lead only) submit it as the official position.

    `lock_version` is the version the writer last saw: 0 when they saw no feedback at all. A
    stale writer is refused, except for the same submission sent twice (a double click).
    """
    user = acting_user(user_id, Role.STAKEHOLDER)
    if user.organization_id is None:
        raise Forbidden(_("You need to belong to an organisation to give feedback."))
    if submit and not user.is_lead:
        raise Forbidden(_("Only your organisation's lead can sign off and submit its position."))
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
        if submit and _is_repeat_of_submission(feedback, user, data):
            return feedback
        raise _stale_edit()
    if feedback is not None and feedback.state not in EDITABLE_STATES:
        raise InvalidState(_("This feedback can no longer be edited."))
    if feedback is not None and feedback.state in SUBMITTED_STATES and not submit:
        raise InvalidState(
            _("This position is already submitted: your lead submits changes to it."),
        )
    if (
        feedback is not None
        and feedback.state in SUBMITTED_STATES
        and _content(data) == _content_of(feedback)
    ):
        raise InvalidState(_("Nothing has changed, so the submitted position stays as it is."))
    # Checks that query run before a new draft joins the session, so no autoflush inserts it
    # outside the guarded flush below.
    _check_choices(data)
    if submit:
        _check_submission(data, user.organization_id, item_id)
    if feedback is None:
        feedback = new_draft(item, user.organization_id, user.id)
    before = {"state": feedback.state}
    if feedback.state is FeedbackState.PUBLISHED:  # edited: back to review, out of reports
        reports.retract_public_reports(item_id, user.id, "edit")
    stance_before = feedback.stance
    old_texts = {field: getattr(feedback, field) or "" for field in REDACTABLE_FIELDS}
    feedback.item_version_id = positions.current_version_id(item)
    _apply(feedback, data)
    _carry_redactions(feedback, old_texts)
    if submit:
        feedback.state = FeedbackState.SUBMITTED
        feedback.submitted_at = utcnow()
        feedback.submitted_by_id = user.id
        feedback.language = detect_language(f"{feedback.comment}\n{feedback.amendment}")
    elif feedback.state is FeedbackState.WITHDRAWN:
        feedback.state = FeedbackState.DRAFT
    try:
        db.session.flush()
    except (StaleDataError, IntegrityError) as error:  # a colleague saved at the same moment
        db.session.rollback()
        current = feedback_of_organization(user.organization_id, item_id)
        if submit and _is_repeat_of_submission(current, user, data):
            return current  # both clicks of a double click were in flight: one submission
        raise _stale_edit() from error
    if submit and before["state"] in SUBMITTED_STATES and feedback.stance != stance_before:
        # Co-signers agreed to the old stance: they are asked again rather than counted.
        cosigning.reconfirm_cosigners(feedback.id, user.id)
    if submit:
        revision = record_revision(feedback, user.id)
        _queue_receipt(feedback, revision, user, item, consultation)
        flagging.enqueue_flagging(feedback.id)  # flags explain the queue; they never block
    action = "feedback.submit" if submit else "feedback.save_draft"
    audit.record(
        user.id, action, "feedback", feedback.id, before=before, after={"state": feedback.state}
    )
    db.session.commit()
    return feedback


def withdraw_feedback(user_id: int, item_id: int, lock_version: int) -> Feedback:
    """The lead takes the organisation's position back; possible until the window closes."""
    user = acting_user(user_id, Role.STAKEHOLDER)
    if not user.is_lead:
        raise Forbidden(_("Only your organisation's lead can withdraw its position."))
    feedback = feedback_of_organization(user.organization_id, item_id)
    if feedback is None:
        raise NotFound(_("Your organisation has no feedback on this item."))
    if feedback.state not in WITHDRAWABLE_STATES:
        raise InvalidState(_("Only a submitted position can be withdrawn."))
    consultation = db.session.get(Consultation, feedback.item.consultation_id)
    if consultation.state_at(utcnow()) is not ConsultationState.OPEN:
        raise InvalidState(_("The comment window has closed: the position stays as it is."))
    if feedback.lock_version != lock_version:
        raise _stale_edit()
    before = {"state": feedback.state}
    if feedback.state is FeedbackState.PUBLISHED:  # a published report may quote it
        reports.retract_public_reports(feedback.item_id, user.id, "withdrawal")
    feedback.state = FeedbackState.WITHDRAWN
    cosigning.release_cosigners(feedback.id, user.id)  # co-signers are free to speak again
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise _stale_edit() from error
    record_revision(feedback, user.id)
    audit.record(
        user.id,
        "feedback.withdraw",
        "feedback",
        feedback.id,
        before=before,
        after={"state": feedback.state},
    )
    db.session.commit()
    return feedback


REDACTABLE_FIELDS = ("comment", "amendment")
WEB_ADDRESS = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


def _carry_redactions(feedback: Feedback, old_texts: dict[str, str]) -> None:
    """Keep moderators' redactions on the words they hid when the text is edited.

    Each span moves to wherever those words now stand (all occurrences); a span whose words
    were removed is closed. Nothing a moderator hid can resurface at a shifted offset.
    """
    if feedback.id is None:
        return
    for field in REDACTABLE_FIELDS:
        old, new = old_texts[field], getattr(feedback, field) or ""
        if old == new:
            continue
        with db.session.no_autoflush:  # the guarded flush in save_feedback writes the edit
            active = db.session.scalars(
                select(Redaction).where(
                    Redaction.feedback_id == feedback.id,
                    Redaction.field == field,
                    Redaction.reverted_at.is_(None),
                )
            ).all()
        for redaction in active:
            spans = reanchor(old, new, (redaction.start, redaction.end))
            if not spans:
                redaction.reverted_at = utcnow()  # the hidden words are no longer in the text
                continue
            redaction.start, redaction.end = spans[0]
            for start, end in spans[1:]:
                db.session.add(
                    Redaction(
                        feedback_id=feedback.id,
                        field=field,
                        start=start,
                        end=end,
                        reason=redaction.reason,
                        created_by_id=redaction.created_by_id,
                    )
                )


def _check_submission(data: FeedbackInput, organization_id: int, item_id: int) -> None:
    organizations.check_may_submit(organization_id)  # a suspended organisation cannot submit
    cosigning.check_may_submit_own(organization_id, item_id)
    if data.stance is None or data.priority is None:
        raise InvalidState(_("Choose a stance and a priority before submitting."))
    if data.stance is Stance.SUPPORT_WITH_AMENDMENTS and not data.amendment.strip():
        raise InvalidState(
            _("Give the wording you propose when you support with amendments."),
            field="amendment",
        )


def _is_repeat_of_submission(feedback: Feedback | None, user: User, data: FeedbackInput) -> bool:
    """True when `data` is exactly what this person just submitted (the second of two clicks)."""
    return (
        feedback is not None
        and feedback.state is FeedbackState.SUBMITTED
        and feedback.submitted_by_id == user.id
        and _content(data) == _content_of(feedback)
    )


def _queue_receipt(
    feedback: Feedback,
    revision: FeedbackRevision,
    user: User,
    item: Item,
    consultation: Consultation,
) -> None:
    mail.queue_email(
        "feedback_receipt",
        user.email,
        user.locale,
        dedupe_key=f"feedback_receipt:{feedback.id}:{revision.number}",
        user_id=user.id,
        name=user.name,
        reference=feedback.reference,
        revision=revision.number,
        organization=feedback.organization.name,
        item_code=item.code,
        item_title=db.session.get(ItemVersion, feedback.item_version_id).title_in(user.locale),
        consultation=consultation.title_in(user.locale),
        submitted_at=feedback.submitted_at,
        link=mail.absolute_url("consultations.item", slug=consultation.slug, code=item.code),
    )


def _keep_late_text_as_draft(
    feedback: Feedback | None, item: Item, author: User, data: FeedbackInput, lock_version: int
) -> None:
    """A submission that arrives after the close is not lost: its text is saved as a draft."""
    if (feedback.lock_version if feedback else 0) != lock_version:
        return  # a colleague changed it meanwhile: nothing is overwritten
    if feedback is None:
        feedback = new_draft(item, author.organization_id, author.id)
    elif feedback.state not in DRAFT_STATES:
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
    # Links are shown as links on the public page: only plain web addresses, whoever calls.
    if any(not WEB_ADDRESS.fullmatch(link) for link in data.evidence_links):
        raise InvalidState(_("Evidence links must be web addresses."), field="evidence_links")


def _content(data: FeedbackInput) -> dict[str, object]:
    """The feedback's fields as they are stored."""
    return {
        "stance": data.stance,
        "priority": data.priority,
        "comment": data.comment.strip(),
        "comment_disclosure": data.comment_disclosure,
        "amendment": data.amendment.strip(),
        "amendment_disclosure": data.amendment_disclosure,
        "affected_populations": sorted(set(data.affected_populations)),
        "countries": sorted(set(data.countries)),
        "evidence_links": list(data.evidence_links),
        "attribution": data.attribution,
    }


def input_snapshot(data: FeedbackInput) -> dict[str, object]:
    """What `data` would store, in the shape of a revision's snapshot (for comparisons)."""
    return {
        name: value.value if isinstance(value, enum.Enum) else value
        for name, value in _content(data).items()
    }


def _content_of(feedback: Feedback) -> dict[str, object]:
    return {name: getattr(feedback, name) for name in _content(EMPTY_INPUT)}


def _apply(feedback: Feedback, data: FeedbackInput) -> None:
    for name, value in _content(data).items():
        setattr(feedback, name, value)


def _stale_edit() -> Conflict:
    return Conflict(
        _(
            "A colleague saved this feedback after you opened it. Your text is kept below,"
            " next to theirs; review both and save again."
        ),
        field="lock_version",
    )


# --- many drafts at once (the API's batch) ----------------------------------------------------

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
    before_commit: Callable[[list[Feedback]], None] | None = None,
) -> list[Feedback]:
    """Start the organisation's drafts on many items at once: every one checked first, and
    then all saved in one transaction, or none (BatchInvalid lists every draft at fault with
    its field). `before_commit(created)` joins the same transaction (the API records its
    answer for an Idempotency-Key there)."""
    user = acting_user(user_id, Role.STAKEHOLDER)
    if user.organization_id is None:
        raise Forbidden(_("You need to belong to an organisation to give feedback."))
    if not drafts or len(drafts) > MAX_BATCH:
        raise InvalidState(
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
    open_consultations = {
        consultation.id
        for consultation in db.session.scalars(
            select(Consultation).where(
                Consultation.id.in_({item.consultation_id for item in items.values()})
            )
        )
        if consultation.state_at(now) is ConsultationState.OPEN
    }
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
        else:
            answered.add(item_id)  # a second draft for the same item in the batch is refused
            try:
                _check_choices(data)
            except DomainError as error:
                errors.append(RowError(index, error.code, error.message, error.field))
    if errors:
        raise BatchInvalid(
            _("%(n)s of the drafts are not valid: none was saved.", n=len(errors)), errors
        )
    created = []
    for item_id, data in drafts:
        draft = new_draft(items[item_id], user.organization_id, user.id)
        _apply(draft, data)
        created.append(draft)
    try:
        db.session.flush()
        for draft in created:
            audit.record(
                user.id, "feedback.save_draft", "feedback", draft.id, after={"batch": True}
            )
        if before_commit is not None:
            before_commit(created)
        db.session.commit()
    except IntegrityError as error:
        # A colleague started one of these drafts meanwhile, or the same Idempotency-Key
        # was stored by a request sent at the same moment: nothing of this one is kept.
        db.session.rollback()
        raise _stale_edit() from error
    return created
