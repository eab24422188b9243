"""What the review page shows beside the submission itself: its revisions as a timeline, the
words each redaction hides (never character offsets)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.accounts.permissions import acting_user
from app.extensions import db
from app.feedback.read_models import changes_between
from app.models import Feedback, FeedbackRevision, User
from app.moderation.redactions import READERS, RedactionEntry


@dataclass(frozen=True)
class Revision:
    number: int
    author: str | None
    created_at: datetime
    state: str
    changed: list[str]  # the names of the fields this revision changed


def revisions(user_id: int, feedback_id: int) -> list[Revision]:
    """Every revision of a submission, newest first, with the fields each one changed."""
    acting_user(user_id, *READERS)
    rows = db.session.execute(
        select(FeedbackRevision, User.name)
        .outerjoin(User, User.id == FeedbackRevision.author_id)
        .where(FeedbackRevision.feedback_id == feedback_id)
        .order_by(FeedbackRevision.number)
    ).all()
    entries, previous = [], {}
    for revision, author in rows:
        changed = [change.field for change in changes_between(previous, revision.snapshot)]
        entries.append(
            Revision(
                number=revision.number,
                author=author,
                created_at=revision.created_at,
                state=str(revision.snapshot.get("state") or ""),
                changed=[] if not previous else changed,  # the first revision changes nothing
            )
        )
        previous = revision.snapshot
    return entries[::-1]


def redacted_words(feedback: Feedback, entries: list[RedactionEntry]) -> dict[int, str]:
    """The words each redaction hides, by its id: moderators read what they hid."""
    return {
        entry.id: (getattr(feedback, entry.field) or "")[entry.start : entry.end]
        for entry in entries
    }
