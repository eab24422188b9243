"""Council response tasks: thin wrappers over app.consultations.council_responses."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import OperationalError

from app.consultations import council_responses


@shared_task(
    name="worker.council.notify_response",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def notify_response(response_id: int) -> int:
    return council_responses.notify_concerned(response_id)


@shared_task(name="worker.council.reconcile_notifications", time_limit=120, soft_time_limit=110)
def reconcile_notifications() -> int:
    return len(council_responses.reconcile_notifications())
