"""Reading the audit log: filtered, keyset-paginated views and a streamed CSV export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, select

from app import audit
from app.accounts.permissions import acting_user
from app.extensions import db
from app.models import AuditEvent, Role, User
from app.moderation.exports import csv_safe

READERS = (Role.MODERATOR, Role.COUNCIL, Role.ADMIN)
EXPORT_BATCH = 500
CSV_HEADER = [
    "id",
    "created_at",
    "actor_email",
    "action",
    "target_type",
    "target_id",
    "before",
    "after",
    "request_id",
]
# A spreadsheet reads a cell starting with one of these as a formula.


@dataclass(frozen=True)
class AuditFilters:
    actor_email: str = ""
    action_prefix: str = ""
    target_type: str = ""
    target_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None  # inclusive


@dataclass(frozen=True)
class AuditLine:
    id: int
    created_at: datetime
    actor_email: str | None
    action: str
    target_type: str
    target_id: int | None
    before: dict[str, object] | None
    after: dict[str, object] | None
    request_id: str | None


def events(
    reader_id: int, filters: AuditFilters, *, before_id: int | None = None, limit: int = 50
) -> list[AuditLine]:
    """Events matching `filters`, newest first, older than `before_id` (the keyset cursor)."""
    acting_user(reader_id, *READERS)
    query = _filtered(filters)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return [AuditLine(*row) for row in db.session.execute(query.limit(limit))]


def start_export(reader_id: int, filters: AuditFilters) -> None:
    """Check the reader's role and record the export itself, before any row is sent."""
    reader = acting_user(reader_id, *READERS)
    audit.record(
        reader.id,
        "audit.export",
        "audit_event",
        None,
        after={key: value for key, value in asdict(filters).items() if value not in ("", None)},
    )
    db.session.commit()


def export_csv(filters: AuditFilters, *, batch_size: int = EXPORT_BATCH) -> Iterator[str]:
    """CSV text in chunks, read in keyset batches so the table never sits in memory whole.

    Call `start_export` first: it holds the permission check and the audit event.
    """
    yield _csv_line(CSV_HEADER)
    before_id: int | None = None
    while True:
        query = _filtered(filters)
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        batch = [AuditLine(*row) for row in db.session.execute(query.limit(batch_size))]
        if not batch:
            return
        yield "".join(_csv_line(_cells(line)) for line in batch)
        before_id = batch[-1].id


def _filtered(filters: AuditFilters) -> Select:
    query = (
        select(
            AuditEvent.id,
            AuditEvent.created_at,
            User.email,
            AuditEvent.action,
            AuditEvent.target_type,
            AuditEvent.target_id,
            AuditEvent.before,
            AuditEvent.after,
            AuditEvent.request_id,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(AuditEvent.id.desc())
    )
    if filters.actor_email:
        query = query.where(User.email == filters.actor_email.strip().lower())
    if filters.action_prefix:
        query = query.where(AuditEvent.action.startswith(filters.action_prefix, autoescape=True))
    if filters.target_type:
        query = query.where(AuditEvent.target_type == filters.target_type)
    if filters.target_id is not None:
        query = query.where(AuditEvent.target_id == filters.target_id)
    if filters.date_from is not None:
        query = query.where(AuditEvent.created_at >= _midnight(filters.date_from))
    if filters.date_to is not None:
        query = query.where(AuditEvent.created_at < _midnight(filters.date_to + timedelta(days=1)))
    return query


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _cells(line: AuditLine) -> list[object]:
    return [
        csv_safe("" if value is None else value)
        for value in (
            line.id,
            line.created_at.isoformat(),
            line.actor_email,
            line.action,
            line.target_type,
            line.target_id,
            _json(line.before),
            _json(line.after),
            line.request_id,
        )
    ]


def _json(values: dict[str, object] | None) -> str:
    return "" if values is None else json.dumps(values, ensure_ascii=False, sort_keys=True)


def _csv_line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(cells)
    return buffer.getvalue()
