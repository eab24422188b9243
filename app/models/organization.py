"""Organisations: the NGOs and other bodies that speak in a consultation."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, str_enum, utcnow


class OrganizationType(enum.StrEnum):
    NGO = "ngo"
    MIGRANT_LED = "migrant_led"
    FAITH_BASED = "faith_based"
    ACADEMIC = "academic"
    LEGAL_AID = "legal_aid"
    EMPLOYER = "employer"
    WORKERS = "workers"
    INTERNATIONAL = "international"
    GOVERNMENT = "government"
    OTHER = "other"


class VerificationState(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[OrganizationType] = mapped_column(
        str_enum(OrganizationType, "organization_type"), default=OrganizationType.NGO
    )
    country: Mapped[str] = mapped_column(String(2), index=True)  # ISO 3166-1 alpha-2
    website: Mapped[str | None] = mapped_column(String(500))
    verification: Mapped[VerificationState] = mapped_column(
        str_enum(VerificationState, "verification_state"),
        default=VerificationState.PENDING,
        index=True,
    )
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, ondelete="SET NULL")
    )
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members = relationship(
        "User", back_populates="organization", foreign_keys="User.organization_id"
    )

    @property
    def is_verified(self) -> bool:
        return self.verification is VerificationState.VERIFIED

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name!r}>"
