"""Entry point for `celery -A worker.celery_app worker|beat`."""

from __future__ import annotations

from celery.signals import after_setup_task_logger, worker_process_init

from app import create_app, logs
from app.extensions import db

flask_app = create_app()
celery = flask_app.extensions["celery"]

import worker.campaigns  # noqa: E402,F401 - registers the tasks
import worker.council  # noqa: E402,F401
import worker.invitations  # noqa: E402,F401
import worker.moderation  # noqa: E402,F401
import worker.notifications  # noqa: E402,F401
import worker.reports  # noqa: E402,F401


@worker_process_init.connect
def _fresh_connections_after_fork(**_kwargs: object) -> None:
    # A forked child must never reuse the parent's pooled database connections.
    with flask_app.app_context():
        db.engine.dispose(close=False)


@after_setup_task_logger.connect
def _task_lines_as_json_in_production(logger, **_kwargs: object) -> None:  # noqa: ANN001
    # Celery gives its task logger a text handler of its own; in production its lines go through
    # the app's JSON handler instead, which names the task (app.logs.ContextFilter).
    if flask_app.config["SETTINGS"].is_production:
        logs.join_root(logger)

