"""Automatic moderation flags: thin tasks over app.moderation.flagging."""

from __future__ import annotations

from celery import shared_task
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError

from app.moderation import flagging


@shared_task(
    name="worker.moderation.flag_feedback",
    # A database hiccup, or a duplicate wake-up racing this one on the same rows: run again.
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=True,
    max_retries=5,
    time_limit=120,
    soft_time_limit=110,
)
def flag_feedback(feedback_id: int) -> None:
    flagging.flag_feedback(feedback_id)


@shared_task(
    name="worker.moderation.flag_pending",
    autoretry_for=(OperationalError, IntegrityError),
    retry_backoff=True,
    max_retries=5,
    time_limit=600,
    soft_time_limit=590,
)
def flag_pending() -> int:
    """Every submission waiting for its flags, in batches (one wake-up for many)."""
    return flagging.flag_pending(current_app.config["SETTINGS"].flag_batch_size)


@shared_task(name="worker.moderation.reconcile_flagging", time_limit=120, soft_time_limit=110)
def reconcile_flagging() -> int:
    return len(flagging.reconcile_flagging())
