"""Campaign membership in the database: which submissions on an item are one campaign, how a
newcomer joins (candidates from the fingerprints, each confirmed by app.analysis.campaigns),
how campaigns merge and are renamed, and the lock that makes an item's campaigns change one
submission at a time. app.moderation.flagging calls it for each submission it flags; the
contract the keys keep is in that module's docstring."""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import String, cast, func, literal, or_, select, tuple_, update
from sqlalchemy import text as sql
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from app.analysis import campaigns as letters
from app.extensions import db
from app.models import (
    BulkAction,
    BulkStatus,
    CampaignMerge,
    Feedback,
    FeedbackFingerprint,
    FeedbackState,
    FlagKind,
    ModerationFlag,
)
from app.models.base import utcnow
from app.models.feedback import COUNTED_CODE

CAMPAIGN_STATES = (FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)
CAMPAIGN_LOCK_SPACE = 0x43414D  # the first key of pg_advisory_xact_lock(space, item id)
# Beyond this size, the other members' detail is rewritten at every CAMPAIGN_REFRESH_STEP-th
# member only: one UPDATE of 100,000 rows per submission would make a campaign quadratic.
CAMPAIGN_EXACT_SIZE = 1000
CAMPAIGN_REFRESH_STEP = 100


def reason_json(code: str, **params: object) -> str:
    """A flag's stored reason: what was found, to be worded when a moderator reads it."""
    return json.dumps({"code": code, **params}, ensure_ascii=False, sort_keys=True)


def lock_items(item_ids: Iterable[int]) -> None:
    """Hold each item's campaign lock until the transaction ends (PostgreSQL; SQLite has one
    writer at a time anyway), taken in id order."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for item_id in sorted(set(item_ids)):
        db.session.execute(
            sql("SELECT pg_advisory_xact_lock(:space, :item)"),
            {"space": CAMPAIGN_LOCK_SPACE, "item": item_id},
        )


def campaign_sizes(keys: Iterable[str]) -> dict[str, int]:
    """The current number of members of each campaign, counted from the flags."""
    keys = list(set(keys))
    if not keys:
        return {}
    rows = db.session.execute(
        select(ModerationFlag.campaign_key, func.count())
        .where(ModerationFlag.kind == FlagKind.CAMPAIGN, ModerationFlag.campaign_key.in_(keys))
        .group_by(ModerationFlag.campaign_key)
    )
    return {key: count for key, count in rows}


def in_campaign_states():  # noqa: ANN201 - a SQL condition
    """Submissions that can be members of a campaign: under review or published, and those
    counted under a published representative (rejected with COUNTED_CODE)."""
    return or_(Feedback.state.in_(CAMPAIGN_STATES), Feedback.moderation_code == COUNTED_CODE)


def rename_campaign(key: str) -> str | None:
    """Campaign `key` is named anew after its smallest member id: its flags, the links to it
    (as a merge) and a bulk decision under way on it (the same members) follow. The new key,
    or None when no member is left."""
    remaining = db.session.scalar(
        select(func.min(ModerationFlag.feedback_id)).where(
            ModerationFlag.kind == FlagKind.CAMPAIGN, ModerationFlag.campaign_key == key
        )
    )
    if remaining is None:
        return None
    renamed = str(remaining)
    db.session.execute(
        update(BulkAction)
        .where(
            BulkAction.campaign_key == key,
            BulkAction.status.in_((BulkStatus.QUEUED, BulkStatus.RUNNING)),
        )
        .values(campaign_key=renamed),
        execution_options={"synchronize_session": False},
    )
    _merge_campaigns([key], renamed)
    return renamed


def campaign_text(comment: str | None, amendment: str | None) -> str:
    """What a campaign's letter is compared on: the comment and the proposed amendment."""
    return "\n".join(part for part in (comment, amendment) if part)


def join_campaign(feedback: Feedback, bands: list[tuple[int, int]]) -> str | None:
    """Flag `feedback`, and the members it is the same letter as, as one campaign, merging the
    campaigns it bridges; its key, or None.

    An item's campaigns change one submission at a time (its lock, held to the commit), so a
    submission sees every one flagged before it, whichever worker flagged it: the groups are
    the components of one graph (app.analysis.campaigns), whatever the order."""
    if not bands:
        return None
    lock_items([feedback.item_id])
    candidates = letters.to_compare(_candidates(feedback, bands))
    newcomer = letters.pieces(campaign_text(feedback.comment, feedback.amendment))
    found = letters.joined(newcomer, candidates, _shingles_of([c.id for c in candidates]))
    if not found:
        return None
    # A candidate's group is its campaign's key, or minus its id when it has none.
    keys = sorted(group for group in found if group > 0)
    loners = sorted(-group for group in found if group < 0)
    own = [feedback.id]
    if feedback.id not in keys and _names_a_campaign(str(feedback.id)):
        own = []  # its id still names the campaign it left (renamed once this one is joined)
    key = str(min([*keys, *loners, *own]))
    absorbed = [str(other) for other in keys if str(other) != key]
    if absorbed:
        _merge_campaigns(absorbed, key)
    rows = [
        {"feedback_id": member, "kind": FlagKind.CAMPAIGN, "detail": "", "campaign_key": key}
        for member in [feedback.id, *loners]
    ]
    db.session.execute(insert_ignoring_duplicates(rows))
    describe_campaign(key, refresh_all=bool(loners or absorbed))
    return key


def _names_a_campaign(key: str) -> bool:
    return (
        db.session.scalar(
            select(ModerationFlag.feedback_id)
            .where(ModerationFlag.kind == FlagKind.CAMPAIGN, ModerationFlag.campaign_key == key)
            .limit(1)
        )
        is not None
    )


def _candidates(feedback: Feedback, bands: list[tuple[int, int]]) -> list[letters.Candidate]:
    """The submissions on the item sharing a band with `feedback`: per campaign (or per
    submission in none), the MAX_CHECKS sharing the most bands."""
    campaign = aliased(ModerationFlag)
    counted = (
        select(
            FeedbackFingerprint.feedback_id.label("id"),
            func.count().label("shared"),
            campaign.campaign_key.label("key"),
        )
        .join(Feedback, Feedback.id == FeedbackFingerprint.feedback_id)
        .outerjoin(
            campaign,
            (campaign.feedback_id == FeedbackFingerprint.feedback_id)
            & (campaign.kind == FlagKind.CAMPAIGN),
        )
        .where(
            tuple_(FeedbackFingerprint.band, FeedbackFingerprint.hash).in_(bands),
            Feedback.item_id == feedback.item_id,
            in_campaign_states(),
            FeedbackFingerprint.feedback_id != feedback.id,
        )
        .group_by(FeedbackFingerprint.feedback_id, campaign.campaign_key)
        .subquery()
    )
    group = func.coalesce(counted.c.key, literal("-") + cast(counted.c.id, String))
    rank = func.row_number().over(
        partition_by=group, order_by=(counted.c.shared.desc(), counted.c.id)
    )
    ranked = select(counted, rank.label("rank")).subquery()
    rows = db.session.execute(
        select(ranked.c.id, ranked.c.shared, ranked.c.key).where(
            ranked.c.rank <= letters.MAX_CHECKS
        )
    )
    return [
        letters.Candidate(row_id, int(key) if key is not None else -row_id, shared)
        for row_id, shared, key in rows
    ]


def _shingles_of(ids: list[int]) -> dict[int, letters.Shingles]:
    rows = db.session.execute(
        select(Feedback.id, Feedback.comment, Feedback.amendment).where(Feedback.id.in_(ids))
    )
    return {
        row_id: letters.pieces(campaign_text(comment, amendment))
        for row_id, comment, amendment in rows
    }


def _merge_campaigns(absorbed: list[str], key: str) -> None:
    """The members of the `absorbed` campaigns join campaign `key` (their flags carry the
    time of the change, so a report's snapshot moves). A bulk decision under way on an
    absorbed campaign stops: it was asked for that campaign's members, not for the merged one,
    so the moderator decides the merged campaign again."""
    now = utcnow()
    db.session.execute(
        update(ModerationFlag)
        .where(ModerationFlag.kind == FlagKind.CAMPAIGN, ModerationFlag.campaign_key.in_(absorbed))
        .values(campaign_key=key, created_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        update(CampaignMerge)
        .where(CampaignMerge.merged_into.in_(absorbed))
        .values(merged_into=key, merged_at=now),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        dialect()
        .insert(CampaignMerge)
        .values([{"key": old, "merged_into": key, "merged_at": now} for old in absorbed])
        .on_conflict_do_update(index_elements=["key"], set_={"merged_into": key, "merged_at": now})
    )
    db.session.execute(
        update(BulkAction)
        .where(
            BulkAction.campaign_key.in_(absorbed),
            BulkAction.status.in_((BulkStatus.QUEUED, BulkStatus.RUNNING)),
        )
        .values(
            status=BulkStatus.FAILED,
            error=f"campaign merged into {key}: decide the merged campaign again",
            finished_at=now,
        ),
        execution_options={"synchronize_session": False},
    )


def describe_campaign(key: str, *, refresh_all: bool) -> None:
    size = campaign_sizes([key]).get(key, 0)
    refresh_all = refresh_all or size <= CAMPAIGN_EXACT_SIZE or size % CAMPAIGN_REFRESH_STEP == 0
    statement = update(ModerationFlag).where(
        ModerationFlag.kind == FlagKind.CAMPAIGN, ModerationFlag.campaign_key == key
    )
    if not refresh_all:
        statement = statement.where(ModerationFlag.detail == "")
    detail = reason_json("campaign", size=size)
    db.session.execute(
        statement.values(detail=detail), execution_options={"synchronize_session": False}
    )


def dialect():  # noqa: ANN202 - the dialect module whose insert has on_conflict_do_nothing
    return postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite


def insert_ignoring_duplicates(rows: list[dict[str, object]]):  # noqa: ANN202 - dialect insert
    now = utcnow()
    return (
        dialect()
        .insert(ModerationFlag)
        .values([{**row, "created_at": now} for row in rows])
        .on_conflict_do_nothing(index_elements=["feedback_id", "kind"])
    )
