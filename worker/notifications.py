"""Email delivery tasks: thin wrappers over app.notifications.mail."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import OperationalError

from app.notifications import mail


@shared_task(
    name="worker.notifications.deliver_notification",
    autoretry_for=(OperationalError,),  # the database, not the mail server (see the service)
    retry_backoff=True,
    max_retries=5,
    time_limit=60,
    soft_time_limit=50,
)
def deliver_notification(notification_id: int) -> bool:
    return mail.deliver_notification(notification_id)


@shared_task(
    name="worker.notifications.reconcile_notifications", time_limit=120, soft_time_limit=110
)
def reconcile_notifications() -> int:
    return len(mail.reconcile_notifications())
