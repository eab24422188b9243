"""Campaign tasks: thin wrappers over app.moderation.campaigns."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import OperationalError

from app.moderation import campaigns


@shared_task(
    name="worker.campaigns.run_bulk_action",
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=campaigns.MAX_ATTEMPTS,
)
def run_bulk_action(self, action_id: int) -> bool:  # noqa: ANN001
    return campaigns.run_bulk_action(action_id)


@shared_task(name="worker.campaigns.reconcile_bulk_actions", time_limit=120, soft_time_limit=110)
def reconcile_bulk_actions() -> int:
    return len(campaigns.reconcile_bulk_actions())
