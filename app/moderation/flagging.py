"""Automatic moderation flags: computed by a task after each submission, never blocking it.

Campaign contract: every member of a campaign on one item (texts that are the same letter,
app.analysis.campaigns) carries a CAMPAIGN flag whose `campaign_key` is the decimal id of its
smallest member when the group formed. A submission that is the same letter as members of two
campaigns merges them: the lowest key wins, every member of the others is relabelled, a bulk
decision under way on an absorbed campaign stops, and `campaign_merges` remembers where the old
key went (the moderators' links). When the submission whose id names a campaign leaves it, the
others take the smallest of their ids as key. Group size = the number of CAMPAIGN flags with
that key (`campaign_sizes`); the flag's detail repeats it for display.

A flag's `detail` is its reason as JSON (a `code` and its parameters), never words: the worker
has no reader, so `app.vocabulary.flag_reason` words it in each moderator's language.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import String, cast, delete, exists, func, literal, or_, select, tuple_, update
from sqlalchemy import text as sql
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from app.analysis import campaigns as letters
from app.analysis import flags as detectors
from app.analysis.near_duplicates import signature_bands
from app.extensions import db
from app.models import (
    BulkAction,
    BulkStatus,
    CampaignMerge,
    Disclosure,
    Feedback,
    FeedbackFingerprint,
    FeedbackState,
    FlagCheck,
    FlagKind,
    ModerationFlag,
    Organization,
    VerificationState,
)
from app.models.base import utcnow
from app.models.feedback import COUNTED_CODE
from app.wakeups import run_until_drained, wake_after_commit

FLAG_TASK = "worker.moderation.flag_feedback"
FLAG_PENDING_TASK = "worker.moderation.flag_pending"
FLAG_BATCH = 200
# Written for every flagged submission, so "flagged" shows even for a text without words; its
# hash is the feedback's lock_version, so an edit after flagging also counts as unflagged.
SENTINEL_BAND = -1
CAMPAIGN_STATES = (FeedbackState.SUBMITTED, FeedbackState.PUBLISHED)
RECONCILE_AFTER = timedelta(minutes=2)
# Beyond this size, the other members' detail is rewritten at every CAMPAIGN_REFRESH_STEP-th
# member only: one UPDATE of 100,000 rows per submission would make a campaign quadratic.
CAMPAIGN_EXACT_SIZE = 1000
CAMPAIGN_REFRESH_STEP = 100
MAX_REASONS = 10
CAMPAIGN_LOCK_SPACE = 0x43414D  # the first key of pg_advisory_xact_lock(space, item id)


def enqueue_flagging(feedback_id: int) -> None:
    """Have the worker flag `feedback_id` once the caller's transaction commits: a row in
    `flag_checks` (one insert on the submission path) and a batched wake-up."""
    db.session.execute(
        _dialect()
        .insert(FlagCheck)
        .values(feedback_id=feedback_id, queued_at=utcnow())
        .on_conflict_do_nothing(index_elements=["feedback_id"])
    )
    wake_after_commit(FLAG_PENDING_TASK)


def flag_pending(batch_size: int = FLAG_BATCH) -> int:
    """Flag every submission waiting in `flag_checks`, `batch_size` per transaction; the
    task of the batched wake-up. Returns how many it flagged."""
    return run_until_drained(FLAG_PENDING_TASK, lambda: _flag_batch(batch_size))


def _flag_batch(batch_size: int) -> int:
    """Take up to `batch_size` checks (others' locked ones skipped), flag them, commit once."""
    taken = (
        select(FlagCheck.feedback_id)
        .order_by(FlagCheck.feedback_id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )
    ids = sorted(
        db.session.scalars(
            delete(FlagCheck)
            .where(FlagCheck.feedback_id.in_(taken.scalar_subquery()))
            .returning(FlagCheck.feedback_id)
        )
    )
    if ids:  # in one order in every worker, so that two batches never wait on each other
        lock_items(db.session.scalars(select(Feedback.item_id).where(Feedback.id.in_(ids))))
    for feedback_id in ids:
        flag_feedback(feedback_id, commit=False)
    db.session.commit()
    return len(ids)


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


def flag_feedback(feedback_id: int, *, commit: bool = True) -> None:
    """(Re)compute the flags and fingerprints of one submission, in one transaction (the
    caller's, when `commit` is False).

    A second run with nothing changed writes the same result. The item's campaign lock is
    taken before the submission's row, in the order every flagging transaction takes them.
    """
    item_id = db.session.scalar(select(Feedback.item_id).where(Feedback.id == feedback_id))
    if item_id is not None:
        lock_items([item_id])
    feedback = db.session.scalar(
        select(Feedback).where(Feedback.id == feedback_id).with_for_update()
    )
    if feedback is None:
        if commit:
            db.session.rollback()
        return
    previous_key = db.session.scalar(
        select(ModerationFlag.campaign_key).where(
            ModerationFlag.feedback_id == feedback_id, ModerationFlag.kind == FlagKind.CAMPAIGN
        )
    )
    db.session.execute(delete(ModerationFlag).where(ModerationFlag.feedback_id == feedback_id))
    db.session.execute(
        delete(FeedbackFingerprint).where(FeedbackFingerprint.feedback_id == feedback_id)
    )

    for kind, detail in _content_flags(feedback).items():
        db.session.add(ModerationFlag(feedback_id=feedback_id, kind=kind, detail=detail))

    bands = signature_bands(campaign_text(feedback.comment, feedback.amendment))
    db.session.add(
        FeedbackFingerprint(
            feedback_id=feedback_id, band=SENTINEL_BAND, hash=feedback.lock_version or 0
        )
    )
    db.session.add_all(
        FeedbackFingerprint(feedback_id=feedback_id, band=band, hash=value) for band, value in bands
    )
    db.session.flush()

    key = _join_campaign(feedback, bands)
    if previous_key is not None and previous_key != key:
        if previous_key == str(feedback_id):
            # It named the campaign it left: the members left behind take the smallest of
            # their ids as key, so that no id names a campaign its submission is not in.
            previous_key = _rename_campaign(previous_key)
        if previous_key is not None:
            _describe_campaign(previous_key, refresh_all=True)  # it lost a member
    if commit:
        db.session.commit()


def reconcile_flagging(limit: int = 500) -> list[int]:
    """Wake-ups for submitted feedback that was never flagged (or edited since), oldest first."""
    flagged = exists().where(
        FeedbackFingerprint.feedback_id == Feedback.id,
        FeedbackFingerprint.band == SENTINEL_BAND,
        FeedbackFingerprint.hash == Feedback.lock_version,
    )
    due = list(
        db.session.scalars(
            select(Feedback.id)
            .where(
                Feedback.state == FeedbackState.SUBMITTED,
                Feedback.submitted_at < utcnow() - RECONCILE_AFTER,
                ~flagged,
            )
            .order_by(Feedback.id)
            .limit(limit)
        )
    )
    for feedback_id in due:
        enqueue_flagging(feedback_id)
    if not due and db.session.scalar(select(FlagCheck.feedback_id).limit(1)) is not None:
        wake_after_commit(FLAG_PENDING_TASK)  # checks are waiting: their wake-up was lost
    db.session.commit()
    return due


def flags_for(feedback_ids: Iterable[int]) -> dict[int, list[ModerationFlag]]:
    """The flags of each of `feedback_ids` (an empty list for one without flags)."""
    ids = list(dict.fromkeys(feedback_ids))
    result: dict[int, list[ModerationFlag]] = {feedback_id: [] for feedback_id in ids}
    if not ids:
        return result
    rows = db.session.scalars(
        select(ModerationFlag)
        .where(ModerationFlag.feedback_id.in_(ids))
        .order_by(ModerationFlag.feedback_id, ModerationFlag.kind)
    )
    for flag in rows:
        result[flag.feedback_id].append(flag)
    return result


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


def reason_json(code: str, **params: object) -> str:
    """A flag's stored reason: what was found, to be worded when a moderator reads it."""
    return json.dumps({"code": code, **params}, ensure_ascii=False, sort_keys=True)


# --- campaigns ---------------------------------------------------------------------------------


def in_campaign_states():  # noqa: ANN201 - a SQL condition
    """Submissions that can be members of a campaign: under review or published, and those
    counted under a published representative (rejected with COUNTED_CODE)."""
    return or_(Feedback.state.in_(CAMPAIGN_STATES), Feedback.moderation_code == COUNTED_CODE)


def _rename_campaign(key: str) -> str | None:
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


def _join_campaign(feedback: Feedback, bands: list[tuple[int, int]]) -> str | None:
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
    db.session.execute(_insert_ignoring_duplicates(rows))
    _describe_campaign(key, refresh_all=bool(loners or absorbed))
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
        _dialect()
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


def _describe_campaign(key: str, *, refresh_all: bool) -> None:
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


def _dialect():  # noqa: ANN202 - the dialect module whose insert has on_conflict_do_nothing
    return postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite


def _insert_ignoring_duplicates(rows: list[dict[str, object]]):  # noqa: ANN202 - dialect insert
    now = utcnow()
    return (
        _dialect()
        .insert(ModerationFlag)
        .values([{**row, "created_at": now} for row in rows])
        .on_conflict_do_nothing(index_elements=["feedback_id", "kind"])
    )


# --- content flags -----------------------------------------------------------------------------


def _content_flags(feedback: Feedback) -> dict[FlagKind, str]:
    """The detail of each non-campaign flag that applies to `feedback`."""
    found: dict[str, list[dict[str, object]]] = {}
    fields = (
        ("comment", feedback.comment, feedback.comment_disclosure),
        ("amendment", feedback.amendment, feedback.amendment_disclosure),
    )
    for field, text, disclosure in fields:
        # Council-only text is never published, so it cannot leak data or offend the public.
        if not text or disclosure is not Disclosure.PUBLIC:
            continue
        for finding in detectors.public_text_findings(text):
            found.setdefault(finding.kind, []).append(_finding(finding, field))
    for finding in detectors.short_text(feedback.comment or ""):
        found.setdefault(finding.kind, []).append(_finding(finding, "comment"))

    details = {FlagKind(kind): _summary(kind, findings) for kind, findings in found.items()}
    organization = db.session.get(Organization, feedback.organization_id)
    if organization is not None and not organization.is_verified:
        details[FlagKind.UNVERIFIED_ORGANIZATION] = reason_json(
            "unverified_organization",
            name=organization.name,
            refused=organization.verification is VerificationState.REJECTED,
        )
    return details


def _finding(finding: detectors.Finding, field: str) -> dict[str, object]:
    return {"code": finding.code, "field": field, **finding.params}


def _summary(kind: str, findings: list[dict[str, object]]) -> str:
    unique = list({json.dumps(f, sort_keys=True): f for f in findings}.values())
    return reason_json(kind, found=unique[:MAX_REASONS], more=max(0, len(unique) - MAX_REASONS))
