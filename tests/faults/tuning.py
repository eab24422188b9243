"""Loaded into a fault test's Celery worker (`--include tests.faults.tuning`) or beat (`-A
tests.faults.tuning`), never by the app: it shortens, from the environment, what production
leaves long, so that a fault is seen in seconds.

- FAULTS_BEAT_SECONDS: beat's reconcilers run this often (every 20 s to 2 min in production).
- FAULTS_SCHEDULE_SECONDS: `schedule_reports` runs this often (hourly in production).
- FAULTS_VISIBILITY_TIMEOUT: seconds after which Redis hands an unacknowledged message to
  another worker (an hour in production), swept for every second.
"""

from __future__ import annotations

import os

from worker.celery_app import celery

__all__ = ["celery"]


def _every(seconds: str | None, entry: dict) -> dict:
    return {**entry, "schedule": float(seconds)} if seconds else entry


celery.conf.beat_schedule = {
    name: _every(os.environ.get("FAULTS_BEAT_SECONDS"), entry)
    if name.startswith("reconcile-")
    else _every(os.environ.get("FAULTS_SCHEDULE_SECONDS"), entry)
    if name == "schedule-reports"
    else entry
    for name, entry in celery.conf.beat_schedule.items()
}

if "FAULTS_VISIBILITY_TIMEOUT" in os.environ:
    celery.conf.broker_transport_options = {
        **celery.conf.broker_transport_options,
        "visibility_timeout": int(os.environ["FAULTS_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
