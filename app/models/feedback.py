"""Feedback: an organisation's official position on one item, its revisions, co-signers, files."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, str_enum, utcnow

AFFECTED_POPULATIONS = (
    "asylum_seekers",
    "refugees",
    "labour_migrants",
    "unaccompanied_children",
    "women_and_girls",
    "indigenous_peoples",
    "lgbtqi",
    "returnees",
    "trafficking_survivors",
    "host_communities",
)
# ISO 3166-1 codes of the countries a consultation on the region's migration concerns.
REGION_COUNTRIES = (
    "US",
    "CA",
    "MX",
    "GT",
    "HN",
    "SV",
    "NI",
    "CR",
    "PA",
    "BZ",
    "CU",
    "DO",
    "HT",
    "JM",
    "CO",
    "VE",
    "EC",
    "PE",
    "BR",
    "CL",
)


class Stance(enum.StrEnum):
    SUPPORT = "support"
    SUPPORT_WITH_AMENDMENTS = "support_with_amendments"
    NEUTRAL = "neutral"
    OPPOSE = "oppose"
    # The respondent states no overall position on the item (e.g. it comments on parts of it
    # only). Its own category everywhere: not neutral (a position), and not on the
    # support-oppose scale the coalitions are measured on.
    NO_POSITION = "no_position"


# The moderation code of a campaign member counted under its published representative
# (app.moderation.campaigns): rejected, but a position the reports count.
COUNTED_CODE = "campaign_counted"


class FeedbackState(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    PUBLISHED = "published"
    REJECTED = "rejected"
    CHANGES_REQUESTED = "changes_requested"
    WITHDRAWN = "withdrawn"


# An organisation's position that is put forward: awaiting review, public, or sent back for
# changes. It can be withdrawn, and it stops the organisation from co-signing another.
PUT_FORWARD_STATES = (
    FeedbackState.SUBMITTED,
    FeedbackState.PUBLISHED,
    FeedbackState.CHANGES_REQUESTED,
)


class Disclosure(enum.StrEnum):
    PUBLIC = "public"
    COUNCIL_ONLY = "council_only"


class Attribution(enum.StrEnum):
    NAMED = "named"
    ANONYMOUS = "anonymous"


class CosignState(enum.StrEnum):
    INVITED = "invited"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Feedback(db.Model):
    __tablename__ = "feedback"
    __table_args__ = (
        # One official position per organisation and item; co-signers attach instead.
        UniqueConstraint("organization_id", "item_id"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority_range"),
        # The moderation queue and public listings read by state in submission order.
        Index("ix_feedback_item_id_state_submitted_at", "item_id", "state", "submitted_at"),
        Index("ix_feedback_state_submitted_at_id", "state", "submitted_at", "id"),
        # Public pages list an item's published feedback newest first, a page at a time.
        Index(
            "ix_feedback_item_id_state_published_at_id", "item_id", "state", "published_at", "id"
        ),
        # The public lists filtered by stance or language read one range of these, also when
        # no row matches (without them, every published row of the item was read to find none).
        # Partial: a submission is not in them until it is published, so intake does not pay.
        *(
            Index(
                f"ix_feedback_published_item_id_{column}",
                "item_id",
                column,
                "published_at",
                "id",
                postgresql_where=text("state = 'published'"),
                sqlite_where=text("state = 'published'"),
            )
            for column in ("stance", "language")
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)  # shown on receipts
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    item_version_id: Mapped[int] = mapped_column(ForeignKey("item_versions.id"), index=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    state: Mapped[FeedbackState] = mapped_column(
        str_enum(FeedbackState, "feedback_state"), default=FeedbackState.DRAFT
    )
    stance: Mapped[Stance | None] = mapped_column(str_enum(Stance, "stance"))
    priority: Mapped[int | None] = mapped_column(Integer)
    affected_populations: Mapped[list[str]] = mapped_column(JSON, default=list)
    countries: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    comment_disclosure: Mapped[Disclosure] = mapped_column(
        str_enum(Disclosure, "comment_disclosure"), default=Disclosure.PUBLIC
    )
    amendment: Mapped[str] = mapped_column(Text, default="")
    amendment_disclosure: Mapped[Disclosure] = mapped_column(
        str_enum(Disclosure, "amendment_disclosure"), default=Disclosure.PUBLIC
    )
    evidence_links: Mapped[list[str]] = mapped_column(JSON, default=list)
    attribution: Mapped[Attribution] = mapped_column(
        str_enum(Attribution, "attribution"), default=Attribution.NAMED
    )
    language: Mapped[str | None] = mapped_column(String(5))
    moderation_reason: Mapped[str | None] = mapped_column(Text)  # rejection / changes message
    moderation_code: Mapped[str | None] = mapped_column(String(30))  # the reason from the list
    moderated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    moderated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Optimistic locking: a stale writer's UPDATE matches no row and raises StaleDataError.
    __mapper_args__ = {"version_id_col": lock_version}

    item = relationship("Item")
    item_version = relationship("ItemVersion")
    organization = relationship("Organization")
    author = relationship("User", foreign_keys=[author_id])
    revisions = relationship(
        "FeedbackRevision", back_populates="feedback", order_by="FeedbackRevision.number"
    )
    cosigners = relationship("FeedbackCosigner", back_populates="feedback")
    attachments = relationship("Attachment", back_populates="feedback")


class FeedbackRevision(db.Model):
    """An immutable snapshot taken at every submit or edit after submission."""

    __tablename__ = "feedback_revisions"
    __table_args__ = (UniqueConstraint("feedback_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    snapshot: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    feedback = relationship("Feedback", back_populates="revisions")


class FeedbackCosigner(db.Model):
    __tablename__ = "feedback_cosigners"
    __table_args__ = (UniqueConstraint("feedback_id", "organization_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[CosignState] = mapped_column(
        str_enum(CosignState, "cosign_state"), default=CosignState.INVITED
    )
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    feedback = relationship("Feedback", back_populates="cosigners")
    organization = relationship("Organization")


class Attachment(db.Model):
    """A file stored outside the web root under `storage_key`; served only to those allowed."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(
        ForeignKey("feedback.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    disclosure: Mapped[Disclosure] = mapped_column(
        str_enum(Disclosure, "attachment_disclosure"), default=Disclosure.PUBLIC
    )
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    feedback = relationship("Feedback", back_populates="attachments")


class PublishedTally(db.Model):
    """How many published positions of an item have a stance and priority, and how many
    accepted co-signatures they carry. Kept by database triggers (migration 0010) in the same
    transaction as every write to feedback and feedback_cosigners: never written by the code.
    A missing stance is '' and a missing priority 0, so the key holds no NULL."""

    __tablename__ = "published_tallies"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    stance: Mapped[str] = mapped_column(String(32), primary_key=True)
    priority: Mapped[int] = mapped_column(Integer, primary_key=True)
    positions: Mapped[int] = mapped_column(Integer)
    cosignatures: Mapped[int] = mapped_column(Integer)
