"""Moderators' redactions: spans of public text the public reads as `[redacted]`.

The original text stays in the row for the council and admin; every redaction and every revert
is an audit event. A redaction is never deleted: reverting it stamps who reverted it and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app import audit
from app.accounts.permissions import acting_user
from app.analysis.redaction import merged_spans
from app.errors import InvalidInput, InvalidState, NotFound
from app.extensions import db
from app.models import Disclosure, Feedback, FeedbackState, Redaction, Role, User
from app.models.base import utcnow
from app.reports import services as reports

MODERATORS = (Role.MODERATOR, Role.ADMIN)
READERS = (Role.MODERATOR, Role.ADMIN, Role.COUNCIL)
REDACTABLE_FIELDS = ("comment", "amendment")
REASON_MAX = 1000


@dataclass(frozen=True)
class RedactionEntry:
    id: int
    field: str
    start: int
    end: int
    reason: str
    created_by: str | None
    created_at: datetime
    reverted_by: str | None
    reverted_at: datetime | None

    @property
    def active(self) -> bool:
        return self.reverted_at is None


def redact(
    user_id: int, feedback_id: int, field: str, start: int, end: int, reason: str
) -> Redaction:
    """Hide text[start:end] of a public free-text field from the public."""
    moderator = acting_user(user_id, *MODERATORS)
    feedback = _locked_feedback(feedback_id)
    text = _public_text(feedback, field)
    reason = _checked_reason(reason)
    redaction = _add(moderator, feedback, field, text, start, end, reason)
    db.session.commit()
    return redaction


def redact_text(
    user_id: int, feedback_id: int, field: str, exact_text: str, reason: str
) -> list[Redaction]:
    """Hide every occurrence of `exact_text` in a public free-text field (the no-script path)."""
    moderator = acting_user(user_id, *MODERATORS)
    feedback = _locked_feedback(feedback_id)
    text = _public_text(feedback, field)
    reason = _checked_reason(reason)
    if not exact_text or not exact_text.strip():
        raise InvalidInput(_("Copy the words to redact into the box."), field="text")
    spans, position = [], text.find(exact_text)
    while position != -1:
        spans.append((position, position + len(exact_text)))
        position = text.find(exact_text, position + len(exact_text))
    if not spans:
        raise InvalidInput(
            _("These words are not in the text. Copy them exactly, with the same spacing."),
            field="text",
        )
    redactions = [
        _add(moderator, feedback, field, text, start, end, reason) for start, end in spans
    ]
    db.session.commit()
    return redactions


def revert(user_id: int, redaction_id: int) -> Redaction:
    """Show the redacted words to the public again; the redaction stays listed as reverted."""
    moderator = acting_user(user_id, *MODERATORS)
    redaction = db.session.get(Redaction, redaction_id, with_for_update=True)
    if redaction is None:
        raise NotFound(_("No such redaction."))
    if redaction.reverted_at is not None:
        raise InvalidState(_("This redaction was already reverted."))
    redaction.reverted_by_id = moderator.id
    redaction.reverted_at = utcnow()
    audit.record(
        moderator.id,
        "feedback.redaction_revert",
        "feedback",
        redaction.feedback_id,
        before={**_described(redaction), "redacted": True},
        after={**_described(redaction), "redacted": False},
    )
    db.session.commit()
    return redaction


def redactions_of(user_id: int, feedback_id: int) -> list[RedactionEntry]:
    """Every redaction of a submission, the reverted ones too, newest first."""
    acting_user(user_id, *READERS)
    creator, reverter = aliased(User), aliased(User)
    rows = db.session.execute(
        select(Redaction, creator.name, reverter.name)
        .outerjoin(creator, creator.id == Redaction.created_by_id)
        .outerjoin(reverter, reverter.id == Redaction.reverted_by_id)
        .where(Redaction.feedback_id == feedback_id)
        .order_by(Redaction.created_at.desc(), Redaction.id.desc())
    )
    return [
        RedactionEntry(
            id=r.id,
            field=r.field,
            start=r.start,
            end=r.end,
            reason=r.reason,
            created_by=created_by,
            created_at=r.created_at,
            reverted_by=reverted_by,
            reverted_at=r.reverted_at,
        )
        for r, created_by, reverted_by in rows
    ]


def highlighted(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, redacted) pieces, overlapping spans merged: for <mark>ing."""
    pieces: list[tuple[str, bool]] = []
    cursor = 0
    for start, end in merged_spans(spans, len(text)):
        if cursor < start:
            pieces.append((text[cursor:start], False))
        pieces.append((text[start:end], True))
        cursor = end
    if cursor < len(text):
        pieces.append((text[cursor:], False))
    return pieces


def _locked_feedback(feedback_id: int) -> Feedback:
    # Locked so an edit by the organisation cannot move the text under the new span.
    feedback = db.session.get(Feedback, feedback_id, with_for_update=True)
    if feedback is None or feedback.state is FeedbackState.DRAFT:
        raise NotFound(_("No such feedback."))
    return feedback


def _public_text(feedback: Feedback, field: str) -> str:
    if field not in REDACTABLE_FIELDS:
        raise InvalidInput(_("Only the comment and the amendment can be redacted."), field="field")
    if getattr(feedback, f"{field}_disclosure") is not Disclosure.PUBLIC:
        raise InvalidState(
            _(
                "This text is for the council only and is never published:"
                " there is nothing to redact."
            ),
            field="field",
        )
    return getattr(feedback, field) or ""


def _checked_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give a reason for the redaction."), field="reason")
    if len(reason) > REASON_MAX:
        raise InvalidInput(_("The reason is too long."), field="reason")
    return reason


def _add(
    moderator: User, feedback: Feedback, field: str, text: str, start: int, end: int, reason: str
) -> Redaction:
    if not 0 <= start < end <= len(text):
        raise InvalidInput(
            _(
                "The span %(start)s–%(end)s is outside the text (%(length)s characters).",
                start=start,
                end=end,
                length=len(text),
            ),
            field="start",
        )
    if not text[start:end].strip():
        raise InvalidInput(
            _("The span holds only spaces: there is nothing to hide."), field="start"
        )
    redaction = Redaction(
        feedback_id=feedback.id,
        field=field,
        start=start,
        end=end,
        reason=reason,
        created_by_id=moderator.id,
    )
    db.session.add(redaction)
    db.session.flush()
    if feedback.state is FeedbackState.PUBLISHED:  # a published report may quote the words
        reports.retract_public_reports(feedback.item_id, moderator.id, "redaction")
    audit.record(
        moderator.id,
        "feedback.redact",
        "feedback",
        feedback.id,
        before={**_described(redaction), "redacted": False},
        after={**_described(redaction), "redacted": True},
    )
    return redaction


def _described(redaction: Redaction) -> dict[str, object]:
    """What the audit log keeps of a redaction: never the hidden words themselves."""
    return {
        "redaction": redaction.id,
        "field": redaction.field,
        "start": redaction.start,
        "end": redaction.end,
        "reason": redaction.reason,
    }
