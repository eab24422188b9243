"""Entry point for `celery -A worker.celery_app worker|beat`."""

from __future__ import annotations

import logging

from celery import bootsteps
from celery.signals import after_setup_task_logger, worker_process_init

from app import create_app, logs, worker_heartbeat
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


class Heartbeat(bootsteps.StartStopStep):
    """Says every few seconds, on the worker's own timer, that this worker is alive (for
    /readyz); takes it back when the worker stops."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs) -> None:  # noqa: ANN001, ANN003 - Celery's signature
        super().__init__(worker, **kwargs)
        self.entry = None

    def start(self, worker) -> None:  # noqa: ANN001
        seconds = flask_app.config["SETTINGS"].worker_heartbeat_seconds
        _beat(worker.hostname)
        self.entry = worker.timer.call_repeatedly(seconds, _beat, (worker.hostname,))

    def stop(self, worker) -> None:  # noqa: ANN001
        if self.entry is not None:
            self.entry.cancel()
        try:
            worker_heartbeat.stop(flask_app, worker.hostname)
        except Exception:
            logging.getLogger(__name__).warning("could not take the heartbeat back", exc_info=True)


def _beat(hostname: str) -> None:
    try:
        worker_heartbeat.beat(flask_app, hostname)
    except Exception:  # Redis away: /readyz says so; the next beat tries again
        logging.getLogger(__name__).warning("could not record the heartbeat", exc_info=True)


celery.steps["worker"].add(Heartbeat)
