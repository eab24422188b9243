"""Overload is refused politely: beyond the requests a web process lets work at once, a request
is answered 503 with Retry-After straight away, and nothing acknowledged is ever lost."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from werkzeug.serving import make_server

from app import create_app
from app.accounts import profile
from app.extensions import db
from app.models import Consultation, Feedback, FeedbackState, Item
from tests import factories
from tests.helpers.processes import dockerfile_gunicorn
from tests.helpers.services import PROJECT, free_port
from tests.helpers.waiting import wait_for

pytestmark = [pytest.mark.postgres]

SUMMIT = "leaders-summit-2021-migration"
CLIENTS = 24


def _app_like(seeded: Flask, tmp_path: Path, **changes: object) -> Flask:
    settings = seeded.config["SETTINGS"]
    return create_app(
        {
            **{
                name: value
                for name, value in asdict(settings).items()
                if name not in ("extra", "instance_path")
            },
            "instance_path": str(tmp_path),
            **changes,
        }
    )


@pytest.fixture
def crowded_app(seeded: Flask, tmp_path) -> Iterator[Flask]:
    """An app on the session's database that lets two requests work at once."""
    application = _app_like(seeded, tmp_path, max_concurrent_requests=2, overload_wait_ms=10)
    yield application
    with application.app_context():
        db.engine.dispose()


def test_a_statement_past_the_timeout_is_cancelled_and_answered_503_with_retry_after(
    seeded, tmp_path
):
    application = _app_like(seeded, tmp_path, statement_timeout_ms=200)
    application.add_url_rule(
        "/api/v1/slow", "slow", lambda: str(db.session.execute(text("SELECT pg_sleep(5)")).all())
    )
    try:
        client = application.test_client()
        started = time.monotonic()
        answer = client.get("/api/v1/slow")
        took = time.monotonic() - started
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert answer.headers["Retry-After"] == "1"
        assert answer.get_json()["error"]["code"] == "service_unavailable"
        assert took < 4  # PostgreSQL cancelled the 5 s statement; the request did not wait it out
        with application.app_context():  # the connection went back to the pool usable
            timeout = db.session.scalar(text("SHOW statement_timeout"))
        assert timeout == "200ms"
        assert client.get("/api/v1/consultations").status_code == 200
    finally:
        with application.app_context():
            db.engine.dispose()


def test_a_request_that_finds_no_free_slot_is_refused_at_once_with_retry_after(crowded_app):
    slots = crowded_app.extensions["overload_slots"]
    client = crowded_app.test_client()
    for _slot in range(2):
        assert slots.acquire(timeout=1)  # two requests at work
    try:
        refused = client.get("/api/v1/consultations")
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        assert refused.get_json()["error"]["code"] == "overloaded"
        page = client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 503 and "busy" in page.get_data(as_text=True)
        assert client.get("/healthz").status_code == 200  # liveness is never refused
    finally:
        slots.release()
        slots.release()
    assert client.get("/api/v1/consultations").status_code == 200


def test_a_refusal_comes_before_the_csrf_check_and_the_rate_limiter(crowded_app):
    """Refusing must cost nothing: no CSRF check (a form without its token is refused with 503,
    not 400) and no hit counted by the rate limiter (a refused request does not use the limit)."""
    slots = crowded_app.extensions["overload_slots"]
    client = crowded_app.test_client()
    hooks = [hook.__qualname__ for hook in crowded_app.before_request_funcs[None]]
    assert hooks[:2] == [
        "register_request_hooks.<locals>.assign_request_id",
        "register.<locals>.take_a_slot",
    ]
    for _slot in range(2):
        assert slots.acquire(timeout=1)
    try:
        refused = client.post("/auth/login", data={"email": "a@example.org", "password": "x"})
        assert refused.status_code == 503
        assert refused.headers["X-Request-ID"]
    finally:
        slots.release()
        slots.release()
    assert client.post("/auth/login", data={"email": "a@example.org"}).status_code == 400  # CSRF


def _leads_with_tokens(app: Flask, count: int) -> list[tuple[str, int]]:
    """(token, item id) for `count` new verified organisations, each answering one item."""
    with app.app_context():
        items = db.session.scalars(
            select(Item.id)
            .join(Consultation, Consultation.id == Item.consultation_id)
            .where(Consultation.slug == SUMMIT)
            .order_by(Item.position)
        ).all()
        callers = []
        for number in range(count):
            lead = factories.lead()  # of a new verified organisation
            secret = profile.create_api_token(lead.id, "surge").secret
            callers.append((secret, items[number % len(items)]))
        return callers


def _submit(base: str, secret: str, item_id: int) -> tuple[int, str | None]:
    body = {
        "item_id": item_id,
        "stance": "oppose",
        "priority": 3,
        "comment": "Our position, sent during a campaign's surge.",
        "submit": True,
    }
    request = urllib.request.Request(
        f"{base}/api/v1/feedback",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")


def test_a_surge_is_shed_with_503_and_every_acknowledged_submission_is_stored(crowded_app):
    callers = _leads_with_tokens(crowded_app, CLIENTS)
    server = make_server("127.0.0.1", 0, crowded_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    start = threading.Barrier(CLIENTS)

    def at_once(caller: tuple[str, int]) -> tuple[int, str | None]:
        start.wait()
        return _submit(base, *caller)

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(at_once, callers))
        acknowledged = [caller for caller, (status, _) in zip(callers, answers) if status == 201]
        refused = [caller for caller, (status, _) in zip(callers, answers) if status == 503]
        assert len(acknowledged) + len(refused) == CLIENTS, answers  # nothing else happened
        assert acknowledged and refused, answers
        assert all(retry == "1" for status, retry in answers if status == 503)
        with crowded_app.app_context():
            stored = db.session.scalar(
                select(func.count(Feedback.id)).where(
                    Feedback.state == FeedbackState.SUBMITTED,
                    Feedback.submitted_at.is_not(None),
                    Feedback.comment == "Our position, sent during a campaign's surge.",
                )
            )
        assert stored == len(acknowledged)  # each acknowledged one is there; no refused one is
        # The refused clients come back after Retry-After, one by one: each is taken once.
        retried = [_submit(base, *caller)[0] for caller in refused]
        assert retried == [201] * len(refused)
        with crowded_app.app_context():
            db.session.expire_all()
            assert (
                db.session.scalar(
                    select(func.count(Feedback.id)).where(
                        Feedback.comment == "Our position, sent during a campaign's surge."
                    )
                )
                == CLIENTS
            )
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def gunicorn(seeded: Flask, tmp_path) -> Iterator[str]:
    """gunicorn started from the Dockerfile's command line, letting two requests work at once."""
    settings = seeded.config["SETTINGS"]
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("CONSULTA_")},
        "CONSULTA_ENV": "test",
        "CONSULTA_SECRET_KEY": settings.secret_key,
        "CONSULTA_DATABASE_URL": settings.database_url,
        "CONSULTA_REDIS_URL": settings.redis_url,
        "CONSULTA_CELERY_QUEUE": settings.celery_queue,
        "CONSULTA_INSTANCE_PATH": str(tmp_path),
        "CONSULTA_PASSWORD_HASH_PROFILE": settings.password_hash_profile,
        "CONSULTA_MAX_CONCURRENT_REQUESTS": "2",
        "CONSULTA_OVERLOAD_WAIT_MS": "10",
    }
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(  # noqa: S603 - our interpreter, the Dockerfile's arguments
        dockerfile_gunicorn(port),
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:  # noqa: S310
                return answer.status == 200
        except OSError:
            return False

    try:
        wait_for(healthy, timeout=60)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_gunicorn_as_deployed_refuses_a_surge_quickly_and_loses_no_acknowledged_submission(
    seeded, gunicorn
):
    clients = 48
    callers = _leads_with_tokens(seeded, clients)
    start = threading.Barrier(clients)

    def at_once(caller: tuple[str, int]) -> tuple[int, str | None, float]:
        start.wait()
        began = time.monotonic()
        status, retry = _submit(gunicorn, *caller)
        return status, retry, time.monotonic() - began

    with ThreadPoolExecutor(clients) as pool:
        answers = list(pool.map(at_once, callers))
    statuses = [status for status, _retry, _took in answers]
    assert set(statuses) <= {201, 503}, answers
    assert 201 in statuses and 503 in statuses, answers
    refusals = sorted(took for status, _retry, took in answers if status == 503)
    assert all(retry == "1" for status, retry, _took in answers if status == 503)
    # Spare threads answer the refusals: they do not wait behind the submissions at work.
    assert refusals[len(refusals) // 2] < 1.0, refusals
    acknowledged = statuses.count(201)
    with seeded.app_context():
        stored = db.session.scalar(
            select(func.count(Feedback.id)).where(
                Feedback.state == FeedbackState.SUBMITTED,
                Feedback.comment == "Our position, sent during a campaign's surge.",
            )
        )
    assert stored == acknowledged
