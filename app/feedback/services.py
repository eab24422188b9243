"""An organisation's feedback on an item: drafting, submitting and withdrawing its position.

The input's rules are in feedback_input.py, the position record in positions.py, the public
listing in published.py and many drafts at once in batch.py."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app import audit
from app.accounts.permissions import acting_user
from app.analysis.language import detect_language
from app.analysis.redaction import reanchor
from app.errors import Conflict, Forbidden, InvalidState, NotFound
from app.extensions import db
from app.feedback import cosigning, positions
from app.feedback.feedback_input import (
    FeedbackInput,
    apply_input,
    check_input,
    content_of,
    stored_content,
)
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
    Consultation,
    ConsultationState,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    Item,
    Organization,
    Redaction,
    Role,
    User,
)
from app.models.base import utcnow
from app.moderation import flagging
from app.notifications import mail
from app.reports import services as reports


def organisation_member(user_id: int) -> User:
    """The active member of an organisation, or Forbidden: who may write its feedback. Views
    check it before reading a form, so that no one else learns what their input lacked."""
    user = acting_user(user_id, Role.STAKEHOLDER)
    if user.organization_id is None:
        raise Forbidden(_("You need to belong to an organisation to give feedback."))
    return user


def submitting_lead(user_id: int) -> User:
    """The organisation's lead, the one who signs off its position; Forbidden otherwise."""
    user = organisation_member(user_id)
    if not user.is_lead:
        raise Forbidden(_("Only your organisation's lead can sign off and submit its position."))
    return user


def withdrawing_lead(user_id: int) -> User:
    """The organisation's lead, the one who may withdraw its position; Forbidden otherwise."""
    user = organisation_member(user_id)
    if not user.is_lead:
        raise Forbidden(_("Only your organisation's lead can withdraw its position."))
    return user


def save_feedback(
    user_id: int,
    item_id: int,
    data: FeedbackInput,
    *,
    submit: bool,
    lock_version: int,
    creating: bool = False,
) -> Feedback:
    """Save the organisation's draft, or (the lead only) submit it as the official position.

    `lock_version` is the version the writer last saw: 0 when they saw no feedback at all. A
    stale writer is refused, except for the same submission sent twice (a double click).
    `creating`: the writer means to start the organisation's feedback on the item (the API's
    create), so existing feedback is a conflict on the item.

    Read on the submission path, each once: the item with its consultation and current text,
    the organisation's feedback, the organisation (locked) and its co-signatures; then four
    inserts (feedback, revision, receipt, audit) and one commit. Flags and the receipt's
    delivery are the worker's, in batches (`flagging.enqueue_flagging`, `mail.queue_email`).
    """
    user = submitting_lead(user_id) if submit else organisation_member(user_id)
    found = positions.item_in_window(item_id)
    if found is None:
        raise NotFound(_("No such item."), field="item_id")
    item, consultation = found.item, found.consultation
    feedback = feedback_of_organization(user.organization_id, item_id)
    if creating and feedback is not None:
        raise Conflict(
            _("Your organisation already has feedback on this item: change that one."),
            field="item_id",
        )
    window = consultation.state_at(utcnow())
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
        raise stale_edit()
    if feedback is not None and feedback.state not in EDITABLE_STATES:
        raise InvalidState(_("This feedback can no longer be edited."))
    if feedback is not None and feedback.state in SUBMITTED_STATES and not submit:
        raise InvalidState(
            _("This position is already submitted: your lead submits changes to it."),
        )
    if (
        feedback is not None
        and feedback.state in SUBMITTED_STATES
        and stored_content(data) == content_of(feedback)
    ):
        raise InvalidState(_("Nothing has changed, so the submitted position stays as it is."))
    # Checks that query run before a new draft joins the session, so no autoflush inserts it
    # outside the guarded flush below.
    check_input(data, submitting=submit)
    organization = _lock_for_submission(user.organization_id, item_id) if submit else None
    created = feedback is None
    if feedback is None:
        feedback = new_draft(item, user.organization_id, user.id, version_id=found.version.id)
    before = {"state": feedback.state}
    # Edited: back to review, out of the public page and reports. The caller tells the lead
    # (not stored: an attribute of this object only).
    feedback.taken_off_public_page = feedback.state is FeedbackState.PUBLISHED
    if feedback.taken_off_public_page:
        reports.retract_public_reports(item_id, user.id, "edit")
    stance_before = feedback.stance
    old_texts = {field: getattr(feedback, field) or "" for field in REDACTABLE_FIELDS}
    feedback.item_version_id = found.version.id
    apply_input(feedback, data)
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
        raise stale_edit() from error
    if submit and before["state"] in SUBMITTED_STATES and feedback.stance != stance_before:
        # Co-signers agreed to the old stance: they are asked again rather than counted.
        cosigning.reconfirm_cosigners(feedback.id, user.id)
    if submit:
        revision = record_revision(feedback, user.id, first=created)
        queue_receipt(feedback, revision, user, found, organization)
        flagging.enqueue_flagging(feedback.id)  # flags explain the queue; they never block
    action = "feedback.submit" if submit else "feedback.save_draft"
    audit.record(
        user.id, action, "feedback", feedback.id, before=before, after={"state": feedback.state}
    )
    db.session.commit()
    return feedback


def withdraw_feedback(user_id: int, item_id: int, lock_version: int) -> Feedback:
    """The lead takes the organisation's position back; possible until the window closes."""
    user = withdrawing_lead(user_id)
    feedback = feedback_of_organization(user.organization_id, item_id)
    if feedback is None:
        raise NotFound(_("Your organisation has no feedback on this item."))
    if feedback.state not in WITHDRAWABLE_STATES:
        raise InvalidState(_("Only a submitted position can be withdrawn."))
    consultation = db.session.get(Consultation, feedback.item.consultation_id)
    if consultation.state_at(utcnow()) is not ConsultationState.OPEN:
        raise InvalidState(_("The comment window has closed: the position stays as it is."))
    if feedback.lock_version != lock_version:
        raise stale_edit()
    before = {"state": feedback.state}
    if feedback.state is FeedbackState.PUBLISHED:  # a published report may quote it
        reports.retract_public_reports(feedback.item_id, user.id, "withdrawal")
    feedback.state = FeedbackState.WITHDRAWN
    cosigning.release_cosigners(feedback.id, user.id)  # co-signers are free to speak again
    try:
        db.session.flush()
    except StaleDataError as error:
        db.session.rollback()
        raise stale_edit() from error
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


def _lock_for_submission(organization_id: int, item_id: int) -> Organization:
    """Refuse a submission the organisation may not make (suspended, or co-signing another's
    position on the item), and hold its row until the commit."""
    return cosigning.lock_for_own_submission(organization_id, item_id)


def _is_repeat_of_submission(feedback: Feedback | None, user: User, data: FeedbackInput) -> bool:
    """True when `data` is exactly what this person just submitted (the second of two clicks)."""
    return (
        feedback is not None
        and feedback.state is FeedbackState.SUBMITTED
        and feedback.submitted_by_id == user.id
        and stored_content(data) == content_of(feedback)
    )


def queue_receipt(
    feedback: Feedback,
    revision: FeedbackRevision,
    user: User,
    found: positions.ItemInWindow,
    organization: Organization,
) -> None:
    consultation = found.consultation
    mail.queue_email(
        "feedback_receipt",
        user.email,
        user.locale,
        dedupe_key=f"feedback_receipt:{feedback.id}:{revision.number}",
        user_id=user.id,
        name=user.name,
        reference=feedback.reference,
        revision=revision.number,
        organization=organization.name,
        item_code=found.item.code,
        item_title=found.version.title_in(user.locale),
        consultation=consultation.title_in(user.locale),
        submitted_at=feedback.submitted_at,
        link=mail.absolute_url("consultations.item", slug=consultation.slug, code=found.item.code),
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
    check_input(data, submitting=False)
    apply_input(feedback, data)
    db.session.flush()
    audit.record(author.id, "feedback.late_submission_kept", "feedback", feedback.id)
    db.session.commit()


def stale_edit() -> Conflict:
    return Conflict(
        _(
            "A colleague saved this feedback after you opened it. Your text is kept below,"
            " next to theirs; review both and save again."
        ),
        field="lock_version",
    )
