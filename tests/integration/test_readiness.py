"""/readyz counts a worker only while its heartbeat is fresh: in Redis (production), or in the
instance folder on the embedded default (SQLite, no Redis)."""

from __future__ import annotations

import secrets
import shutil

import pytest

from app import create_app
from app.extensions import db
from tests.helpers.services import app_settings
from tests.helpers.waiting import wait_for
from tests.helpers.worker import start_worker, start_worker_for

pytestmark = [pytest.mark.worker]

BEAT = 1  # seconds between heartbeats: a worker counts as gone after three missed


def readiness(app) -> tuple[int, dict]:
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json()["checks"]


@pytest.fixture
def beating_app(app_overrides, app, tmp_path):
    """An app on the session's services, with a queue of its own (no other worker beats for
    it) and a short heartbeat."""
    queue = f"readiness-{secrets.token_hex(3)}"
    return create_app({**app_overrides, "celery_queue": queue, "worker_heartbeat_seconds": BEAT})


def test_readyz_is_ready_with_a_live_worker_and_names_the_worker_once_it_is_killed(
    beating_app, tmp_path
):
    assert readiness(beating_app) == (503, {"database": True, "broker": True, "worker": False})
    worker = start_worker_for(
        beating_app, tmp_path / "worker.log", CONSULTA_WORKER_HEARTBEAT_SECONDS=str(BEAT)
    )
    try:
        wait_for(lambda: readiness(beating_app)[0] == 200, timeout=10)
        worker.process.kill()  # no clean stop: its last heartbeat has to grow old
        worker.process.wait(timeout=10)
        wait_for(lambda: readiness(beating_app)[1]["worker"] is False, timeout=10)
        status, checks = readiness(beating_app)
        assert (status, checks) == (503, {"database": True, "broker": True, "worker": False})
    finally:
        worker.stop()


def test_the_web_health_check_does_not_wait_for_workers(beating_app):
    response = beating_app.test_client().get("/readyz?worker=optional")
    assert response.status_code == 200
    assert response.get_json()["checks"]["worker"] is False


def test_the_embedded_default_counts_its_worker_without_redis(migrated_sqlite, tmp_path):
    shutil.copy(migrated_sqlite, tmp_path / "consulta.sqlite")  # where the embedded one lives
    settings = {
        **app_settings(tmp_path, "", None, f"embedded-{secrets.token_hex(3)}"),
        "worker_heartbeat_seconds": BEAT,
    }
    embedded = create_app(settings)
    assert readiness(embedded)[1]["worker"] is False
    database_url = embedded.config["SETTINGS"].database_url
    worker = start_worker(
        {**settings, "database_url": database_url, "redis_url": ""},
        tmp_path / "worker.log",
        extra_env={"CONSULTA_WORKER_HEARTBEAT_SECONDS": str(BEAT)},
    )
    try:
        wait_for(lambda: readiness(embedded) == (200, dict.fromkeys(CHECKS, True)), timeout=10)
    finally:
        worker.stop()
    # A clean stop takes the heartbeat back at once.
    assert readiness(embedded) == (503, {"database": True, "broker": True, "worker": False})
    with embedded.app_context():
        db.engine.dispose()


CHECKS = ("database", "broker", "worker")
