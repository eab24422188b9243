"""Entry point for `celery -A worker.celery_app worker|beat`."""

from __future__ import annotations

from celery.signals import worker_process_init

from app import create_app
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
