"""Report tasks: thin wrappers over app.reports.pipeline."""

from __future__ import annotations

from celery import shared_task

from app.reports import pipeline
from app.reports import services as reports
from worker.jobs import job_task


@job_task("worker.reports.compile_report")
def compile_report(report_id: int) -> bool:
    return pipeline.compile_report(report_id)


@job_task("worker.reports.compile_part")
def compile_part(part_id: int) -> bool:
    return pipeline.compile_part(part_id)


@job_task("worker.reports.assemble_report")
def assemble_report(report_id: int) -> bool:
    return pipeline.assemble_report(report_id)


@shared_task(name="worker.reports.reconcile_reports", time_limit=120, soft_time_limit=110)
def reconcile_reports() -> int:
    return len(pipeline.reconcile_reports()) + len(pipeline.reconcile_parts())


@shared_task(name="worker.reports.schedule_reports", time_limit=600, soft_time_limit=570)
def schedule_reports() -> int:
    return len(reports.schedule_reports())
