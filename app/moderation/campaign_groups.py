"""Campaigns as moderators see them: the near-duplicate groups of submitted feedback (members
flagged CAMPAIGN with the same key) and one group's members, page by page. Deciding a whole
group at once is campaigns.py."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import case, distinct, func, select

from app.accounts.permissions import MODERATORS, acting_user
from app.analysis.textdiff import Op, word_diff
from app.errors import NotFound
from app.extensions import db
from app.models import CampaignMerge, Feedback, FeedbackState, Item, Organization
from app.models.moderation import FlagKind, ModerationFlag
from app.moderation.queue_labels import item_titles


def in_campaign(key: str):  # noqa: ANN202 - a SQL condition
    return Feedback.id.in_(
        select(ModerationFlag.feedback_id).where(
            ModerationFlag.kind == FlagKind.CAMPAIGN, ModerationFlag.campaign_key == key
        )
    )


PAGE_SIZE = 50


def merged_into(key: str) -> str | None:
    """The campaign whose members campaign `key` joined when the two were merged, if it was."""
    return db.session.scalar(select(CampaignMerge.merged_into).where(CampaignMerge.key == key))


@dataclass(frozen=True)
class CampaignGroup:
    key: str
    size: int
    submitted: int
    item_code: str
    item_count: int
    sample: str
    item_title: str = ""


@dataclass(frozen=True)
class Member:
    id: int
    reference: str
    organization: str
    state: FeedbackState
    comment: str
    diff: list[tuple[Op, str]]


@dataclass(frozen=True)
class CampaignDetail:
    key: str
    size: int
    submitted: int
    shared_text: str
    representative_id: int
    members: list[Member]
    next_after: int | None


def campaign_groups(user_id: int, limit: int = 50) -> list[CampaignGroup]:
    """The campaigns with the most members still awaiting review first."""
    acting_user(user_id, *MODERATORS)
    submitted = func.sum(case((Feedback.state == FeedbackState.SUBMITTED, 1), else_=0))
    rows = db.session.execute(
        select(
            ModerationFlag.campaign_key,
            func.count(Feedback.id),
            submitted,
            func.min(Feedback.id),
            func.min(Feedback.item_id),
            func.count(distinct(Feedback.item_id)),
        )
        .join(Feedback, Feedback.id == ModerationFlag.feedback_id)
        .where(ModerationFlag.kind == FlagKind.CAMPAIGN, ModerationFlag.campaign_key.is_not(None))
        .group_by(ModerationFlag.campaign_key)
        .order_by(submitted.desc(), func.count(Feedback.id).desc(), ModerationFlag.campaign_key)
        .limit(limit)
    ).all()
    first_ids = [row[3] for row in rows]
    samples = dict(
        db.session.execute(
            select(Feedback.id, Feedback.comment).where(Feedback.id.in_(first_ids))
        ).all()
    )
    codes = dict(
        db.session.execute(
            select(Item.id, Item.code).where(Item.id.in_([r[4] for r in rows]))
        ).all()
    )
    titles = item_titles(set(codes))
    return [
        CampaignGroup(
            key=key,
            size=size,
            submitted=int(pending or 0),
            item_code=codes.get(item_id, ""),
            item_count=items,
            sample=samples.get(first_id, ""),
            item_title=titles.get(item_id, ""),
        )
        for key, size, pending, first_id, item_id, items in rows
    ]


def campaign_detail(user_id: int, key: str, after: int | None = None) -> CampaignDetail:
    """The shared text and a page of members (keyset on id) with their word differences."""
    acting_user(user_id, *MODERATORS)
    size, pending = db.session.execute(
        select(
            func.count(Feedback.id),
            func.coalesce(
                func.sum(case((Feedback.state == FeedbackState.SUBMITTED, 1), else_=0)), 0
            ),
        ).where(in_campaign(key))
    ).one()
    if not size:
        raise NotFound(_("No such campaign."))
    # The shared text is the most common comment; its lowest id is the representative.
    shared_text, representative_id = db.session.execute(
        select(Feedback.comment, func.min(Feedback.id))
        .where(in_campaign(key))
        .group_by(Feedback.comment)
        .order_by(func.count(Feedback.id).desc(), func.min(Feedback.id))
        .limit(1)
    ).one()
    query = (
        select(Feedback.id, Feedback.reference, Organization.name, Feedback.state, Feedback.comment)
        .join(Organization, Organization.id == Feedback.organization_id)
        .where(in_campaign(key))
        .order_by(Feedback.id)
        .limit(PAGE_SIZE)
    )
    if after is not None:
        query = query.where(Feedback.id > after)
    members = [
        Member(ident, reference, name, state, comment, word_diff(shared_text, comment))
        for ident, reference, name, state, comment in db.session.execute(query)
    ]
    next_after = members[-1].id if len(members) == PAGE_SIZE else None
    return CampaignDetail(
        key, size, int(pending), shared_text, representative_id, members, next_after
    )
