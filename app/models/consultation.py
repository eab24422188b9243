"""Consultations and the items (pledges, recommendations) they publish, with every text version."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, str_enum, utcnow

LOCALES = ("en", "es", "fr")


def localized(texts: dict[str, str] | None, locale: str) -> str:
    """The text in `locale`, falling back to English."""
    texts = texts or {}
    return texts.get(locale) or texts.get("en", "")


class ConsultationState(enum.StrEnum):
    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


class ItemKind(enum.StrEnum):
    PLEDGE = "pledge"
    RECOMMENDATION = "recommendation"


class Consultation(db.Model):
    __tablename__ = "consultations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[dict[str, str]] = mapped_column(JSON)  # locale -> text, "en" required
    summary: Mapped[dict[str, str]] = mapped_column(JSON)
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # An admin may force a state regardless of the dates (e.g. close early).
    state_override: Mapped[ConsultationState | None] = mapped_column(
        str_enum(ConsultationState, "consultation_state")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Celery beat's bookkeeping: the report compiled when comments closed, the weekly digest.
    closing_report_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items = relationship(
        "Item",
        back_populates="consultation",
        order_by="Item.position",
        cascade="all, delete-orphan",
    )

    def state_at(self, moment: datetime) -> ConsultationState:
        if self.state_override is not None:
            return self.state_override
        if moment < self.opens_at:
            return ConsultationState.UPCOMING
        if moment >= self.closes_at:
            return ConsultationState.CLOSED
        return ConsultationState.OPEN

    def title_in(self, locale: str) -> str:
        return localized(self.title, locale)

    def summary_in(self, locale: str) -> str:
        return localized(self.summary, locale)


class Item(db.Model):
    __tablename__ = "items"
    __table_args__ = (UniqueConstraint("consultation_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[ItemKind] = mapped_column(str_enum(ItemKind, "item_kind"))
    source: Mapped[dict[str, str]] = mapped_column(JSON)
    position: Mapped[int] = mapped_column(Integer, default=0)
    current_version: Mapped[int] = mapped_column(Integer, default=1)

    consultation = relationship("Consultation", back_populates="items")
    versions = relationship(
        "ItemVersion",
        back_populates="item",
        order_by="ItemVersion.number",
        cascade="all, delete-orphan",
    )


class ItemVersion(db.Model):
    """One immutable text of an item; every edit adds a version, feedback points at one."""

    __tablename__ = "item_versions"
    __table_args__ = (UniqueConstraint("item_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict[str, str]] = mapped_column(JSON)
    body: Mapped[dict[str, str]] = mapped_column(JSON)  # Markdown per locale
    change_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    item = relationship("Item", back_populates="versions")

    def title_in(self, locale: str) -> str:
        return localized(self.title, locale)

    def body_in(self, locale: str) -> str:
        return localized(self.body, locale)
