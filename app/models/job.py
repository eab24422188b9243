"""The columns every leased background job has, whatever its statuses (app.jobs runs them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import UTCDateTime


class LeasedJob:
    """A job row: the source of truth for the worker that runs it; the broker only wakes it.

    A run holds the job while `lease_until` is ahead and its `lease_token` is the job's; a queued
    job whose `lease_until` is ahead rests before its next attempt. `enqueued_at` is when a
    wake-up was last sent, so the reconciler re-sends only those that were lost.
    """

    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A fresh random value at every claim: a run that lost its job cannot write with it.
    lease_token: Mapped[str | None] = mapped_column(String(32))
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The kind of the last failure; details go to the worker's log.
    error: Mapped[str | None] = mapped_column(Text)
