"""Published feedback on an item, as the public reads it: council-only text, redacted spans
and anonymous names left out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, select, tuple_

from app.analysis.redaction import apply_redactions
from app.consultations.services import published_positions
from app.errors import DomainError
from app.extensions import db
from app.feedback import attachments, cosignatures
from app.feedback.positions import redacted_spans
from app.models import Attribution, Disclosure, Feedback, FeedbackState, Organization, Stance


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
    # What the organisation is and where (None, like its name, when it is anonymous).
    organization_type: str | None = None
    organization_country: str | None = None


@dataclass(frozen=True)
class Cursor:
    """A place in an item's published feedback, newest first: just after (older than) the
    position published at `published_at` with `id`. It names no row, so a link that carries it
    leads to the same place when positions are published or withdrawn meanwhile."""

    published_at: datetime
    id: int

    def __str__(self) -> str:
        return f"{(self.published_at - EPOCH) // MICROSECOND}_{self.id}"

    @classmethod
    def parse(cls, text: str) -> Cursor:
        """The cursor written by str(); InvalidCursor for anything else."""
        micros, _, position = text.partition("_")
        if not (
            micros.isascii() and micros.isdigit() and position.isascii() and position.isdigit()
        ):
            raise InvalidCursor()
        if len(micros) > 17 or len(position) > 10 or int(position) > MAX_ID:
            raise InvalidCursor()
        return cls(EPOCH + int(micros) * MICROSECOND, int(position))

    @classmethod
    def of(cls, entry: PublicFeedback) -> Cursor:
        return cls(entry.published_at, entry.id)


class InvalidCursor(DomainError):
    """A page link's cursor that this list never wrote (400)."""

    def __init__(self) -> None:
        super().__init__(_("Not a cursor of this list."), field="after")


@dataclass(frozen=True)
class PublicPage:
    entries: list[PublicFeedback]
    total: int  # published positions on the item, from the published tallies
    page: int | None  # the page's number, when it is known cheaply (see published_page)
    pages: int
    newer: Cursor | None = None  # the page before this one starts just before this cursor
    older: Cursor | None = None  # the next page starts after this cursor


PUBLIC_PAGE_SIZE = 20
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
MAX_ID = 2**31 - 1


def published_page(
    item_id: int,
    *,
    after: Cursor | None = None,
    before: Cursor | None = None,
    page: int | None = None,
    per_page: int = PUBLIC_PAGE_SIZE,
    where: tuple = (),
) -> PublicPage:
    """One page of the item's published feedback as a visitor may see it, newest first: the
    page after the cursor `after`, the page before `before`, page number `page`, or the first;
    only the positions that meet the conditions `where` (a search's), when given.

    Pages reached by a cursor are one range of the public index, whatever their depth; their
    number is not known (counting the positions before them would grow with the depth). A
    page number reads the ids of the pages before it in that index (cheap for the first few
    dozen pages: older links, typed addresses); the links a page gives carry cursors.
    """
    total = _count(item_id, where) if where else published_positions(item_id)
    pages = max(1, -(-total // per_page))
    if before is not None:
        rows = _rows(item_id, per_page + 1, newer_than=before, where=where)
        if len(rows) <= per_page:  # nothing newer than these: this is the first page
            return published_page(item_id, per_page=per_page, where=where)
        entries = _public_entries(rows[:per_page][::-1])
        return PublicPage(
            entries, total, None, pages, Cursor.of(entries[0]), Cursor.of(entries[-1])
        )
    if after is not None:
        rows = _rows(item_id, per_page + 1, older_than=after, where=where)
        entries = _public_entries(rows[:per_page])
        return PublicPage(
            entries,
            total,
            None,
            pages,
            Cursor.of(entries[0]) if entries else after,  # past the end: a way back
            Cursor.of(entries[-1]) if len(rows) > per_page else None,
        )
    page = min(max(1, page or 1), pages)
    rows = _rows(item_id, per_page + 1, skip=(page - 1) * per_page, where=where)
    entries = _public_entries(rows[:per_page])
    return PublicPage(
        entries,
        total,
        page,
        pages,
        Cursor.of(entries[0]) if page > 1 and entries else None,
        Cursor.of(entries[-1]) if len(rows) > per_page else None,
    )


def published_feedback(item_id: int, page: int = 1, per_page: int = PUBLIC_PAGE_SIZE) -> PublicPage:
    """Page number `page` of the item's published feedback (see published_page)."""
    return published_page(item_id, page=page, per_page=per_page)


def published_feedback_after(
    item_id: int,
    *,
    after: Cursor | int | None = None,
    limit: int = PUBLIC_PAGE_SIZE,
    stance: Stance | None = None,
    language: str | None = None,
) -> list[PublicFeedback]:
    """Up to `limit` of the item's published feedback after the cursor `after` (keyset, newest
    first, as `published_page`), optionally of one stance or language. An `after` that is an id
    (the links of earlier versions) reads its place from that position; one that is not
    published feedback of the item gives an empty list."""
    if isinstance(after, int):
        row = db.session.execute(
            select(Feedback.published_at, Feedback.id).where(
                Feedback.id == after, *_published(item_id)
            )
        ).first()
        if row is None:
            return []
        after = Cursor(row.published_at, row.id)
    return _public_entries(
        _rows(item_id, limit, older_than=after, stance=stance, language=language)
    )


def _published(item_id: int) -> tuple:
    return (Feedback.item_id == item_id, Feedback.state == FeedbackState.PUBLISHED)


def _count(item_id: int, where: tuple) -> int:
    """How many published positions on the item meet `where` (a search's conditions)."""
    return db.session.scalar(
        select(func.count())
        .select_from(Feedback)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(*_published(item_id), *where)
    )


def _rows(
    item_id: int,
    limit: int,
    *,
    where: tuple = (),
    older_than: Cursor | None = None,
    newer_than: Cursor | None = None,
    skip: int = 0,
    stance: Stance | None = None,
    language: str | None = None,
) -> list:
    """(feedback, organisation name, type, country) rows, newest first (oldest first when
    `newer_than`): one range of ix_feedback_item_id_state_published_at_id."""
    conditions = [*_published(item_id), *where]
    if stance is not None:
        conditions.append(Feedback.stance == stance)
    if language is not None:
        conditions.append(Feedback.language == language)
    key = tuple_(Feedback.published_at, Feedback.id)
    order = (Feedback.published_at.desc(), Feedback.id.desc())
    if older_than is not None:
        conditions.append(key < tuple_(older_than.published_at, older_than.id))
    if newer_than is not None:
        conditions.append(key > tuple_(newer_than.published_at, newer_than.id))
        order = (Feedback.published_at, Feedback.id)
    if skip:
        # The ids alone, from the index: the rows skipped are never read.
        ids = select(Feedback.id).where(*conditions).order_by(*order).offset(skip).limit(limit)
        if where:  # a search may read the organisation
            ids = ids.join(Organization, Organization.id == Feedback.organization_id)
        conditions = [Feedback.id.in_(ids.scalar_subquery())]
    return db.session.execute(
        select(Feedback, Organization.name, Organization.type, Organization.country)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(*conditions)
        .order_by(*order)
        .limit(limit)
    ).all()


def _public_entries(rows: list) -> list[PublicFeedback]:
    """(feedback, organisation name, type, country) rows as a visitor may see them."""
    ids = [row[0].id for row in rows]
    spans = redacted_spans(ids)
    cosigners = cosignatures.accepted_cosigner_names(ids)
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
            organization_type=kind.value if fb.attribution is Attribution.NAMED else None,
            organization_country=country if fb.attribution is Attribution.NAMED else None,
        )
        for fb, name, kind, country in rows
    ]


def _public_text(
    feedback: Feedback, field: str, spans: dict[tuple[int, str], list[tuple[int, int]]]
) -> str | None:
    if getattr(feedback, f"{field}_disclosure") is not Disclosure.PUBLIC:
        return None
    return apply_redactions(getattr(feedback, field), spans.get((feedback.id, field), []))
