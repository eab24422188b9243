"""Liveness and readiness probes for load balancers and compose health checks, and the
favicon browsers ask every site for."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request, send_from_directory
from sqlalchemy import text

from app import worker_heartbeat
from app.extensions import csrf, db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():  # noqa: ANN201
    return jsonify(status="ok")


@bp.get("/favicon.ico")
def favicon():  # noqa: ANN201
    """Browsers ask for /favicon.ico whatever the page says: Consulta's icon, cached a day."""
    return send_from_directory(
        current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


@bp.get("/readyz")
def readyz():  # noqa: ANN201
    """The database, the broker and a live worker. `?worker=optional` (the web container's
    health check) still reports the worker but does not count it: the web serves, and queues
    work, while workers start or restart."""
    checks = {"database": _database_ok(), "broker": _broker_ok(), "worker": _worker_ok()}
    counted = dict(checks)
    if request.args.get("worker") == "optional":
        counted.pop("worker")
    ready = all(counted.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return jsonify(body), 200 if ready else 503


def _database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        current_app.logger.warning("readiness: database unreachable", exc_info=True)
        db.session.rollback()
        return False


def _broker_ok() -> bool:
    celery_app = current_app.extensions["celery"]
    try:
        with celery_app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        current_app.logger.warning("readiness: broker unreachable", exc_info=True)
        return False


def _worker_ok() -> bool:
    try:
        return worker_heartbeat.alive(current_app)
    except Exception:
        current_app.logger.warning("readiness: worker heartbeats unreadable", exc_info=True)
        return False


csrf.exempt(bp)
