"""Log lines: readable text in development and tests; in production one JSON object a line, for a
log collector. Every line carries the request id of the web request (the `X-Request-ID` the
client got back) or the id and name of the Celery task it was written for."""

from __future__ import annotations

import logging

from celery import current_task
from flask import g
from pythonjsonlogger.json import JsonFormatter

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
# The record's attributes under the names log collectors expect.
JSON_NAMES = {"levelname": "level", "name": "logger", "exc_info": "exception"}


class ContextFilter(logging.Filter):
    """Adds `request_id` ("-" outside a request) and, inside a task, `task_id` and
    `task_name`, to every record a handler writes, whichever logger it came from."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            try:
                record.request_id = g.get("request_id", "-")
            except RuntimeError:  # outside a request or app context
                record.request_id = "-"
        task = current_task
        if task and task.request.id and not hasattr(record, "task_id"):
            record.task_id = task.request.id
            record.task_name = task.name
        return True


class AccessRequestIdFilter(logging.Filter):
    """gunicorn's access lines: the request id the app answered with, as its own field."""

    def filter(self, record: logging.LogRecord) -> bool:
        atoms = record.args if isinstance(record.args, dict) else {}
        record.request_id = atoms.get("{x-request-id}o", "-")
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "%(levelname)s %(name)s %(message)s", rename_fields=JSON_NAMES, timestamp="time"
    )


def configure(logger: logging.Logger, level: str, *, production: bool) -> None:
    """The app's logger at `level`. In production every logger's lines (the app's, the
    libraries', Celery's) go through one JSON handler on the root logger; elsewhere the app's
    logger writes text lines of its own, as it always has."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler._consulta = True  # type: ignore[attr-defined] - ours, replaced when built again
    logger.setLevel(level)
    with_context(logger)  # every handler of the app's logger sees the ids, a test's too
    if not production:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
        logger.handlers[:] = [handler]
        logger.propagate = False
        return
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    # Only our own handler is replaced: a test runner's capture handler stays.
    root.handlers[:] = [h for h in root.handlers if not getattr(h, "_consulta", False)]
    root.addHandler(handler)
    logging.captureWarnings(True)  # Python's warnings too, not bare text lines on stderr
    logger.handlers.clear()
    logger.propagate = True


def with_context(logger: logging.Logger) -> None:
    """One ContextFilter on `logger` (every app built in a process shares the "app" logger)."""
    for existing in [f for f in logger.filters if isinstance(f, ContextFilter)]:
        logger.removeFilter(existing)
    logger.addFilter(ContextFilter())


def join_root(logger: logging.Logger) -> None:
    """A logger that a library gave a text handler of its own (Celery's task logger) writes
    through the root's JSON handler instead."""
    logger.handlers.clear()
    logger.propagate = True


def gunicorn_log_config() -> dict[str, object]:
    """gunicorn's own lines (start-up, worker restarts, access) as JSON too: a dictConfig."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": json_formatter}},
        "filters": {
            "context": {"()": ContextFilter},
            "access": {"()": AccessRequestIdFilter},
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            },
            "access": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["access"],
                "stream": "ext://sys.stdout",
            },
        },
        # The app's own handler goes on the root logger when it is built (configure above).
        "root": {"level": "WARNING", "handlers": []},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["access"], "propagate": False},
        },
    }
