"""Files attached to feedback: storing them (through app/storage.py: a folder outside the web
root, or an object store), adding and removing them, and who may read them. What a file is
(its type and its checks) is decided in uploads.py."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from typing import BinaryIO, NamedTuple

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.accounts.permissions import acting_user
from app.errors import Conflict, Forbidden, InvalidState, NotFound
from app.extensions import db
from app.feedback import positions
from app.feedback.uploads import display_name, inspect_upload, read_upload
from app.models import (
    Attachment,
    Consultation,
    ConsultationState,
    Disclosure,
    Feedback,
    FeedbackState,
    Item,
    Role,
    User,
)
from app.models.base import utcnow
from app.storage import Missing, StoredFile, StoreError, attachment_store

MAX_ATTACHMENTS_PER_FEEDBACK = 5


STORAGE_KEY = re.compile(r"[0-9a-f]{32}")


class PublicAttachment(NamedTuple):
    id: int
    filename: str
    content_type: str
    size: int


# --- checking what was uploaded ---------------------------------------------------------------


# --- storage -----------------------------------------------------------------------------------


def object_key(storage_key: str) -> str:
    """The name of an attachment's file in the store: `ab/ab12…`, never a name a user chose."""
    if not STORAGE_KEY.fullmatch(storage_key):
        raise NotFound(_("No such attachment."))
    return f"{storage_key[:2]}/{storage_key}"


def _store(data: bytes, content_type: str) -> str:
    """Store `data` under a new random key (a reader never sees a half-written file)."""
    key = secrets.token_hex(16)
    attachment_store().put(object_key(key), data, content_type)
    return key


def _discard(storage_key: str) -> None:
    try:
        attachment_store().delete(object_key(storage_key))
    except StoreError:
        current_app.logger.exception("could not delete attachment file %s", storage_key)


# --- adding, removing, listing, opening ---------------------------------------------------------


def can_change_attachments(
    feedback: Feedback | None, consultation: Consultation, *, is_lead: bool
) -> bool:
    """Whether a member may add or remove files now: an open window, and a draft (any member)
    or a position awaiting review (the lead). A published position's files change only after
    the lead submits a change, so nothing reaches the public page unreviewed."""
    if consultation.state_at(utcnow()) is not ConsultationState.OPEN:
        return False
    if feedback is None or feedback.state in positions.DRAFT_STATES:
        return True
    return feedback.state is FeedbackState.SUBMITTED and is_lead


def add_attachment(
    user_id: int,
    item_id: int,
    upload: bytes | BinaryIO,
    filename: str,
    disclosure: Disclosure,
) -> Attachment:
    """Attach a checked file to the organisation's feedback on the item (a draft is created)."""
    user = acting_user(user_id, Role.STAKEHOLDER)
    if user.organization_id is None:
        raise Forbidden(_("You need to belong to an organisation to give feedback."))
    item = db.session.get(Item, item_id)
    if item is None:
        raise NotFound(_("No such item."))
    _check_window(item.consultation)
    # Checked before any row is locked or created, so a refused file leaves no empty draft.
    data = read_upload(upload, filename)
    inspected = inspect_upload(data, filename)

    feedback = _locked_feedback(user.organization_id, item_id)
    _check_changeable(feedback, item.consultation, user)
    if feedback is None:
        feedback = positions.new_draft(item, user.organization_id, user.id)
        try:
            db.session.flush()
        except IntegrityError as error:  # a colleague started the draft at the same moment
            db.session.rollback()
            raise Conflict(
                _("A colleague changed this feedback just now. Please try again.")
            ) from error
    elif _count(feedback.id) >= MAX_ATTACHMENTS_PER_FEEDBACK:
        raise InvalidState(  # the feedback's state: any further file is refused
            _(
                "You can attach at most %(n)s files. Remove one to attach another.",
                n=MAX_ATTACHMENTS_PER_FEEDBACK,
            ),
            field="attachment",
        )

    key = _store(data, inspected.content_type)
    try:
        attachment = Attachment(
            feedback_id=feedback.id,
            filename=display_name(filename, inspected.extension),
            content_type=inspected.content_type,
            size=inspected.size,
            sha256=inspected.sha256,
            storage_key=key,
            disclosure=Disclosure(disclosure),
            uploaded_by_id=user.id,
        )
        db.session.add(attachment)
        _mark_changed(feedback)
        db.session.flush()
        audit.record(
            user.id,
            "attachment.add",
            "attachment",
            attachment.id,
            after={
                "feedback_id": feedback.id,
                "content_type": attachment.content_type,
                "size": attachment.size,
                "sha256": attachment.sha256,
                "disclosure": attachment.disclosure,
            },
        )
        _record_revision(feedback, user)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        _discard(key)
        raise
    return attachment


def remove_attachment(user_id: int, attachment_id: int) -> Feedback:
    """Delete a file of the user's own organisation; returns the feedback it belonged to."""
    user = acting_user(user_id)
    attachment, feedback = _own_attachment(user, attachment_id, lock=True)
    _check_changeable(feedback, feedback.item.consultation, user)
    key = attachment.storage_key
    before = {
        "feedback_id": feedback.id,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "disclosure": attachment.disclosure,
    }
    db.session.delete(attachment)
    _mark_changed(feedback)
    db.session.flush()  # the revision's snapshot must no longer list the file
    audit.record(user.id, "attachment.remove", "attachment", attachment_id, before=before)
    _record_revision(feedback, user)
    db.session.commit()
    _discard(key)  # only once the row is gone, so a failed commit keeps a readable file
    return feedback


def item_of_own_attachment(user_id: int, attachment_id: int) -> Item:
    """The item a file of the user's own organisation is attached to; NotFound for others."""
    _attachment, feedback = _own_attachment(acting_user(user_id), attachment_id)
    return feedback.item


def attachments_of(feedback_id: int) -> list[Attachment]:
    """The files of one feedback, oldest first; for callers that may already see that feedback."""
    return list(
        db.session.scalars(
            select(Attachment)
            .where(Attachment.feedback_id == feedback_id)
            .order_by(Attachment.created_at, Attachment.id)
        )
    )


def public_attachments(feedback_ids: Iterable[int]) -> dict[int, list[PublicAttachment]]:
    """The public files of published feedback, by feedback id, in one query."""
    ids = sorted(set(feedback_ids))
    found: dict[int, list[PublicAttachment]] = {}
    if not ids:
        return found
    rows = db.session.execute(
        select(
            Attachment.feedback_id,
            Attachment.id,
            Attachment.filename,
            Attachment.content_type,
            Attachment.size,
        )
        .join(Feedback, Feedback.id == Attachment.feedback_id)
        .where(
            Attachment.feedback_id.in_(ids),
            Attachment.disclosure == Disclosure.PUBLIC,
            Feedback.state == FeedbackState.PUBLISHED,
        )
        .order_by(Attachment.feedback_id, Attachment.created_at, Attachment.id)
    )
    for feedback_id, *fields in rows:
        found.setdefault(feedback_id, []).append(PublicAttachment(*fields))
    return found


def open_attachment(viewer_id: int | None, attachment_id: int) -> tuple[Attachment, StoredFile]:
    """The attachment and its stored file, if `viewer_id` (None for a visitor) may read it.

    Members of the owning organisation always may; moderators, council and admins once the
    feedback is no longer a draft; anyone else only public files of published feedback.
    Everything else is NotFound, so nobody learns that a file exists.
    """
    row = db.session.execute(
        select(Attachment, Feedback)
        .join(Feedback, Feedback.id == Attachment.feedback_id)
        .where(Attachment.id == attachment_id)
    ).first()
    if row is None:
        raise NotFound(_("No such attachment."))
    attachment, feedback = row
    viewer = db.session.get(User, viewer_id) if viewer_id is not None else None
    if viewer is not None and not viewer.active:
        viewer = None
    if not _may_read(viewer, attachment, feedback):
        raise NotFound(_("No such attachment."))
    try:
        stored = attachment_store().open(object_key(attachment.storage_key))
    except Missing as error:
        current_app.logger.error("attachment %s has no stored file", attachment.id)
        raise NotFound(_("No such attachment.")) from error
    return attachment, stored


def is_public(attachment: Attachment) -> bool:
    """Whether anyone may read the file (so a response for it need not be private)."""
    return (
        attachment.disclosure is Disclosure.PUBLIC
        and attachment.feedback.state is FeedbackState.PUBLISHED
    )


def _may_read(viewer: User | None, attachment: Attachment, feedback: Feedback) -> bool:
    if viewer is not None and viewer.organization_id == feedback.organization_id:
        return True
    staff = (Role.MODERATOR, Role.COUNCIL, Role.ADMIN)
    if viewer is not None and viewer.role in staff and feedback.state is not FeedbackState.DRAFT:
        return True
    return feedback.state is FeedbackState.PUBLISHED and attachment.disclosure is Disclosure.PUBLIC


def _own_attachment(
    user: User, attachment_id: int, *, lock: bool = False
) -> tuple[Attachment, Feedback]:
    row = None
    if user.organization_id is not None and user.role is Role.STAKEHOLDER:
        query = (
            select(Attachment, Feedback)
            .join(Feedback, Feedback.id == Attachment.feedback_id)
            .where(
                Attachment.id == attachment_id,
                Feedback.organization_id == user.organization_id,
            )
        )
        row = db.session.execute(query.with_for_update(of=Feedback) if lock else query).first()
    if row is None:
        raise NotFound(_("No such attachment."))
    return row[0], row[1]


def _locked_feedback(organization_id: int, item_id: int) -> Feedback | None:
    # The row lock makes the count check and the insert one step for concurrent uploads.
    return db.session.scalar(
        select(Feedback)
        .where(Feedback.organization_id == organization_id, Feedback.item_id == item_id)
        .with_for_update()
    )


def _check_window(consultation: Consultation) -> None:
    if consultation.state_at(utcnow()) is not ConsultationState.OPEN:
        raise InvalidState(_("This consultation is not open for feedback."), field="attachment")


def _check_changeable(feedback: Feedback | None, consultation: Consultation, user: User) -> None:
    _check_window(consultation)
    if not can_change_attachments(feedback, consultation, is_lead=user.is_lead):
        raise InvalidState(
            _("The files of this position can no longer be changed by you."), field="attachment"
        )


def _mark_changed(feedback: Feedback) -> None:
    # Submitted feedback awaits review: a new lock version stops a moderator from publishing
    # files they have not seen. Drafts are left alone, so a colleague's open form stays valid.
    if feedback.state is FeedbackState.SUBMITTED:
        feedback.updated_at = utcnow()


def _record_revision(feedback: Feedback, user: User) -> None:
    # A submitted position's files are part of what the moderators review: each change keeps a
    # snapshot, like an edit of its text. Drafts change freely and keep none.
    if feedback.state is FeedbackState.SUBMITTED:
        positions.record_revision(feedback, user.id)


def _count(feedback_id: int) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.feedback_id == feedback_id)
    )
