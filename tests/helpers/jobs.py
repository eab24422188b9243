"""Jobs driven by the test itself: their wake-ups recorded instead of sent to the worker."""

from __future__ import annotations

import pytest


def record_wake_ups(monkeypatch: pytest.MonkeyPatch, task_prefix: str) -> list[tuple[str, tuple]]:
    """Wake-ups of the tasks named `task_prefix...` are recorded instead of sent (as (task,
    args)); every other wake-up is sent as usual."""
    from app import jobs
    from app.reports import pipeline

    sent: list[tuple[str, tuple]] = []
    send = jobs.enqueue_after_commit

    def record(task: str, *args: object) -> None:
        if task.startswith(task_prefix):
            sent.append((task, args))
        else:
            send(task, *args)

    monkeypatch.setattr(jobs, "enqueue_after_commit", record)
    monkeypatch.setattr(pipeline, "enqueue_after_commit", record)  # the assembly's wake-up
    return sent
