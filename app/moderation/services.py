"""The moderation queue and moderators' decisions on submitted feedback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exists, func, select, update
from sqlalchemy.orm import joinedload

from app import audit
from app.accounts.permissions import MODERATORS, acting_user
from app.errors import Conflict, InvalidInput, InvalidState, NotFound
from app.extensions import db
from app.feedback import cosignatures, cosigning
from app.feedback.attachments import attachments_of
from app.models import (
    Attachment,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    ModerationFlag,
    ModerationNote,
    Organization,
    Role,
    User,
)
from app.models.base import utcnow
from app.notifications import mail
from app.organizations import services as organizations

# Who may read a submission in full, with its internal notes: the council only reads.
READERS = (Role.MODERATOR, Role.ADMIN, Role.COUNCIL)
REJECTION_REASONS = (
    "off_topic",
    "personal_data",
    "abusive",
    "duplicate",
    "spam",
    "not_about_item",
    "other",
)
OTHER_REASON = "other"
NOTE_MAX = 4000


def rejection_reason_label(code: str) -> str:
    """The label of a rejection reason in the current locale."""
    return {
        "off_topic": _("Off topic"),
        "personal_data": _("Contains personal data"),
        "abusive": _("Abusive or offensive language"),
        "duplicate": _("Duplicate of another submission"),
        "spam": _("Spam or advertising"),
        "not_about_item": _("Not about this item"),
        "other": _("Other reason"),
    }.get(code, code)


def rejection_reasons() -> list[tuple[str, str]]:
    """(code, label) of every rejection reason, in the current locale, in a stable order."""
    return [(code, rejection_reason_label(code)) for code in REJECTION_REASONS]


def publish_feedback(
    user_id: int, feedback_id: int, seen_version: int, *, flags_seen: bool = False
) -> None:
    """Publish the text the moderator saw (`seen_version`), never a newer one. A flagged
    submission is published only from a page that showed its flags (`flags_seen`): its review
    page, never the queue's list."""
    acting_user(user_id, *MODERATORS)  # who may decide first: a flag is not everyone's to know
    if not flags_seen and db.session.scalar(
        select(exists().where(ModerationFlag.feedback_id == feedback_id))
    ):
        raise InvalidState(
            _("This submission is flagged: open it to see why, and decide on its page.")
        )
    _decide(user_id, feedback_id, seen_version, FeedbackState.PUBLISHED)
    db.session.commit()


def reject_feedback(
    user_id: int, feedback_id: int, seen_version: int, note: str = "", *, code: str = OTHER_REASON
) -> None:
    """Reject for a reason from REJECTION_REASONS; `note` is required with "other".

    The organisation's leads are told the reason by email and see it on their dashboard.
    """
    note = (note or "").strip()
    if code not in REJECTION_REASONS:
        raise InvalidInput(_("Choose a reason from the list."), field="code")
    if code == OTHER_REASON and not note:
        raise InvalidInput(_("Explain the reason in the note."), field="note")
    if len(note) > NOTE_MAX:
        raise InvalidInput(_("The note is too long."), field="note")
    feedback = _decide(
        user_id, feedback_id, seen_version, FeedbackState.REJECTED, code=code, note=note
    )
    _mail_leads(feedback, "feedback_rejected", code=code, note=note)
    db.session.commit()


def request_changes(user_id: int, feedback_id: int, seen_version: int, message: str) -> None:
    """Reopen the submission as a draft with the moderator's `message` to the organisation."""
    message = (message or "").strip()
    if not message:
        raise InvalidInput(_("Tell the organisation what to change."), field="message")
    if len(message) > NOTE_MAX:
        raise InvalidInput(_("The message is too long."), field="message")
    feedback = _decide(
        user_id, feedback_id, seen_version, FeedbackState.CHANGES_REQUESTED, note=message
    )
    _mail_leads(feedback, "changes_requested", code=None, note=message)
    db.session.commit()


def rejection_text(code: str | None, note: str, locale: str) -> str | None:
    """What the organisation reads in `locale`: the reason's label, then the moderator's note.

    Stored with the decision in the organisation's language (`organization_locale`) for its
    dashboard, and written into each lead's email in the lead's own language.
    """
    with force_locale(locale):
        return _reason_text(code, note)


def _reason_text(code: str | None, note: str) -> str | None:
    if code is None or code == OTHER_REASON:
        return note or None
    label = rejection_reason_label(code)
    return f"{label}. {note}" if note else label


def _decide(
    user_id: int,
    feedback_id: int,
    seen_version: int,
    new_state: FeedbackState,
    *,
    code: str | None = None,
    note: str = "",
) -> Feedback:
    """Move a submitted feedback to `new_state`, audited; the caller commits."""
    moderator = acting_user(user_id, *MODERATORS)
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None:
        raise NotFound(_("No such feedback."))
    # The reason is stored in the organisation's language, as its leads will read it.
    locale = organization_locale(organizations.active_leads(feedback.organization_id))
    reason = rejection_text(code, note, locale)
    # A conditional UPDATE: of two moderators deciding at once exactly one wins, and a text
    # replaced since the moderator read it is not decided on unseen.
    decided = decide_submitted(
        (Feedback.id == feedback_id) & (Feedback.lock_version == seen_version),
        new_state,
        moderator.id,
        code=code,
        reason=reason,
    )
    if len(decided) != 1:
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
        before={"state": FeedbackState.SUBMITTED, "lock_version": seen_version},
        after={"state": new_state, "code": code, "reason": reason},
    )
    db.session.refresh(feedback)  # the row as the UPDATE left it, in this transaction
    return feedback


def decide_submitted(
    condition,  # noqa: ANN001 - a SQL condition on Feedback
    new_state: FeedbackState,
    moderator_id: int | None,
    *,
    code: str | None = None,
    reason: str | None = None,
) -> list[int]:
    """The one moderation state change: every SUBMITTED feedback matching `condition` moves to
    `new_state` in one UPDATE, with who decided, when and why, a new lock version (an open
    form or review page is then stale) and, when published, the publication time. Returns the
    ids decided; the caller audits and commits (one decision, or a campaign's chunk)."""
    now = utcnow()
    values: dict[str, object] = {
        "state": new_state,
        "moderated_by_id": moderator_id,
        "moderated_at": now,
        "moderation_reason": reason,
        "moderation_code": code,
        "lock_version": Feedback.lock_version + 1,
    }
    if new_state is FeedbackState.PUBLISHED:
        values["published_at"] = now
    return list(
        db.session.scalars(
            update(Feedback)
            .where(condition, Feedback.state == FeedbackState.SUBMITTED)
            .values(**values)
            .returning(Feedback.id)
            .execution_options(synchronize_session=False)
        )
    )


def organization_locale(leads: Sequence[User]) -> str:
    """The organisation's language, given its `active_leads`: that of its oldest lead."""
    return leads[0].locale if leads else "en"


def _mail_leads(feedback: Feedback, kind: str, *, code: str | None, note: str) -> None:
    """Tell each lead of the organisation, in their own language, what the moderators decided."""
    with _mail_context():
        _queue_mails(
            feedback,
            kind,
            code=code,
            note=note,
            leads=organizations.active_leads(feedback.organization_id),
            # One message per decision and lead: the lock version moves at every decision.
            decision_key=f"{kind}:{feedback.id}:{feedback.lock_version}",
        )


def mail_bulk_rejections(
    action_id: int,
    feedback_ids: Sequence[int],
    *,
    code: str,
    note: str,
    leads: Mapping[int, Sequence[User]],
) -> None:
    """Tell the leads of each submission a bulk action rejected, as `reject_feedback` does.

    `leads` maps organisation ids to their active leads (one query for a whole chunk, from
    `organizations.active_leads_by_organization`). The messages join the caller's transaction;
    each is keyed on (action, submission, lead), so a chunk that runs again queues none twice.
    """
    if not feedback_ids:
        return
    rejected = db.session.scalars(
        select(Feedback)
        .where(Feedback.id.in_(feedback_ids))
        .options(
            joinedload(Feedback.organization),
            joinedload(Feedback.item),
            joinedload(Feedback.item_version),
        )
        .order_by(Feedback.id)
    ).all()
    with _mail_context():
        for feedback in rejected:
            _queue_mails(
                feedback,
                "feedback_rejected",
                code=code,
                note=note,
                leads=leads.get(feedback.organization_id, ()),
                decision_key=f"feedback_rejected:bulk-{action_id}:{feedback.id}",
            )


@contextlib.contextmanager
def _mail_context() -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        if not has_request_context():  # a task or the CLI: links are built from BASE_URL anyway
            stack.enter_context(current_app.test_request_context())
        yield


def _queue_mails(
    feedback: Feedback,
    kind: str,
    *,
    code: str | None,
    note: str,
    leads: Sequence[User],
    decision_key: str,
) -> None:
    item = feedback.item
    if kind == "changes_requested":
        link = mail.absolute_url("feedback.edit", slug=item.consultation.slug, code=item.code)
    else:
        link = mail.absolute_url("feedback.dashboard")
    for lead in leads:
        reason = rejection_text(code, note, lead.locale) or ""
        mail.queue_email(
            kind,
            lead.email,
            lead.locale,
            dedupe_key=f"{decision_key}:{lead.id}",
            user_id=lead.id,
            name=lead.name,
            organization=feedback.organization.name,
            reference=feedback.reference,
            code=item.code,
            title=feedback.item_version.title_in(lead.locale),
            reason=reason,
            link=link,
        )


# --- internal notes -----------------------------------------------------------------------------


def add_note(user_id: int, feedback_id: int, body: str) -> ModerationNote:
    """An internal note on a submission, for moderators and the council only."""
    moderator = acting_user(user_id, *MODERATORS)
    _readable_feedback(feedback_id)
    body = (body or "").strip()
    if not body:
        raise InvalidInput(_("Write the note first."), field="body")
    if len(body) > NOTE_MAX:
        raise InvalidInput(_("The note is too long."), field="body")
    note = ModerationNote(feedback_id=feedback_id, author_id=moderator.id, body=body)
    db.session.add(note)
    db.session.flush()
    audit.record(moderator.id, "feedback.note", "feedback", feedback_id, after={"note": note.id})
    db.session.commit()
    return note


@dataclass(frozen=True)
class Note:
    id: int
    author: str | None
    body: str
    created_at: datetime


def notes_for(user_id: int, feedback_id: int) -> list[Note]:
    """The internal notes on a submission, oldest first; moderators, admin and council only."""
    acting_user(user_id, *READERS)
    _readable_feedback(feedback_id)
    rows = db.session.execute(
        select(ModerationNote, User.name)
        .outerjoin(User, User.id == ModerationNote.author_id)
        .where(ModerationNote.feedback_id == feedback_id)
        .order_by(ModerationNote.created_at, ModerationNote.id)
    )
    return [
        Note(id=note.id, author=name, body=note.body, created_at=note.created_at)
        for note, name in rows
    ]


# --- the detail page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackReview:
    """Everything a moderator or the council reads about one submission."""

    feedback: Feedback
    organization: Organization
    flags: list[ModerationFlag]
    cosigners: list[cosignatures.Cosigner]
    revisions: int
    notes: list[Note]
    may_decide: bool  # a moderator or an admin, on a submission awaiting a decision
    may_moderate: bool  # a moderator or an admin (notes, redactions)
    sees_original: bool  # council and admin read redacted words
    attachments: list[Attachment] = field(default_factory=list)  # every file, any disclosure
    campaign_key: str | None = None  # the campaign it belongs to, if any

    @property
    def item_title(self) -> dict[str, str]:
        """The title of the item's version the organisation answered."""
        version = self.feedback.item_version
        return dict(version.title) if version is not None else {}


def review(user_id: int, feedback_id: int) -> FeedbackReview:
    user = acting_user(user_id, *READERS)
    feedback = _readable_feedback(feedback_id)
    revisions = db.session.scalar(
        select(func.count()).where(FeedbackRevision.feedback_id == feedback_id)
    )
    flags = list(
        db.session.scalars(
            select(ModerationFlag)
            .where(ModerationFlag.feedback_id == feedback_id)
            .order_by(ModerationFlag.kind)
        )
    )
    moderates = user.role in MODERATORS
    return FeedbackReview(
        feedback=feedback,
        organization=feedback.organization,
        flags=flags,
        cosigners=cosignatures.cosigners_of(feedback_id),
        revisions=revisions or 0,
        notes=notes_for(user_id, feedback_id),
        may_decide=moderates and feedback.state is FeedbackState.SUBMITTED,
        may_moderate=moderates,
        sees_original=user.role in (Role.COUNCIL, Role.ADMIN),
        attachments=attachments_of(feedback_id),
        campaign_key=next((f.campaign_key for f in flags if f.campaign_key), None),
    )


def _readable_feedback(feedback_id: int) -> Feedback:
    """A submission moderators may read: any but a draft never submitted (the organisation's)."""
    feedback = db.session.get(Feedback, feedback_id)
    if feedback is None or feedback.state is FeedbackState.DRAFT:
        raise NotFound(_("No such feedback."))
    return feedback
