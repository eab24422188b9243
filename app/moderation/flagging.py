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

from sqlalchemy import delete, exists, select

from app.analysis import flags as detectors
from app.analysis.near_duplicates import signature_bands
from app.extensions import db
from app.models import (
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
from app.moderation import campaign_membership as membership
from app.moderation.campaign_membership import reason_json
from app.wakeups import run_until_drained, wake_after_commit

FLAG_TASK = "worker.moderation.flag_feedback"
FLAG_PENDING_TASK = "worker.moderation.flag_pending"
FLAG_BATCH = 200
# Written for every flagged submission, so "flagged" shows even for a text without words; its
# hash is the feedback's lock_version, so an edit after flagging also counts as unflagged.
SENTINEL_BAND = -1
RECONCILE_AFTER = timedelta(minutes=2)
MAX_REASONS = 10


def enqueue_flagging(feedback_id: int) -> None:
    """Have the worker flag `feedback_id` once the caller's transaction commits: a row in
    `flag_checks` (one insert on the submission path) and a batched wake-up."""
    db.session.execute(
        membership.dialect()
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
        membership.lock_items(
            db.session.scalars(select(Feedback.item_id).where(Feedback.id.in_(ids)))
        )
    for feedback_id in ids:
        flag_feedback(feedback_id, commit=False)
    db.session.commit()
    return len(ids)


def flag_feedback(feedback_id: int, *, commit: bool = True) -> None:
    """(Re)compute the flags and fingerprints of one submission, in one transaction (the
    caller's, when `commit` is False).

    A second run with nothing changed writes the same result. The item's campaign lock is
    taken before the submission's row, in the order every flagging transaction takes them.
    """
    item_id = db.session.scalar(select(Feedback.item_id).where(Feedback.id == feedback_id))
    if item_id is not None:
        membership.lock_items([item_id])
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

    bands = signature_bands(membership.campaign_text(feedback.comment, feedback.amendment))
    db.session.add(
        FeedbackFingerprint(
            feedback_id=feedback_id, band=SENTINEL_BAND, hash=feedback.lock_version or 0
        )
    )
    db.session.add_all(
        FeedbackFingerprint(feedback_id=feedback_id, band=band, hash=value) for band, value in bands
    )
    db.session.flush()

    key = membership.join_campaign(feedback, bands)
    if previous_key is not None and previous_key != key:
        if previous_key == str(feedback_id):
            # It named the campaign it left: the members left behind take the smallest of
            # their ids as key, so that no id names a campaign its submission is not in.
            previous_key = membership.rename_campaign(previous_key)
        if previous_key is not None:
            membership.describe_campaign(previous_key, refresh_all=True)  # it lost a member
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
