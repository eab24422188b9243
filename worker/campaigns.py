"""Campaign tasks: thin wrappers over app.moderation.campaigns."""

from __future__ import annotations

from celery import shared_task

from app.moderation import campaigns
from worker.jobs import job_task


@job_task("worker.campaigns.run_bulk_action")
def run_bulk_action(action_id: int) -> bool:
    return campaigns.run_bulk_action(action_id)


@shared_task(name="worker.campaigns.reconcile_bulk_actions", time_limit=120, soft_time_limit=110)
def reconcile_bulk_actions() -> int:
    return len(campaigns.reconcile_bulk_actions())
