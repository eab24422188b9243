"""The council's answer per item or theme: we asked, you said, we did."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, str_enum, utcnow


class Decision(enum.StrEnum):
    ACCEPTED = "accepted"
    PARTLY_ACCEPTED = "partly_accepted"
    NOT_ACCEPTED = "not_accepted"
    UNDER_CONSIDERATION = "under_consideration"


council_response_feedback = Table(
    "council_response_feedback",
    db.metadata,
    Column(
        "council_response_id",
        ForeignKey("council_responses.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("feedback_id", ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True),
)


class CouncilResponse(db.Model):
    __tablename__ = "council_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), index=True
    )
    theme: Mapped[str | None] = mapped_column(String(200))
    decision: Mapped[Decision] = mapped_column(str_enum(Decision, "decision"))
    rationale: Mapped[str] = mapped_column(Text)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once every organisation concerned has had its email queued (by a worker).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    feedback = relationship("Feedback", secondary=council_response_feedback)
