"""The rows a report reads, streamed from the database as plain `Submission` tuples.

One query with a server-side cursor (no ORM objects, constant memory), plus two small lookups
read up front: accepted co-signatures and active redactions, both few next to the rows.

What a report covers:
- the council's version: every position put forward for review or published, and the members
  of a campaign that a moderator "counted" under one published representative;
- the public version: published positions and counted members only, with council-only text
  left out, redactions applied and anonymous organisations unnamed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import and_, or_, select

from app.analysis.records import Submission
from app.analysis.redaction import apply_redactions
from app.extensions import db
from app.models import (
    Attribution,
    CosignState,
    Disclosure,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    Organization,
    VerificationState,
)
from app.models.moderation import FlagKind, ModerationFlag, Redaction

COUNTED_CODE = "campaign_counted"  # app.services.campaigns.COUNTED_CODE
BATCH = 5_000


@dataclass(frozen=True)
class Scope:
    consultation_id: int
    item_id: int | None = None  # None: the whole consultation
    public: bool = False


def covered(scope: Scope):  # noqa: ANN201 - a SQL condition
    """The feedback rows a report of `scope` counts."""
    counted = and_(
        Feedback.state == FeedbackState.REJECTED, Feedback.moderation_code == COUNTED_CODE
    )
    if scope.public:
        return or_(Feedback.state == FeedbackState.PUBLISHED, counted)
    return or_(Feedback.state.in_((FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)), counted)


def _in_scope(scope: Scope):  # noqa: ANN202 - a SQL condition
    if scope.item_id is not None:
        return Feedback.item_id == scope.item_id
    return Feedback.item_id.in_(
        select(Item.id).where(Item.consultation_id == scope.consultation_id)
    )


def stream(scope: Scope, batch: int = BATCH) -> Iterator[Submission]:
    """Every covered submission of `scope`, oldest first, one plain tuple at a time."""
    cosigners = _cosigners(scope)
    redactions = _redactions(scope) if scope.public else {}
    campaign = (
        select(ModerationFlag.campaign_key)
        .where(ModerationFlag.feedback_id == Feedback.id, ModerationFlag.kind == FlagKind.CAMPAIGN)
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(
            Feedback.id,
            Feedback.reference,
            Item.code,
            Feedback.organization_id,
            Organization.name,
            Organization.type,
            Organization.country,
            Organization.verification,
            Feedback.stance,
            Feedback.priority,
            Feedback.affected_populations,
            Feedback.language,
            Feedback.comment,
            Feedback.comment_disclosure,
            Feedback.amendment,
            Feedback.amendment_disclosure,
            Feedback.attribution,
            Feedback.state,
            Feedback.submitted_at,
            campaign.label("campaign_key"),
        )
        .join(Item, Item.id == Feedback.item_id)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(_in_scope(scope), covered(scope))
        .order_by(Feedback.submitted_at, Feedback.id)
        .execution_options(yield_per=batch)
    )
    for row in db.session.execute(query):
        comment, amendment, name = row.comment or "", row.amendment or "", row.name
        if scope.public:
            comment = _public_text(comment, row.comment_disclosure, redactions, row.id, "comment")
            amendment = _public_text(
                amendment, row.amendment_disclosure, redactions, row.id, "amendment"
            )
            if row.attribution is Attribution.ANONYMOUS:
                name = ""
            if row.state is not FeedbackState.PUBLISHED:  # counted: its text is not public
                comment, amendment = "", ""
        yield Submission(
            id=row.id,
            reference=row.reference,
            item_code=row.code,
            organization_id=row.organization_id,
            organization_name=name,
            organization_type=row.type.value,
            country=row.country,
            verified=row.verification is VerificationState.VERIFIED,
            stance=row.stance.value if row.stance else None,
            priority=row.priority,
            populations=tuple(row.affected_populations or ()),
            language=row.language,
            comment=comment,
            amendment=amendment,
            submitted_at=row.submitted_at,
            campaign_key=row.campaign_key,
            cosigners=cosigners.get(row.id, ()),
        )


def _public_text(
    text: str,
    disclosure: Disclosure,
    redactions: dict[tuple[int, str], list[tuple[int, int]]],
    feedback_id: int,
    field: str,
) -> str:
    if disclosure is not Disclosure.PUBLIC:
        return ""
    spans = redactions.get((feedback_id, field))
    return apply_redactions(text, spans) if spans else text


def _cosigners(scope: Scope) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = defaultdict(list)
    rows = db.session.execute(
        select(FeedbackCosigner.feedback_id, FeedbackCosigner.organization_id)
        .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
        .where(_in_scope(scope), covered(scope), FeedbackCosigner.state == CosignState.ACCEPTED)
        .order_by(FeedbackCosigner.feedback_id, FeedbackCosigner.organization_id)
    )
    for feedback_id, organization_id in rows:
        found[feedback_id].append(organization_id)
    return {feedback_id: tuple(ids) for feedback_id, ids in found.items()}


def _redactions(scope: Scope) -> dict[tuple[int, str], list[tuple[int, int]]]:
    """Active redactions of the scope, for the public version (the council reads originals)."""
    found: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    rows = db.session.execute(
        select(Redaction.feedback_id, Redaction.field, Redaction.start, Redaction.end)
        .join(Feedback, Feedback.id == Redaction.feedback_id)
        .where(_in_scope(scope), covered(scope), Redaction.reverted_at.is_(None))
    )
    for feedback_id, field, start, end in rows:
        found[(feedback_id, field)].append((start, end))
    return dict(found)
