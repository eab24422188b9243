"""The real services a run uses (PostgreSQL, Redis) and the settings of the apps built on them.

Under CI=true a missing service fails the run; elsewhere the tests that need it are skipped.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask

PROJECT = Path(__file__).resolve().parent.parent.parent
CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get("CONSULTA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("CONSULTA_TEST_REDIS", "redis://127.0.0.1:6379/13")


def service_missing(name: str, error: Exception | str) -> None:
    message = f"{name} is not reachable: {error}"
    if CI:
        pytest.fail(message + " (CI=true: nothing may be skipped)")
    pytest.skip(message)


@contextlib.contextmanager
def fresh_pg_database(prefix: str = "consulta_test") -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped on exit."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        service_missing("PostgreSQL", error)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def app_settings(tmp: Path, database_url: str, redis_url: str | None, queue: str) -> dict:
    """create_app overrides for a test app; argon2 at its cheapest (the hashing tests ask for
    the strong profile themselves)."""
    return {
        "env": "test",
        "secret_key": "test-" + secrets.token_hex(16),
        "database_url": database_url,
        "redis_url": redis_url or "",
        "broker_url": "",
        "instance_path": str(tmp),
        "celery_queue": queue,
        # Flask-Limiter keeps one storage per process, whichever app initialised it last.
        "ratelimit_storage_url": "memory://",
        "password_hash_profile": "fast",
        # Each test sees its own counts; tests/integration/test_review_queue.py turns the
        # shared cache on to test it.
        "queue_counts_seconds": 0,
    }


def migrate_to_head(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(PROJECT / "migrations"))
