"""Fixtures: a fresh PostgreSQL database, a Redis db, a real Celery worker process, HTTP helpers.

Under CI=true a missing service fails the run; elsewhere the tests that need it are skipped.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text, update
from sqlalchemy.exc import OperationalError

from app import create_app
from app.extensions import db
from app.models import Consultation
from app.models.base import utcnow

PROJECT = Path(__file__).resolve().parent.parent
CI = os.environ.get("CI") == "true"
PG_ADMIN_URL = os.environ.get("CONSULTA_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_TEST_URL = os.environ.get("CONSULTA_TEST_REDIS", "redis://127.0.0.1:6379/13")
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DEMO_PASSWORD = "consulta-demo"


def service_missing(name: str, error: Exception) -> None:
    message = f"{name} is not reachable: {error}"
    if CI:
        pytest.fail(message + " (CI=true: nothing may be skipped)")
    pytest.skip(message)


# --- services -------------------------------------------------------------------------------


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailCatcher:
    """A real SMTP server on loopback that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server, _session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        self.messages.append(message_from_bytes(envelope.content, policy=default_policy))
        return "250 OK"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, to: str, subject_part: str = "", timeout: float = 30) -> EmailMessage:
        """The first message to `to` (whose subject contains `subject_part`), waiting for it."""

        def find() -> EmailMessage | None:
            for message in self.messages:
                if message["To"] == to and subject_part in message["Subject"]:
                    return message
            return None

        return wait_for(find, timeout=timeout)

    @staticmethod
    def link_in(message: EmailMessage) -> str:
        """The path of the first link in the message body (the host is the configured BASE_URL)."""
        body = message.get_body(preferencelist=("plain",)).get_content()
        url = re.search(r"https?://\S+", body).group(0)
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture(scope="session")
def mail_catcher() -> Iterator[MailCatcher]:
    catcher = MailCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


def app_settings(tmp: Path, database_url: str, redis_url: str | None, queue: str) -> dict:
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
    }


def migrate_to_head(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(PROJECT / "migrations"))


# --- the PostgreSQL + Redis application ----------------------------------------------------


@pytest.fixture(scope="session")
def app(
    pg_url: str, redis_url: str, queue_name: str, mail_catcher: MailCatcher, tmp_path_factory
) -> Iterator[Flask]:
    settings = app_settings(tmp_path_factory.mktemp("instance"), pg_url, redis_url, queue_name)
    application = create_app({**settings, "mail_port": mail_catcher.port})
    migrate_to_head(application)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the PostgreSQL app starts from empty tables."""
    yield
    if "app" not in request.fixturenames:
        return
    application: Flask = request.getfixturevalue("app")
    with application.app_context():
        db.session.remove()
        truncate_everything()


def truncate_everything(attempts: int = 10) -> None:
    """Empty every table. The session's worker may still be flagging a submission of the test
    that just ended: when PostgreSQL picks this TRUNCATE as a deadlock victim, try again (the
    worker's task, if it is the victim instead, retries on its own and finds nothing)."""
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    for attempt in range(attempts):
        try:
            with db.engine.begin() as connection:
                connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture(autouse=True)
def _reset_rate_limits() -> Iterator[None]:
    """Throttling stays on in tests; each test starts with fresh counters."""
    yield
    from app.extensions import limiter

    if getattr(limiter, "_storage", None) is not None:
        limiter.reset()


def record_wake_ups(monkeypatch: pytest.MonkeyPatch, task_prefix: str) -> list[tuple[str, tuple]]:
    """Wake-ups of the tasks named `task_prefix...` are recorded instead of sent (as (task,
    args)); every other wake-up is sent as usual."""
    from app import jobs
    from app.services import reports

    sent: list[tuple[str, tuple]] = []
    send = jobs.enqueue_after_commit

    def record(task: str, *args: object) -> None:
        if task.startswith(task_prefix):
            sent.append((task, args))
        else:
            send(task, *args)

    monkeypatch.setattr(jobs, "enqueue_after_commit", record)
    monkeypatch.setattr(reports, "enqueue_after_commit", record)  # the assembly's wake-up
    return sent


@pytest.fixture
def report_jobs_here(monkeypatch) -> list[tuple[str, tuple]]:
    """Report jobs are recorded but their wake-ups not sent, so that a test drives them in its
    own process (reports.run_in_process) without a session worker racing it for the parts."""
    return record_wake_ups(monkeypatch, "worker.reports.")


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def seeded(app: Flask) -> Flask:
    """Seeded consultations plus demo accounts and feedback."""
    from app.services.content import seed_content
    from app.services.demo import seed_demo_data

    with app.app_context():
        seed_content()
        open_every_consultation()
        seed_demo_data()
    return app


def open_every_consultation() -> None:
    """Tests must not depend on today's date: every consultation is open now, for 30 days."""
    now = utcnow()
    db.session.execute(
        update(Consultation).values(
            opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=30)
        )
    )
    db.session.commit()


# --- a real Celery worker process ------------------------------------------------------------


class WorkerProcess:
    def __init__(
        self, env: dict[str, str], log_path: Path, extra_args: tuple[str, ...] = ()
    ) -> None:
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.celery_app",
                "worker",
                # The pool that production runs: a forked child with its own connections.
                "--pool=prefork",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=INFO",
                "-Q",
                env["CONSULTA_CELERY_QUEUE"],
                *extra_args,
            ],
            cwd=PROJECT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()}")
            if " ready." in self.log_path.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready in {timeout}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self._log.close()


def start_worker(
    settings: dict,
    log_path: Path,
    extra_args: tuple[str, ...] = (),
    extra_env: dict[str, str] | None = None,
) -> WorkerProcess:
    """A worker process on `settings`' database, broker and queue; `extra_args` go to `celery
    worker` (e.g. `-B` for an embedded beat), `extra_env` to its environment."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONSULTA_")},
        "CONSULTA_ENV": "test",
        "CONSULTA_SECRET_KEY": settings["secret_key"],
        "CONSULTA_DATABASE_URL": settings["database_url"],
        "CONSULTA_REDIS_URL": settings["redis_url"],
        "CONSULTA_INSTANCE_PATH": settings["instance_path"],
        "CONSULTA_CELERY_QUEUE": settings["celery_queue"],
        "CONSULTA_MAIL_SERVER": "127.0.0.1",
        "CONSULTA_MAIL_PORT": str(settings.get("mail_port", 1025)),
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("job_lease_seconds", "job_reconcile_seconds", "report_attempts"):
        if name in settings:
            env[f"CONSULTA_{name.upper()}"] = str(settings[name])
    worker = WorkerProcess({**env, **(extra_env or {})}, log_path, extra_args)
    worker.wait_ready()
    return worker


@pytest.fixture(scope="session")
def celery_worker(app: Flask, tmp_path_factory) -> Iterator[WorkerProcess]:
    settings = app.config["SETTINGS"]
    worker = start_worker(
        {
            "secret_key": settings.secret_key,
            "database_url": settings.database_url,
            "redis_url": settings.redis_url,
            "instance_path": settings.instance_path,
            "celery_queue": settings.celery_queue,
            "mail_port": settings.mail_port,
        },
        tmp_path_factory.mktemp("worker") / "worker.log",
    )
    yield worker
    worker.stop()


# --- HTTP helpers ----------------------------------------------------------------------------


def csrf_token(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


HIDDEN_INPUT = re.compile(r"<input\b[^>]*>")
ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page, as a browser would send them back."""
    fields = {}
    for tag in HIDDEN_INPUT.findall(html):
        attributes = dict(ATTRIBUTE.findall(tag))
        if attributes.get("type") == "hidden" and "name" in attributes:
            fields.setdefault(attributes["name"], attributes.get("value", ""))
    return fields


def submit_form(client: FlaskClient, page: str, action: str | None = None, **fields: object):
    """GET `page` and POST `fields` with its hidden inputs (CSRF token, lock version, ...)."""
    html = client.get(page).get_data(as_text=True)
    return client.post(action or page, data={**hidden_fields(html), **fields})


@pytest.fixture
def login() -> Callable[[FlaskClient, str], None]:
    def sign_in(client: FlaskClient, email: str, password: str = DEMO_PASSWORD) -> None:
        response = submit_form(client, "/auth/login", email=email, password=password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]

    return sign_in


def user_by_email(app: Flask, email: str):
    """The user row as it is now, detached from any session, for assertions."""
    from app.models import User

    with app.app_context():
        user = db.session.scalar(db.select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def wait_for(predicate: Callable[[], object], timeout: float = 30, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
