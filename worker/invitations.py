"""Reminders of consultation invitations: a thin wrapper over app.consultations.invitations."""

from __future__ import annotations

from celery import shared_task

from app.consultations import invitations


@shared_task(name="worker.invitations.send_reminders", time_limit=600, soft_time_limit=570)
def send_reminders() -> int:
    return invitations.send_due_reminders()
