"""The embedded default of `make run`: SQLite, no Redis, the report still compiled by a worker."""

from __future__ import annotations

import secrets

import pytest

from app import create_app
from app.extensions import db
from tests.helpers.database import seed_everything
from tests.helpers.services import app_settings, migrate_to_head
from tests.helpers.thin_path import run_thin_path
from tests.helpers.worker import start_worker

pytestmark = [pytest.mark.worker]


@pytest.fixture
def embedded_app(tmp_path):
    settings = app_settings(tmp_path, "", None, f"embedded-{secrets.token_hex(3)}")
    application = create_app(settings)
    assert application.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert application.config["CELERY"]["broker_url"].startswith("sqla+sqlite:///")
    migrate_to_head(application)
    with application.app_context():
        seed_everything()
    resolved = application.config["SETTINGS"]
    worker = start_worker(
        {**settings, "database_url": resolved.database_url, "redis_url": ""},
        tmp_path / "worker.log",
    )
    yield application
    worker.stop()
    with application.app_context():
        db.engine.dispose()


def test_thin_path_runs_on_sqlite_without_redis(embedded_app, login):
    run_thin_path(embedded_app.test_client, login)
