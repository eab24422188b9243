"""Consulta: a stakeholder consultation platform. `create_app` is the only way to build the app."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from app.config import Settings


def create_app(overrides: Mapping[str, object] | None = None) -> Flask:
    """Build the app from the environment, with `overrides` (settings or Flask keys) on top."""
    settings = Settings.from_env()
    if overrides:
        settings = settings.replace(**dict(overrides))
    settings = settings.resolved()
    settings.check()

    app = Flask(__name__, instance_path=settings.instance_path)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings.flask_config())
    app.config["SETTINGS"] = settings
    app.config["CELERY"] = celery_settings(settings)

    from app import cli, templating, web
    from app.api import init_api
    from app.errors import handlers as errors
    from app.extensions import celery_init_app

    if settings.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    web.register_logging(app)
    web.register_extensions(app)
    web.register_blueprints(app)
    web.register_request_hooks(app)  # first: the API's checks answer with the request id
    init_api(app)
    templating.register_template_filters(app)
    errors.register_error_handlers(app)
    cli.register_commands(app)
    celery_init_app(app)
    if settings.is_production:
        # Loaded before the first request instead of by it (the web's and the worker's).
        from app.analysis.language import warm_up

        warm_up()
    return app


# A hard limit well below the broker's visibility timeout, so a slow task is never handed to a
# second worker while the first is still running it.
TASK_HARD_TIME_LIMIT = 30 * 60
BROKER_VISIBILITY_TIMEOUT = 2 * TASK_HARD_TIME_LIMIT


def celery_settings(settings: Settings) -> dict[str, object]:
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": _transport_options(settings.broker_url),
        # Job state lives in the database; the broker only carries wake-ups.
        "task_ignore_result": True,
        "result_backend": None,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_accept_content": ["json"],
        "task_time_limit": TASK_HARD_TIME_LIMIT,
        "task_soft_time_limit": TASK_HARD_TIME_LIMIT - 60,
        "task_default_queue": settings.celery_queue,
        "worker_hijack_root_logger": False,
        # Task events (sent, received, started, succeeded, failed...) for the Flower service of
        # docker-compose.yml. Published to the broker's event exchange and dropped unless a
        # monitor listens.
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        # Leased jobs are reconciled often: a dead worker's job is taken over within about a
        # lease plus this interval.
        "beat_schedule": {
            "reconcile-reports": {
                "task": "worker.reports.reconcile_reports",
                "schedule": float(settings.job_reconcile_seconds),
            },
            "reconcile-bulk-actions": {
                "task": "worker.campaigns.reconcile_bulk_actions",
                "schedule": float(settings.job_reconcile_seconds),
            },
            "send-invitation-reminders": {
                "task": "worker.invitations.send_reminders",
                "schedule": 3600.0,
            },
            "reconcile-notifications": {
                "task": "worker.notifications.reconcile_notifications",
                "schedule": float(settings.job_reconcile_seconds),
            },
            "reconcile-flagging": {
                "task": "worker.moderation.reconcile_flagging",
                "schedule": 60.0,
            },
            "schedule-reports": {
                "task": "worker.reports.schedule_reports",
                "schedule": 3600.0,
            },
            "reconcile-council-notifications": {
                "task": "worker.council.reconcile_notifications",
                "schedule": 120.0,
            },
        },
    }


def _transport_options(broker_url: str) -> dict[str, object]:
    if broker_url.startswith(("redis://", "rediss://")):
        return {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT}
    # The embedded SQLite transport hands these options to create_engine.
    return {}
