"""Email delivery tasks: thin wrappers over app.notifications.mail."""

from __future__ import annotations

from celery import shared_task

from app.notifications import mail
from worker.jobs import job_task


# Mail server failures are recorded by the service and retried by the reconciler after a rest;
# the task retries only when the database fails.
@job_task("worker.notifications.deliver_notification", time_limit=60)
def deliver_notification(notification_id: int) -> bool:
    return mail.deliver_notification(notification_id)


@shared_task(name="worker.notifications.deliver_pending", time_limit=900, soft_time_limit=890)
def deliver_pending() -> int:
    """Every message waiting in the outbox (one wake-up for many)."""
    return mail.deliver_pending()


@shared_task(
    name="worker.notifications.reconcile_notifications", time_limit=120, soft_time_limit=110
)
def reconcile_notifications() -> int:
    return len(mail.reconcile_notifications())
