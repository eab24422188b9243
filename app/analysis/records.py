"""The plain rows that report analysis reads: no ORM, no Flask, one tuple-like record each.

The compiler streams these from the database (server-side cursor) and feeds them to the
accumulators and functions of app/analysis one at a time, so memory grows with the number of
groups (organisations, campaigns, distinct texts), never with the number of submissions.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple


class Submission(NamedTuple):
    """One submitted position as a report sees it (published, or any put-forward state for the
    council's version). Text fields are already reduced to what the report may show: the
    public version gets "" for council-only fields and `[redacted]` in place of redactions."""

    id: int
    reference: str
    item_code: str
    organization_id: int
    organization_name: str
    organization_type: str  # OrganizationType value
    country: str | None  # the organisation's country (ISO 3166 alpha-2, or "XX": international)
    verified: bool
    stance: str | None  # Stance value
    priority: int | None  # 1..5
    populations: tuple[str, ...]  # AFFECTED_POPULATIONS values
    language: str | None  # "en", "es", "fr", ... as detected on submit
    comment: str
    amendment: str
    submitted_at: datetime
    campaign_key: str | None  # near-duplicate group, None when the text is its own
    cosigners: tuple[int, ...] = ()  # organisation ids that co-signed (accepted)
    countries: tuple[str, ...] = ()  # the countries the position concerns (ISO 3166 alpha-2)
