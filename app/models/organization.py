"""Organisations: the NGOs and other bodies that speak in a consultation."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
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


# An organisation that works across countries gives "International / several countries".
# Stored as "XX", a code ISO 3166-1 leaves to its users and assigns to no country, so it can
# never clash with a real one and the column stays two letters (its index, the country filters
# and every query keep working). The code is storage only: every page, form, file and count
# shows it as its label (app.vocabulary.country_name) and lists it as a row of its own.
INTERNATIONAL_COUNTRY = "XX"


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
    # ISO 3166-1 alpha-2, or INTERNATIONAL_COUNTRY
    country: Mapped[str] = mapped_column(String(2), index=True)
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
    # The moderator's reason for a rejection or a suspension, told to the organisation.
    verification_reason: Mapped[str | None] = mapped_column(Text)
    # A suspended organisation keeps its record but its members cannot submit.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", use_alter=True, ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    members = relationship(
        "User", back_populates="organization", foreign_keys="User.organization_id"
    )

    @property
    def is_verified(self) -> bool:
        return self.verification is VerificationState.VERIFIED

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name!r}>"


class JoinState(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class JoinRequest(db.Model):
    """A person asking to speak for an existing organisation; its lead decides."""

    __tablename__ = "join_requests"
    __table_args__ = (UniqueConstraint("organization_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    state: Mapped[JoinState] = mapped_column(
        str_enum(JoinState, "join_state"), default=JoinState.PENDING
    )
    message: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization = relationship("Organization")
    user = relationship("User", foreign_keys=[user_id])


class ColleagueInvitation(db.Model):
    """A lead's invitation of a colleague, by email, to join the organisation."""

    __tablename__ = "colleague_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization = relationship("Organization")
