"""Report tasks: thin wrappers over app.reports.services."""

from __future__ import annotations

from celery import shared_task
from sqlalchemy.exc import OperationalError

from app.reports import services as reports


@shared_task(
    name="worker.reports.compile_report",
    bind=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=reports.MAX_ATTEMPTS,
)
def compile_report(self, report_id: int) -> bool:  # noqa: ANN001
    return reports.compile_report(report_id)


@shared_task(
    name="worker.reports.compile_part",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=reports.MAX_ATTEMPTS,
)
def compile_part(part_id: int) -> bool:
    return reports.compile_part(part_id)


@shared_task(
    name="worker.reports.assemble_report",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=120,
    max_retries=reports.MAX_ATTEMPTS,
)
def assemble_report(report_id: int) -> bool:
    return reports.assemble_report(report_id)


@shared_task(name="worker.reports.reconcile_reports", time_limit=120, soft_time_limit=110)
def reconcile_reports() -> int:
    return len(reports.reconcile_reports()) + len(reports.reconcile_parts())


@shared_task(name="worker.reports.schedule_reports", time_limit=600, soft_time_limit=570)
def schedule_reports() -> int:
    return len(reports.schedule_reports())
