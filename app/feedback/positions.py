"""An organisation's position on an item as a record: finding it, a new draft, its revisions.

The lowest layer of the feedback package: drafting (`services`), files (`attachments`) and
co-signing (`cosigning`) all build on it, and it imports none of them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Attachment,
    Attribution,
    Consultation,
    Disclosure,
    Feedback,
    FeedbackRevision,
    FeedbackState,
    Item,
    ItemVersion,
    Redaction,
)
from app.models.feedback import PUT_FORWARD_STATES

# Members save drafts in these states; a withdrawn position becomes a draft again.
DRAFT_STATES = (FeedbackState.DRAFT, FeedbackState.CHANGES_REQUESTED, FeedbackState.WITHDRAWN)


# The lead may change a position in these states until the window closes: each change is a new
# revision, and a published position goes back to the moderators.
SUBMITTED_STATES = (FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)


EDITABLE_STATES = DRAFT_STATES + SUBMITTED_STATES


WITHDRAWABLE_STATES = PUT_FORWARD_STATES
# A position others may co-sign, and whose co-signers may not speak for themselves on the item.
# A withdrawn or rejected position binds nobody: its co-signers are free to submit their own.
COSIGNABLE_STATES = (
    FeedbackState.DRAFT,
    FeedbackState.SUBMITTED,
    FeedbackState.PUBLISHED,
    FeedbackState.CHANGES_REQUESTED,
)


def feedback_of_organization(organization_id: int | None, item_id: int) -> Feedback | None:
    if organization_id is None:
        return None
    return db.session.scalar(
        select(Feedback).where(
            Feedback.organization_id == organization_id, Feedback.item_id == item_id
        )
    )


@dataclass(frozen=True)
class ItemInWindow:
    """An item with its consultation and current text version, read in one query."""

    item: Item
    consultation: Consultation
    version: ItemVersion


def item_in_window(item_id: int) -> ItemInWindow | None:
    row = db.session.execute(
        select(Item, Consultation, ItemVersion)
        .join(Consultation, Consultation.id == Item.consultation_id)
        .join(
            ItemVersion,
            (ItemVersion.item_id == Item.id) & (ItemVersion.number == Item.current_version),
        )
        .where(Item.id == item_id)
    ).first()
    return ItemInWindow(*row) if row is not None else None


def new_draft(
    item: Item, organization_id: int, author_id: int, *, version_id: int | None = None
) -> Feedback:
    """An empty draft of the organisation's position on `item`, added to the session."""
    feedback = Feedback(
        reference=new_reference(),
        item=item,  # held, so the answer names the item without reading it again
        item_id=item.id,
        item_version_id=version_id or current_version_id(item),
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


def redacted_spans(feedback_ids: list[int]) -> dict[tuple[int, str], list[tuple[int, int]]]:
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


def snapshot(feedback: Feedback, *, first: bool = False) -> dict[str, object]:
    """The position as a revision keeps it; `first` for a position created in this transaction
    (no files, no earlier revision: nothing to read)."""
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
        "attachments": [] if first else _attachment_summary(feedback.id),
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


def record_revision(feedback: Feedback, author_id: int, *, first: bool = False) -> FeedbackRevision:
    """Keep an immutable snapshot of the position as it now stands (flushes pending changes).

    `first`: the feedback was created in this transaction, so this is revision 1 and there is
    nothing earlier to read (the submission path saves two queries)."""
    db.session.flush()
    number = 1 if first else len(feedback.revisions) + 1
    revision = FeedbackRevision(
        feedback_id=feedback.id,
        number=number,
        author_id=author_id,
        snapshot=snapshot(feedback, first=first),
    )
    db.session.add(revision)
    if not first:
        feedback.revisions.append(revision)
    return revision


def current_version_id(item: Item) -> int:
    return next(v.id for v in item.versions if v.number == item.current_version)


def new_reference() -> str:
    """A receipt reference; 64 random bits, so a million submissions never collide in practice."""
    return "FB-" + secrets.token_hex(8).upper()
