"""Council reports: a job row (the source of truth for the worker) and its result."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, str_enum, utcnow
from app.models.job import LeasedJob


class ReportStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Report(LeasedJob, db.Model):
    __tablename__ = "reports"
    __table_args__ = (
        # Asking twice for the same snapshot returns the same report.
        UniqueConstraint("scope", "snapshot_key"),
        Index("ix_reports_status_lease_until", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(60))  # "item:12" or "consultation:3"
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    snapshot_key: Mapped[str] = mapped_column(String(64))  # sha256 of feedback ids + revisions
    status: Mapped[ReportStatus] = mapped_column(
        str_enum(ReportStatus, "report_status"), default=ReportStatus.QUEUED
    )
    stage: Mapped[str] = mapped_column(String(40), default="queued")
    percent: Mapped[int] = mapped_column(Integer, default=0)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # This row is the public version (published feedback only, no council-only text, redactions
    # applied); the council decides whether to publish it.
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A consultation report fans out one part per item; the last part to finish hands over to
    # the assembling stage (fan-in counted here, in the database, not in the broker).
    # Mail every council member a link and the PDF once done (closing reports, weekly digests).
    notify_council: Mapped[bool] = mapped_column(Boolean, default=False)
    parts_total: Mapped[int] = mapped_column(Integer, default=0)
    parts_done: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)
    files: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # format -> storage key
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    consultation = relationship("Consultation")
    item = relationship("Item")

    @property
    def rendering(self) -> bool:
        """Compiled and stored, its files still being written (app.reports.pipeline._readable)."""
        return (
            self.status is ReportStatus.RUNNING
            and self.stage == "rendering"
            and self.result is not None
        )

    @property
    def readable(self) -> bool:
        """The result can be read: finished, or compiled while its files are written."""
        return self.status is ReportStatus.DONE or self.rendering


class ReportPart(LeasedJob, db.Model):
    """One item's part of a consultation report, or one range of its rows (by feedback id),
    run by any worker (app/reports/pipeline.py)."""

    __tablename__ = "report_parts"
    __table_args__ = (
        UniqueConstraint("report_id", "item_id", "first_id"),
        Index("ix_report_parts_status_lease_until", "status", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    # The item's rows this part reads: feedback ids from first_id (inclusive; 0 from the first)
    # to end_id (exclusive; None to the last).
    first_id: Mapped[int] = mapped_column(default=0, server_default="0")
    end_id: Mapped[int | None]
    status: Mapped[ReportStatus] = mapped_column(
        str_enum(ReportStatus, "report_part_status"), default=ReportStatus.QUEUED
    )
    result: Mapped[dict[str, object] | None] = mapped_column(JSON)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
