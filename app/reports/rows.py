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

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC

from sqlalchemy import DateTime, String, Text, and_, cast, func, literal, or_, select, type_coerce
from sqlalchemy.orm import aliased

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
from app.models.moderation import FlagCheck, FlagKind, ModerationFlag, Redaction
from app.moderation.campaigns import COUNTED_CODE

BATCH = 5_000


@dataclass(frozen=True)
class Scope:
    consultation_id: int
    item_id: int | None = None  # None: the whole consultation
    public: bool = False
    # A part's row range: feedback ids from first_id (inclusive) to end_id (exclusive, None:
    # to the end). See app/reports/part_ranges.py.
    first_id: int = 0
    end_id: int | None = None


def covered(scope: Scope):  # noqa: ANN201 - a SQL condition
    """The feedback rows a report of `scope` counts."""
    counted = and_(
        Feedback.state == FeedbackState.REJECTED, Feedback.moderation_code == COUNTED_CODE
    )
    if scope.public:
        return or_(Feedback.state == FeedbackState.PUBLISHED, counted)
    return or_(Feedback.state.in_((FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)), counted)


def in_scope(scope: Scope):  # noqa: ANN202 - a SQL condition
    if scope.item_id is not None:
        condition = Feedback.item_id == scope.item_id
    else:
        condition = Feedback.item_id.in_(
            select(Item.id).where(Item.consultation_id == scope.consultation_id)
        )
    if scope.first_id:
        condition = and_(condition, Feedback.id >= scope.first_id)
    if scope.end_id is not None:
        condition = and_(condition, Feedback.id < scope.end_id)
    return condition


def stream(
    scope: Scope, batch: int = BATCH, *, with_text: bool = True, by_id: bool = False
) -> Iterator[Submission]:
    """Every covered submission of `scope`, one plain tuple at a time, in no set order (every
    counting consumer is order-independent, and sorting a million rows would cost more than
    reading them), or `by_id` for a report part's CSV lines: a part reads one item's rows, or
    one range of them, and the CSV is then the same however the item was split. Without text,
    comments and amendments are not even read.

    This loop runs once per submission of a million-row report: columns are read as the
    driver gives them (no enum, JSON or time-zone conversion per row), and the few distinct
    population lists are parsed once each."""
    cosigners = _cosigners(scope)
    redactions = _redactions(scope) if scope.public and with_text else {}
    comment = Feedback.comment if with_text else literal("").label("comment")
    amendment = Feedback.amendment if with_text else literal("").label("amendment")
    campaign = aliased(ModerationFlag)
    query = (
        select(
            Feedback.id,
            Feedback.reference,
            Item.code,
            Feedback.organization_id,
            Organization.name,
            _raw(Organization.type),
            Organization.country,
            _raw(Organization.verification),
            _raw(Feedback.stance),
            Feedback.priority,
            cast(Feedback.affected_populations, Text).label("populations"),
            cast(Feedback.countries, Text).label("countries"),
            Feedback.language,
            comment,
            _raw(Feedback.comment_disclosure),
            amendment,
            _raw(Feedback.amendment_disclosure),
            _raw(Feedback.attribution),
            _raw(Feedback.state),
            type_coerce(Feedback.submitted_at, DateTime(timezone=True)).label("submitted_at"),
            campaign.campaign_key,
        )
        .join(Item, Item.id == Feedback.item_id)
        .join(Organization, Organization.id == Feedback.organization_id)
        # At most one CAMPAIGN flag per submission: (feedback_id, kind) is unique.
        .outerjoin(
            campaign,
            and_(campaign.feedback_id == Feedback.id, campaign.kind == FlagKind.CAMPAIGN),
        )
        .where(in_scope(scope), covered(scope))
        .execution_options(yield_per=batch)
    )
    if by_id:
        query = query.order_by(Feedback.id)
    populations: dict[str, tuple[str, ...]] = {}
    public, verified, published = scope.public, VerificationState.VERIFIED.value, "published"
    anonymous = False
    for row in db.session.execute(query):
        (
            feedback_id,
            reference,
            code,
            organization_id,
            name,
            organization_type,
            country,
            verification,
            stance,
            priority,
            raw_populations,
            raw_countries,
            language,
            comment_text,
            comment_disclosure,
            amendment_text,
            amendment_disclosure,
            attribution,
            state,
            submitted_at,
            campaign_key,
        ) = row
        comment_text, amendment_text = comment_text or "", amendment_text or ""
        if public:
            comment_text = _public_text(
                comment_text, comment_disclosure, redactions, feedback_id, "comment"
            )
            amendment_text = _public_text(
                amendment_text, amendment_disclosure, redactions, feedback_id, "amendment"
            )
            if attribution == Attribution.ANONYMOUS.value:
                # Nothing that could point back at the organisation: no name, and neither its
                # type, country nor verification, nor who co-signed it (the public item page
                # shows none of these for an anonymous position either).
                name, organization_type, country, verification = "", "unknown", None, ""
                anonymous = True
            else:
                anonymous = False
            if state != published:  # counted under a representative: its text is not public
                comment_text, amendment_text = "", ""
        parsed = populations.get(raw_populations)
        if parsed is None:
            parsed = populations[raw_populations] = _populations(raw_populations)
        concerned = populations.get(raw_countries)  # the same small cache: JSON lists of codes
        if concerned is None:
            concerned = populations[raw_countries] = _populations(raw_countries)
        if submitted_at is not None and submitted_at.tzinfo is None:  # SQLite keeps no offset
            submitted_at = submitted_at.replace(tzinfo=UTC)
        yield Submission(
            feedback_id,
            reference,
            code,
            organization_id,
            name,
            organization_type,
            country,
            verification == verified,
            stance,
            priority,
            parsed,
            language,
            comment_text,
            amendment_text,
            submitted_at,
            campaign_key,
            () if public and anonymous else cosigners.get(feedback_id, ()),
            concerned,
        )


def _raw(column):  # noqa: ANN001, ANN202 - a column, read as the plain string it stores
    return type_coerce(column, String).label(column.key)


def _populations(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(json.loads(raw) or ())


def _public_text(
    text: str,
    disclosure: str,
    redactions: dict[tuple[int, str], list[tuple[int, int]]],
    feedback_id: int,
    field: str,
) -> str:
    if disclosure != Disclosure.PUBLIC.value:
        return ""
    spans = redactions.get((feedback_id, field))
    return apply_redactions(text, spans) if spans else text


def _cosigners(scope: Scope) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = defaultdict(list)
    rows = db.session.execute(
        select(FeedbackCosigner.feedback_id, FeedbackCosigner.organization_id)
        .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
        .where(in_scope(scope), covered(scope), FeedbackCosigner.state == CosignState.ACCEPTED)
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
        .where(in_scope(scope), covered(scope), Redaction.reverted_at.is_(None))
    )
    for feedback_id, field, start, end in rows:
        found[(feedback_id, field)].append((start, end))
    return dict(found)


def pending_checks(scope: Scope) -> int:
    """How many submissions a report of `scope` counts are still waiting for their automatic
    flags (and so for their campaign): the report says so on its first page."""
    return db.session.scalar(
        select(func.count())
        .select_from(FlagCheck)
        .join(Feedback, Feedback.id == FlagCheck.feedback_id)
        .where(in_scope(scope), covered(scope))
    )
