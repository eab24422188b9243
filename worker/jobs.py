"""The one decorator of leased-job tasks: their time limits and retries in one place.

Every such task is a thin wrapper over a service that claims its job through app.jobs, so
running it twice does no harm: it is acknowledged late (a worker lost mid-task leaves the
message to another) and retried with backoff when the database fails for a moment.
"""

from __future__ import annotations

from collections.abc import Callable

from celery import shared_task
from sqlalchemy.exc import OperationalError

# A lost connection, a restart, a deadlock victim: worth trying again shortly. (A run that
# failed has recorded the attempt; the retry's claim decides whether one is left.)
TRANSIENT_ERRORS = (OperationalError,)
TRANSIENT_RETRIES = 5


def job_task(name: str, *, time_limit: int | None = None) -> Callable:
    """`@shared_task` for a leased job, named `name`; `time_limit` (seconds) replaces the
    app-wide limit, with a soft limit shortly before it so the failure is recorded."""
    options: dict[str, object] = {
        "name": name,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": TRANSIENT_ERRORS,
        "retry_backoff": True,
        "retry_backoff_max": 120,
        "retry_jitter": True,
        "max_retries": TRANSIENT_RETRIES,
    }
    if time_limit is not None:
        options["time_limit"] = time_limit
        options["soft_time_limit"] = time_limit - max(5, time_limit // 10)
    return shared_task(**options)
