"""Reading consultations and items, as a visitor sees them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, literal, select, union, union_all

from app.analysis.tally import Tally, tally
from app.errors import NotFound
from app.extensions import db
from app.models import (
    Attribution,
    Consultation,
    CosignState,
    CouncilResponse,
    Feedback,
    FeedbackCosigner,
    FeedbackState,
    Item,
    ItemVersion,
    PublishedTally,
    Stance,
)
from app.models.council_response import council_response_feedback


@dataclass(frozen=True)
class ItemView:
    item: Item
    version: ItemVersion


def list_consultations() -> list[Consultation]:
    return list(db.session.scalars(select(Consultation).order_by(Consultation.opens_at.desc())))


def get_consultation(slug: str) -> Consultation:
    consultation = db.session.scalar(select(Consultation).where(Consultation.slug == slug))
    if consultation is None:
        raise NotFound("No such consultation.")
    return consultation


def items_with_current_versions(consultation_id: int) -> list[ItemView]:
    rows = db.session.execute(
        select(Item, ItemVersion)
        .join(
            ItemVersion,
            (ItemVersion.item_id == Item.id) & (ItemVersion.number == Item.current_version),
        )
        .where(Item.consultation_id == consultation_id)
        .order_by(Item.position)
    )
    return [ItemView(item, version) for item, version in rows]


def item_by_id(item_id: int) -> ItemView:
    """The item with its current version."""
    return _item_view(Item.id == item_id)


def get_item(slug: str, code: str) -> ItemView:
    return _item_view(
        Item.consultation_id.in_(select(Consultation.id).where(Consultation.slug == slug)),
        Item.code == code,
    )


def _item_view(*conditions) -> ItemView:  # noqa: ANN002 - SQL conditions
    row = db.session.execute(
        select(Item, ItemVersion)
        .join(
            ItemVersion,
            (ItemVersion.item_id == Item.id) & (ItemVersion.number == Item.current_version),
        )
        .where(*conditions)
    ).first()
    if row is None:
        raise NotFound("No such item.")
    return ItemView(row[0], row[1])


def published_tally(item_id: int) -> Tally:
    """The public tally of one item: published positions and their accepted co-signatures,
    read from the counts the database keeps (a handful of rows, whatever the item's size)."""
    rows = db.session.execute(
        select(
            PublishedTally.stance,
            PublishedTally.priority,
            PublishedTally.positions + PublishedTally.cosignatures,
        ).where(PublishedTally.item_id == item_id)
    )
    return tally((stance or None, priority or None, n) for stance, priority, n in rows)


def published_positions(item_id: int) -> int:
    """How many positions on the item are published, from the same counts."""
    return (
        db.session.scalar(
            select(func.sum(PublishedTally.positions)).where(PublishedTally.item_id == item_id)
        )
        or 0
    )


def recount_published_tallies(item_ids: list[int]) -> None:
    """Count the items' published tallies afresh from their rows (after a fill that deferred
    the triggers' counting). The caller commits."""
    counted = (Feedback.item_id.in_(item_ids), Feedback.state == FeedbackState.PUBLISHED)
    accepted = (
        select(func.count())
        .where(
            FeedbackCosigner.feedback_id == Feedback.id,
            FeedbackCosigner.state == CosignState.ACCEPTED,
        )
        .scalar_subquery()
    )
    stance, priority = func.coalesce(Feedback.stance, ""), func.coalesce(Feedback.priority, 0)
    db.session.execute(delete(PublishedTally).where(PublishedTally.item_id.in_(item_ids)))
    db.session.execute(
        insert(PublishedTally).from_select(
            ["item_id", "stance", "priority", "positions", "cosignatures"],
            select(
                Feedback.item_id,
                stance,
                priority,
                func.count(),
                func.coalesce(func.sum(accepted), 0),
            )
            .where(*counted)
            .group_by(Feedback.item_id, stance, priority),
        )
    )


def organization_tally(item_id: int, states: tuple[FeedbackState, ...]) -> Tally:
    """Stances and priorities of the positions on an item in `states`, per organisation,
    counted from the rows (reports; the public tally reads `published_tally`).

    Each organisation that accepted to co-sign a position counts once more with that
    position's stance and priority: the tally counts organisations, not submissions.
    """
    counted = (Feedback.item_id == item_id, Feedback.state.in_(states))
    positions = (
        select(Feedback.stance, Feedback.priority, func.count())
        .where(*counted)
        .group_by(Feedback.stance, Feedback.priority)
    )
    cosigners = (
        select(Feedback.stance, Feedback.priority, func.count())
        .select_from(FeedbackCosigner)
        .join(Feedback, Feedback.id == FeedbackCosigner.feedback_id)
        .where(*counted, FeedbackCosigner.state == CosignState.ACCEPTED)
        .group_by(Feedback.stance, Feedback.priority)
    )
    rows = db.session.execute(union_all(positions, cosigners))
    return tally((_stance_value(stance), priority, n) for stance, priority, n in rows)


def _stance_value(stance: object) -> str | None:
    # Through a UNION the enum type may be lost, so a row can carry the plain string.
    if stance is None:
        return None
    return stance.value if isinstance(stance, Stance) else str(stance)


@dataclass(frozen=True)
class VersionComparison:
    item: Item
    version: ItemVersion
    previous: ItemVersion | None


def item_versions(item_id: int) -> list[ItemVersion]:
    """Every text version of an item, newest first."""
    return list(
        db.session.scalars(
            select(ItemVersion)
            .where(ItemVersion.item_id == item_id)
            .order_by(ItemVersion.number.desc())
        )
    )


def compare_version(slug: str, code: str, number: int) -> VersionComparison:
    """Version `number` of an item and the one before it (None for the first)."""
    view = get_item(slug, code)
    versions = db.session.scalars(
        select(ItemVersion)
        .where(ItemVersion.item_id == view.item.id, ItemVersion.number.in_((number - 1, number)))
        .order_by(ItemVersion.number)
    ).all()
    by_number = {version.number: version for version in versions}
    if number not in by_number:
        raise NotFound("No such version.")
    return VersionComparison(view.item, by_number[number], by_number.get(number - 1))


def organization_progress(organization_id: int | None, consultation_id: int) -> dict[int, str]:
    """The state of the organisation's feedback on each item it has touched (item id → state)."""
    if organization_id is None:
        return {}
    rows = db.session.execute(
        select(Feedback.item_id, Feedback.state)
        .join(Item, Item.id == Feedback.item_id)
        .where(Feedback.organization_id == organization_id, Item.consultation_id == consultation_id)
    )
    return {item_id: state.value for item_id, state in rows}


@dataclass(frozen=True)
class PublishedResponse:
    decision: str
    theme: str | None
    rationale: str
    published_at: datetime
    references: list[str]  # the published feedback it answers


def council_responses(item_id: int) -> list[PublishedResponse]:
    """The council's published answers on an item, newest first, with what they answer."""
    responses = db.session.scalars(
        select(CouncilResponse)
        .where(CouncilResponse.item_id == item_id, CouncilResponse.published_at.is_not(None))
        .order_by(CouncilResponse.published_at.desc())
    ).all()
    answered: dict[int, list[str]] = {}
    if responses:
        rows = db.session.execute(
            select(council_response_feedback.c.council_response_id, Feedback.reference)
            .join(Feedback, Feedback.id == council_response_feedback.c.feedback_id)
            .where(
                council_response_feedback.c.council_response_id.in_([r.id for r in responses]),
                Feedback.state == FeedbackState.PUBLISHED,
            )
            .order_by(Feedback.reference)
        )
        for response_id, reference in rows:
            answered.setdefault(response_id, []).append(reference)
    return [
        PublishedResponse(
            decision=response.decision.value,
            theme=response.theme,
            rationale=response.rationale,
            published_at=response.published_at,
            references=answered.get(response.id, []),
        )
        for response in responses
    ]


def item_tallies(item_ids: list[int]) -> dict[int, Tally]:
    """The public tally of each item, from the published counts in one query."""
    if not item_ids:
        return {}
    rows = db.session.execute(
        select(
            PublishedTally.item_id,
            PublishedTally.stance,
            PublishedTally.priority,
            PublishedTally.positions + PublishedTally.cosignatures,
        ).where(PublishedTally.item_id.in_(item_ids))
    )
    by_item: dict[int, list[tuple]] = {item_id: [] for item_id in item_ids}
    for item_id, stance, priority, n in rows:
        by_item[item_id].append((stance or None, priority or None, n))
    return {item_id: tally(counted) for item_id, counted in by_item.items()}


def participating_organisations(consultation_ids: list[int]) -> dict[int, int]:
    """How many organisations took part in each consultation, publicly: those whose position
    is published, and those that accepted to co-sign one. A named organisation counts once
    however many positions it has; an anonymous position (and each co-signature of one)
    counts on its own, so that the figure never tells whether an anonymous position belongs
    to an organisation already named."""
    if not consultation_ids:
        return {}
    in_scope = (
        Item.consultation_id.in_(consultation_ids),
        Feedback.state == FeedbackState.PUBLISHED,
    )
    named = Feedback.attribution == Attribution.NAMED
    # (consultation, kind, id): kind 0 a named organisation, 1 an anonymous position, 2 a
    # co-signature of an anonymous position; the union keeps each participant once.
    owners_named = (
        select(Item.consultation_id, literal(0), Feedback.organization_id)
        .join(Item, Item.id == Feedback.item_id)
        .where(*in_scope, named)
    )
    owners_anonymous = (
        select(Item.consultation_id, literal(1), Feedback.id)
        .join(Item, Item.id == Feedback.item_id)
        .where(*in_scope, ~named)
    )
    cosigned = (Feedback.id == FeedbackCosigner.feedback_id, Item.id == Feedback.item_id)
    cosigners_named = (
        select(Item.consultation_id, literal(0), FeedbackCosigner.organization_id)
        .join(Feedback, cosigned[0])
        .join(Item, cosigned[1])
        .where(*in_scope, named, FeedbackCosigner.state == CosignState.ACCEPTED)
    )
    cosigners_anonymous = (
        select(Item.consultation_id, literal(2), FeedbackCosigner.id)
        .join(Feedback, cosigned[0])
        .join(Item, cosigned[1])
        .where(*in_scope, ~named, FeedbackCosigner.state == CosignState.ACCEPTED)
    )
    taking_part = union(owners_named, owners_anonymous, cosigners_named, cosigners_anonymous)
    part = taking_part.subquery()
    consultation = part.c[0]
    rows = db.session.execute(select(consultation, func.count()).group_by(consultation))
    counts = dict.fromkeys(consultation_ids, 0)
    counts.update({consultation_id: n for consultation_id, n in rows})
    return counts


@dataclass(frozen=True)
class ItemResponse:
    item_code: str
    decision: str
    published_at: datetime


def published_responses_by_item(consultation_id: int) -> list[ItemResponse]:
    """The council's published responses on the consultation's items, in the items' order."""
    rows = db.session.execute(
        select(Item.code, CouncilResponse.decision, CouncilResponse.published_at)
        .join(Item, Item.id == CouncilResponse.item_id)
        .where(
            CouncilResponse.consultation_id == consultation_id,
            CouncilResponse.published_at.is_not(None),
        )
        .order_by(Item.position, CouncilResponse.published_at.desc())
    )
    return [ItemResponse(code, decision.value, when) for code, decision, when in rows]
