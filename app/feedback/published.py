"""Published feedback on an item, as the public reads it: council-only text, redacted spans
and anonymous names left out."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, tuple_

from app.analysis.redaction import apply_redactions
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
        )
        for fb, name in rows
    ]


def _public_text(
    feedback: Feedback, field: str, spans: dict[tuple[int, str], list[tuple[int, int]]]
) -> str | None:
    if getattr(feedback, f"{field}_disclosure") is not Disclosure.PUBLIC:
        return None
    return apply_redactions(getattr(feedback, field), spans.get((feedback.id, field), []))
