"""The email outbox: every message is a row first, delivered by a task with retries."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, str_enum, utcnow
from app.models.job import LeasedJob


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # a worker holds it (app.jobs): two workers never send it at once
    SENT = "sent"
    FAILED = "failed"


class Notification(LeasedJob, db.Model):
    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Makes enqueueing idempotent: the same event never mails twice.
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_email: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    # A file to attach, relative to the instance folder (a report's PDF).
    attachment: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[NotificationStatus] = mapped_column(
        str_enum(NotificationStatus, "notification_status"), default=NotificationStatus.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
