"""An organisation's feedback on an item: drafting, submitting, and the public listing."""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from app.analysis.language import detect_language
from app.analysis.redaction import apply_redactions, reanchor
from app.extensions import db
from app.models import (
    Attachment,
    Attribution,
    Consultation,
    ConsultationState,
    Disclosure,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    Item,
    ItemVersion,
    Organization,
    Redaction,
    Role,
    Stance,
    User,
)
from app.models.base import utcnow
from app.models.feedback import AFFECTED_POPULATIONS, PUT_FORWARD_STATES, REGION_COUNTRIES
from app.services import attachments, audit, cosigning, flagging, mail, organizations, reports
from app.services.errors import Conflict, DomainError, Forbidden, InvalidState, NotFound
from app.services.permissions import acting_user

# Members save drafts in these states; a withdrawn position becomes a draft again.
DRAFT_STATES = (FeedbackState.DRAFT, FeedbackState.CHANGES_REQUESTED, FeedbackState.WITHDRAWN)
# The lead may change a position in these states until the window closes: each change is a new
# revision, and a published position goes back to the moderators.
SUBMITTED_STATES = (FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)
EDITABLE_STATES = DRAFT_STATES + SUBMITTED_STATES
WITHDRAWABLE_STATES = PUT_FORWARD_STATES


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


@dataclass(frozen=True)
class PublicFeedback:
    id: int
    reference: str
    organization: str | None  # None when the organisation asked to stay anonymous
    stance: Stance | None
    priority: int | None
    comment: str | None  # None when the comment is for the council only
    amendment: str | None  # None when absent or for the council only
    affected_populations: list[str]
    countries: list[str]
    evidence_links: list[str]
    language: str | None
    published_at: object
    cosigners: list[str]  # organisations that co-sign it; empty when the owner is anonymous
    cosigner_count: int
    attachments: list[attachments.PublicAttachment]  # the files shared publicly


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
    feedback.item_version_id = _current_version_id(item)
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


@dataclass(frozen=True)
class PublicPage:
    entries: list[PublicFeedback]
    page: int
    pages: int
    total: int


PUBLIC_PAGE_SIZE = 20


def published_feedback(item_id: int, page: int = 1, per_page: int = PUBLIC_PAGE_SIZE) -> PublicPage:
    """One page of the item's published feedback as a visitor may see it, newest first.

    Council-only text is replaced by None here, so it never reaches a template; redacted spans
    become `[redacted]`.
    """
    published = (Feedback.item_id == item_id, Feedback.state == FeedbackState.PUBLISHED)
    total = db.session.scalar(select(func.count()).select_from(Feedback).where(*published)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = db.session.execute(
        select(Feedback, Organization.name)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(*published)
        .order_by(Feedback.published_at.desc(), Feedback.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return PublicPage(entries=_public_entries(rows), page=page, pages=pages, total=total)


def published_feedback_after(
    item_id: int,
    *,
    after: int | None = None,
    limit: int = PUBLIC_PAGE_SIZE,
    stance: Stance | None = None,
    language: str | None = None,
) -> list[PublicFeedback]:
    """Up to `limit` of the item's published feedback after the one with id `after` (keyset,
    newest first, as `published_feedback`), optionally of one stance or language. An `after`
    that is not published feedback of the item gives an empty list."""
    conditions = [Feedback.item_id == item_id, Feedback.state == FeedbackState.PUBLISHED]
    if stance is not None:
        conditions.append(Feedback.stance == stance)
    if language is not None:
        conditions.append(Feedback.language == language)
    if after is not None:
        cursor = db.session.execute(
            select(Feedback.published_at, Feedback.id).where(Feedback.id == after, *conditions[:2])
        ).first()
        if cursor is None:
            return []
        conditions.append(tuple_(Feedback.published_at, Feedback.id) < tuple_(*cursor))
    rows = db.session.execute(
        select(Feedback, Organization.name)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(*conditions)
        .order_by(Feedback.published_at.desc(), Feedback.id.desc())
        .limit(limit)
    ).all()
    return _public_entries(rows)


def _public_entries(rows: list) -> list[PublicFeedback]:
    """(feedback, organisation name) rows as a visitor may see them."""
    ids = [fb.id for fb, _name in rows]
    spans = _redacted_spans(ids)
    cosigners = cosigning.accepted_cosigner_names(ids)
    files = attachments.public_attachments(ids)
    return [
        PublicFeedback(
            id=fb.id,
            reference=fb.reference,
            organization=name if fb.attribution is Attribution.NAMED else None,
            stance=fb.stance,
            priority=fb.priority,
            comment=_public_text(fb, "comment", spans),
            amendment=_public_text(fb, "amendment", spans) or None,
            affected_populations=list(fb.affected_populations or []),
            countries=list(fb.countries or []),
            evidence_links=list(fb.evidence_links or []),
            language=fb.language,
            published_at=fb.published_at,
            cosigners=cosigners.get(fb.id, []) if fb.attribution is Attribution.NAMED else [],
            cosigner_count=len(cosigners.get(fb.id, [])),
            attachments=files.get(fb.id, []),
        )
        for fb, name in rows
    ]


def _public_text(
    feedback: Feedback, field: str, spans: dict[tuple[int, str], list[tuple[int, int]]]
) -> str | None:
    if getattr(feedback, f"{field}_disclosure") is not Disclosure.PUBLIC:
        return None
    return apply_redactions(getattr(feedback, field), spans.get((feedback.id, field), []))


def _redacted_spans(feedback_ids: list[int]) -> dict[tuple[int, str], list[tuple[int, int]]]:
    """The spans moderators redacted (and did not revert), by (feedback id, field)."""
    spans: dict[tuple[int, str], list[tuple[int, int]]] = {}
    if not feedback_ids:
        return spans
    rows = db.session.execute(
        select(Redaction.feedback_id, Redaction.field, Redaction.start, Redaction.end).where(
            Redaction.feedback_id.in_(feedback_ids), Redaction.reverted_at.is_(None)
        )
    )
    for feedback_id, field, start, end in rows:
        spans.setdefault((feedback_id, field), []).append((start, end))
    return spans


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
        "attachments": _attachment_summary(feedback.id),
    }


def _attachment_summary(feedback_id: int | None) -> list[str]:
    """The files as a revision records them: name, disclosure and a short content hash."""
    if feedback_id is None:
        return []
    rows = db.session.execute(
        select(Attachment.filename, Attachment.disclosure, Attachment.sha256)
        .where(Attachment.feedback_id == feedback_id)
        .order_by(Attachment.id)
    )
    return [f"{name} ({disclosure.value}, {digest[:12]})" for name, disclosure, digest in rows]


def record_revision(feedback: Feedback, author_id: int) -> FeedbackRevision:
    """Keep an immutable snapshot of the position as it now stands (flushes pending changes)."""
    db.session.flush()
    number = len(feedback.revisions) + 1
    revision = FeedbackRevision(
        feedback_id=feedback.id, number=number, author_id=author_id, snapshot=snapshot(feedback)
    )
    db.session.add(revision)
    feedback.revisions.append(revision)
    return revision


def _current_version_id(item: Item) -> int:
    return next(v.id for v in item.versions if v.number == item.current_version)


def new_reference() -> str:
    """A receipt reference; 64 random bits, so a million submissions never collide in practice."""
    return "FB-" + secrets.token_hex(8).upper()


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
