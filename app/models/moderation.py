"""Moderation records: automatic flags, moderators' internal notes and span redactions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, str_enum, utcnow


class FlagKind(enum.StrEnum):
    PERSONAL_DATA = "personal_data"
    LINKS = "links"
    PROFANITY = "profanity"
    CAMPAIGN = "campaign"
    UNVERIFIED_ORGANIZATION = "unverified_organization"
    SHORT_TEXT = "short_text"


class ModerationFlag(db.Model):
    __tablename__ = "moderation_flags"
    __table_args__ = (UniqueConstraint("feedback_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(ForeignKey("feedback.id", ondelete="CASCADE"))
    kind: Mapped[FlagKind] = mapped_column(str_enum(FlagKind, "flag_kind"), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")  # the reason shown to moderators
    campaign_key: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

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
