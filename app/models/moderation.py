"""Moderation records: automatic flags, moderators' internal notes and span redactions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, str_enum, utcnow
from app.models.feedback import FeedbackState
from app.models.job import LeasedJob


class FlagKind(enum.StrEnum):
    PERSONAL_DATA = "personal_data"
    LINKS = "links"
    PROFANITY = "profanity"
    CAMPAIGN = "campaign"
    UNVERIFIED_ORGANIZATION = "unverified_organization"
    SHORT_TEXT = "short_text"


class ModerationFlag(db.Model):
    """One automatic finding on a submission.

    `feedback_state` and `submitted_at` copy the submission's, so the queue filtered by a flag
    reads one range of ix_moderation_flags_queue in queue order instead of walking every
    submission of the state. Database triggers (migration 0005) keep the copies in step on
    every write to either table, whatever code makes it; code never sets them.
    """

    __tablename__ = "moderation_flags"
    __table_args__ = (
        UniqueConstraint("feedback_id", "kind"),
        Index("ix_moderation_flags_queue", "kind", "feedback_state", "submitted_at", "feedback_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"))
    kind: Mapped[FlagKind] = mapped_column(str_enum(FlagKind, "flag_kind"))
    # A reason as JSON (app.vocabulary.flag_reason words it in the reader's language); rows
    # written before migration 0005 hold English text, shown as it is.
    detail: Mapped[str] = mapped_column(Text, default="")
    campaign_key: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    feedback_state: Mapped[FeedbackState | None] = mapped_column(
        str_enum(FeedbackState, "feedback_state"), server_default=FetchedValue()
    )
    submitted_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime, server_default=FetchedValue()
    )

    feedback = relationship("Feedback")


class ModerationNote(db.Model):
    """Internal note on a submission, visible to moderators and the council only."""

    __tablename__ = "moderation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Redaction(db.Model):
    """A span [start, end) of one free-text field hidden from the public as `[redacted]`."""

    __tablename__ = "redactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    field: Mapped[str] = mapped_column(String(30))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reverted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reverted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FlagCheck(db.Model):
    """A submission waiting for its automatic flags: written in the submission's transaction,
    taken (deleted) by the worker in batches in the transaction that writes the flags, so a
    check is never lost and never done by two workers at once."""

    __tablename__ = "flag_checks"

    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    )
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedbackFingerprint(db.Model):
    """One locality-sensitive band hash of a submission's MinHash signature.

    Submissions that share a (band, hash) are candidate near-duplicates: a campaign is found
    with an indexed lookup per band, never by comparing every pair.
    """

    __tablename__ = "feedback_fingerprints"
    __table_args__ = (Index("ix_feedback_fingerprints_band_hash", "band", "hash"),)

    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    hash: Mapped[int] = mapped_column(BigInteger)


class BulkStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class BulkAction(LeasedJob, db.Model):
    """A moderator's decision on a whole campaign, carried out by a worker in resumable chunks."""

    __tablename__ = "bulk_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # publish_all / publish_one / reject_all
    campaign_key: Mapped[str] = mapped_column(String(64), index=True)
    reason_code: Mapped[str | None] = mapped_column(String(30))
    note: Mapped[str] = mapped_column(Text, default="")
    representative_id: Mapped[int | None] = mapped_column(
        ForeignKey("feedback.id", ondelete="SET NULL")
    )
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[BulkStatus] = mapped_column(
        str_enum(BulkStatus, "bulk_status"), default=BulkStatus.QUEUED, index=True
    )
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignMerge(db.Model):
    """Where a campaign's key went when a submission bridging two campaigns merged them (the
    lowest key wins): old links to the campaign lead to the one its members are now in."""

    __tablename__ = "campaign_merges"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    merged_into: Mapped[str] = mapped_column(String(64), index=True)
    merged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
