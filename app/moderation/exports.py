"""CSV export of the moderation queue's current filter, streamed in keyset batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict

from sqlalchemy import func

from app import audit
from app.extensions import db
from app.models import Feedback, Item, Organization
from app.models.organization import VerificationState
from app.moderation import queue as review_queue
from app.moderation.queue import QueueFilter

BATCH_SIZE = 1_000
COLUMNS = (
    "reference",
    "item",
    "organisation",
    "type",
    "country",
    "verified",
    "state",
    "stance",
    "priority",
    "language",
    "submitted_at",
    "flags",
    "comment",
    "amendment",
)
# OWASP "CSV injection": a spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """`value` with a leading quote when it is text a spreadsheet would read as a formula.

    Only strings are touched: every string cell is user text (even "-3" typed in a comment is
    text and gets the quote), while numbers and dates come from typed columns and cannot carry
    a formula, so they are written as they are.
    """
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def queue_csv(user_id: int, filt: QueueFilter) -> Iterator[str]:
    """Check the right to export and audit it now; return the lines of the CSV, lazily.

    The permission check and the audit event happen before the first byte is sent, so a
    refused export is a 403 and never a half-sent file.
    """
    review_queue.authorize(user_id, export=True)
    audit.record(user_id, "moderation.export", "feedback", None, after=_plain_filter(filt))
    db.session.commit()
    return _lines(filt)


def _plain_filter(filt: QueueFilter) -> dict[str, object]:
    return {key: value for key, value in asdict(filt).items() if value not in (None, "")}


def _lines(filt: QueueFilter) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        chunk = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return chunk

    writer.writerow(COLUMNS)
    yield flush()
    for batch in _batches(filt):
        flags = review_queue.flags_of([row.id for row in batch])
        for row in batch:
            writer.writerow(
                [
                    csv_safe(value)
                    for value in (
                        row.reference,
                        row.item_code,
                        row.organization,
                        row.organization_type.value,
                        row.country,
                        "yes" if row.verification is VerificationState.VERIFIED else "no",
                        row.state.value,
                        row.stance.value if row.stance else "",
                        row.priority if row.priority is not None else "",
                        row.language or "",
                        row.submitted_at.isoformat(),
                        " ".join(flag.kind for flag in flags[row.id]),
                        row.comment,
                        row.amendment,
                    )
                ]
            )
        yield flush()


def _batches(filt: QueueFilter) -> Iterator[list]:
    """Rows of the filter, BATCH_SIZE at a time, each batch one keyset query."""
    after = None
    while True:
        query = review_queue.filtered(
            filt,
            Feedback.id,
            Feedback.reference,
            Feedback.state,
            Feedback.stance,
            Feedback.priority,
            Feedback.language,
            Feedback.submitted_at,
            func.coalesce(Feedback.comment, "").label("comment"),
            func.coalesce(Feedback.amendment, "").label("amendment"),
            Item.code.label("item_code"),
            Organization.name.label("organization"),
            Organization.type.label("organization_type"),
            Organization.country,
            Organization.verification,
        )
        query = query.join(Item, Item.id == Feedback.item_id).join(
            Organization, Organization.id == Feedback.organization_id
        )
        batch = db.session.execute(
            review_queue.keyset(query, after, filt.order).limit(BATCH_SIZE)
        ).all()
        if not batch:
            return
        yield batch
        if len(batch) < BATCH_SIZE:
            return
        after = (batch[-1].submitted_at, batch[-1].id)
