"""Fixtures: the run's PostgreSQL database (seeded once, reset before each test), a Redis db, a
real Celery worker process, a mail catcher, HTTP helpers. The helpers themselves live in
tests/helpers/.

Under CI=true a missing service fails the run; elsewhere the tests that need it are skipped.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.extensions import db
from tests.helpers.database import EMPTY, SEEDED, SessionDatabase
from tests.helpers.jobs import record_wake_ups
from tests.helpers.mail import MailCatcher
from tests.helpers.services import (
    REDIS_TEST_URL,
    app_settings,
    fresh_pg_database,
    migrate_to_head,
    service_missing,
)
from tests.helpers.web import sign_in
from tests.helpers.worker import WorkerProcess, settle_queue, start_worker_for

# Tests that use these fixtures get the marker, so `-m "not worker and not browser"` selects
# the quick part of the suite.
MARKER_OF_FIXTURE = {
    "pg_url": "postgres",
    "redis_url": "redis",
    "celery_worker": "worker",
    "browser": "browser",
}
# The tests that need a worker process or a browser run last, each group together: the quick
# tests give their answer first, and a failing service shows up in one block.
GROUP_ORDER = ("browser", "worker")


@pytest.hookimpl(trylast=True)  # after pytest's own grouping by parametrised fixtures
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        for fixture, marker in MARKER_OF_FIXTURE.items():
            if fixture in fixtures and item.get_closest_marker(marker) is None:
                item.add_marker(marker)

    def group(item: pytest.Item) -> int:
        for rank, marker in enumerate(GROUP_ORDER):
            if item.get_closest_marker(marker) is not None:
                return len(GROUP_ORDER) - rank
        return 0

    items.sort(key=group)  # stable: files and tests keep their order within a group


# --- services -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The run's PostgreSQL database."""
    with fresh_pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as error:
        service_missing("Redis", error)
    client.flushdb()
    return REDIS_TEST_URL


@pytest.fixture(scope="session")
def queue_name() -> str:
    # A queue of our own, so a stray worker elsewhere on this Redis never takes our jobs.
    return f"consulta-test-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailCatcher]:
    """One SMTP server on loopback for the session: the app's and the worker's mail server."""
    catcher = MailCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


@pytest.fixture
def mail_catcher(mail_server: MailCatcher) -> MailCatcher:
    """The session's mail server with an empty inbox: a test reads only the mail sent while it
    runs (what earlier tests sent, the worker delivered before the database was reset)."""
    mail_server.messages.clear()
    return mail_server


# --- the PostgreSQL + Redis application ----------------------------------------------------


@pytest.fixture(scope="session")
def app_overrides(
    pg_url: str, redis_url: str, queue_name: str, mail_server: MailCatcher, tmp_path_factory
) -> dict[str, object]:
    """The create_app overrides of the session's app (argon2 at its cheapest)."""
    settings = app_settings(tmp_path_factory.mktemp("instance"), pg_url, redis_url, queue_name)
    return {**settings, "mail_port": mail_server.port}


@pytest.fixture(scope="session")
def app(app_overrides: dict[str, object]) -> Iterator[Flask]:
    application = create_app(app_overrides)
    migrate_to_head(application)
    yield application
    with application.app_context():
        db.engine.dispose()


SESSION_DATABASE = pytest.StashKey[SessionDatabase]()


@pytest.fixture(scope="session")
def session_database(app: Flask, pytestconfig: pytest.Config) -> SessionDatabase:
    """The content and demo data, seeded once and copied aside; see tests/helpers/database.py."""
    database = SessionDatabase(app)
    pytestconfig.stash[SESSION_DATABASE] = database
    return database


@pytest.fixture(autouse=True)
def _isolated_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test on the run's database starts from empty tables, or from the seeded data when it
    asks for `seeded`; never from what an earlier test left."""
    if "pg_url" in request.fixturenames:
        database: SessionDatabase = request.getfixturevalue("session_database")
        database.reset(SEEDED if "seeded" in request.fixturenames else EMPTY)
    yield
    # Whatever the test did (also through a fixture it asked for with getfixturevalue), the
    # next one starts from a reset.
    database = request.config.stash.get(SESSION_DATABASE, None)
    if database is not None:
        database.touched()


@pytest.fixture
def seeded(app: Flask, session_database: SessionDatabase) -> Flask:
    """The session's app on the seeded consultations, every one open, plus demo accounts and
    feedback."""
    session_database.reset(SEEDED)  # done already, unless asked for with getfixturevalue
    return app


@pytest.fixture
def unseeded(app: Flask, session_database: SessionDatabase) -> Flask:
    """The session's app on empty tables (what every test on `app` starts from)."""
    session_database.reset(EMPTY)  # done already, unless asked for with getfixturevalue
    return app


@pytest.fixture(scope="session")
def strong_hashing_app(app: Flask, app_overrides: dict[str, object]) -> Flask:
    """An app on the session's database that hashes passwords as production does, for the
    tests of hashing itself."""
    return create_app({**app_overrides, "password_hash_profile": "strong"})


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """An SQLite database file at the head migration, for a test to copy and use: migrating
    one takes seconds, copying it milliseconds."""
    folder = tmp_path_factory.mktemp("sqlite")
    path = folder / "migrated.sqlite"
    application = create_app(app_settings(folder, f"sqlite:///{path}", None, "migrated-sqlite"))
    migrate_to_head(application)
    with application.app_context():
        db.engine.dispose()
    return path


@pytest.fixture(autouse=True)
def _reset_rate_limits() -> Iterator[None]:
    """Throttling stays on in tests; each test starts with fresh counters."""
    yield
    from app.extensions import limiter

    if getattr(limiter, "_storage", None) is not None:
        limiter.reset()


@pytest.fixture
def report_jobs_here(monkeypatch) -> list[tuple[str, tuple]]:
    """Report jobs are recorded but their wake-ups not sent, so that a test drives them in its
    own process (reports.run_in_process) without a session worker racing it for the parts."""
    return record_wake_ups(monkeypatch, "worker.reports.")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login() -> Callable[[FlaskClient, str], None]:
    """sign_in(client, email, password=DEMO_PASSWORD) through the login form."""
    return sign_in


# --- a real Celery worker process ------------------------------------------------------------


@pytest.fixture(scope="session")
def celery_worker(
    app: Flask, redis_url: str, session_database: SessionDatabase, tmp_path_factory
) -> Iterator[WorkerProcess]:
    """One worker process for the session; between tests its queue is settled (see
    settle_queue) before the database is reset. The wake-ups that earlier tests without a
    worker left on the queue are dropped first: they point at data reset long ago."""
    client = redis.Redis.from_url(redis_url)
    queue = app.config["SETTINGS"].celery_queue
    settle_queue(client, queue)
    worker = start_worker_for(app, tmp_path_factory.mktemp("worker") / "worker.log")
    session_database.before_reset = lambda: settle_queue(client, queue)
    yield worker
    session_database.before_reset = None
    worker.stop()
    client.close()
