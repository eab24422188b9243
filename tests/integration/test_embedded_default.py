"""The embedded default of `make run`: SQLite, no Redis, the report still compiled by a worker."""

from __future__ import annotations

import secrets

import pytest

from app import create_app
from app.consultations.seeding import seed_content
from app.dev.demo import seed_demo_data
from app.extensions import db
from tests.conftest import app_settings, migrate_to_head, open_every_consultation, start_worker
from tests.thin_path import run_thin_path

pytestmark = [pytest.mark.worker]


@pytest.fixture
def embedded_app(tmp_path):
    settings = app_settings(tmp_path, "", None, f"embedded-{secrets.token_hex(3)}")
    application = create_app(settings)
    assert application.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert application.config["CELERY"]["broker_url"].startswith("sqla+sqlite:///")
    migrate_to_head(application)
    with application.app_context():
        seed_content()
        open_every_consultation()
        seed_demo_data()
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
